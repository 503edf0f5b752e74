"""What the benchmarks share: the commit they ran on, interleaved best-of timing, the machine's
load, and a profile of one side.  Imported by the scripts of ``bench/`` (run from the repository
root: ``.venv/bin/python bench/<script>.py``; Python puts ``bench/`` first on ``sys.path``)."""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import resource
import subprocess
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol


class Timed(Protocol):
    """One side of a comparison: ``fn`` is one pass; ``number`` passes per repeat and ``best``
    (seconds per pass) are filled in by :func:`measure`."""

    fn: Callable[[], object]
    number: int
    best: float


def revision() -> str:
    """``at commit <sha>`` of the checked-out tree (read-only ``git rev-parse``)."""
    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent.parent), "rev-parse",
                              "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "at an unknown commit"
    return f"at commit {out.stdout.strip()}" if out.returncode == 0 else "at an unknown commit"


def calibrate(fn: Callable[[], object], min_time: float) -> int:
    """Passes per repeat so that one repeat lasts at least ``min_time`` seconds."""
    number = 1
    while True:
        t = timeit.Timer(fn, setup=gc.enable).timeit(number)
        if t >= min_time / 4:
            return max(1, int(number * min_time / t) + 1)
        number *= 4


def measure(sides: Sequence[Timed], repeat: int, min_time: float) -> None:
    """Best time per pass of each side; the sides alternate within every repeat, so slow drift
    of the machine (frequency, other load) hits them alike.  The garbage collector stays on."""
    for s in sides:
        s.fn()  # warm caches (and lazily built tables)
        s.number = calibrate(s.fn, min_time)
    for _ in range(repeat):
        for s in sides:
            t = timeit.Timer(s.fn, setup=gc.enable).timeit(s.number)
            s.best = min(s.best, t / s.number)


def machine_busy() -> float:
    """Busy seconds of all CPUs so far (/proc/stat)."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    """CPU seconds this process used so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def profile(label: str, fn: Callable[[], object], *, seconds: float = 2.0, top: int = 18,
            sort: str = "tottime") -> None:
    """cProfile ``fn`` for about ``seconds`` and print the ``top`` functions by ``sort``."""
    n = max(1, int(seconds / max(timeit.Timer(fn).timeit(1), 1e-6)))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(top)
    print(f"\n--- cProfile: {label}, {n} passes, sorted by {sort} ---")
    print("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:8000])
