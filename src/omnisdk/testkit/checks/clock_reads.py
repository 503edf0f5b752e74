"""Which code reads the wall clock inside a block: ``time.time()``, ``datetime.now()`` and the
rest, which raise no audit event (https://docs.python.org/3/library/audit_events.html).

``with clock_reads(at) as reads: adapter.parse(request)`` freezes the wall clock at ``at``
with :func:`time_machine.travel` (``tick=False``) and leaves in ``reads`` one line per read,
naming the code that read it: ``omnisdk_acme/adapter.py:120 in _parse``.  time_machine
replaces, in C, every function that reads the wall clock — ``time.time``, ``time.time_ns``,
``time.gmtime()``/``localtime()``/``strftime(fmt)`` without a time, ``datetime.now``,
``datetime.utcnow``, ``datetime.today``, ``date.today`` — and each asks the traveller for the
current instant (``Traveller.time_ns``); the kit wraps that one method, so every way of reading
the clock is seen, however the plugin imported it.  Monotonic clocks (``time.monotonic``,
``perf_counter``) and conversions of a given timestamp (``gmtime(secs)``,
``datetime.fromtimestamp``) are not reads of the wall clock and are not recorded.

The reader is the innermost frame outside time_machine and the standard library (a stdlib
helper such as ``email.utils.formatdate`` is reported at its caller).  Reads made while a log
record is created (``logging`` stamps every record) are not the plugin's and are ignored.
"""

from __future__ import annotations

import logging
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import time_machine

_STDLIB = tuple(str(Path(p).resolve()) for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})
_SKIPPED = (str(Path(time_machine.__file__).resolve().parent), __file__)
_LOGGING = str(Path(logging.__file__).resolve().parent)


def _reader() -> str | None:
    """Where the current clock read comes from, or None when ``logging`` made it."""
    frame: Any = sys._getframe(2)
    found: str | None = None
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_LOGGING):
            return None
        if found is None and not name.startswith(_SKIPPED) and not name.startswith(_STDLIB) \
                and not name.startswith("<frozen"):
            found = f"{_short(name)}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return found or "the standard library"


def _short(path: str) -> str:
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


@contextmanager
def clock_reads(at: datetime) -> Iterator[list[str]]:
    """Freeze the wall clock at ``at`` and record, into the yielded list, where the block reads
    it (see the module docstring)."""
    reads: list[str] = []
    with time_machine.travel(at, tick=False) as traveller:
        original = traveller.time_ns

        def recorded() -> int:
            where = _reader()
            if where is not None:
                reads.append(where)
            return original()

        traveller.time_ns = recorded  # type: ignore[method-assign]
        try:
            yield reads
        finally:
            traveller.time_ns = original  # type: ignore[method-assign]
