"""Test helper: a throwaway PostgreSQL cluster of its own (initdb + pg_ctl on a free port in a
temporary directory), for tests that stop and start the server: never the shared one on 5432.

Run as root, the server runs as the ``postgres`` user (``runuser -u postgres --``; PostgreSQL
refuses to run as root) in a directory it owns; otherwise as the current user.  The binaries
are ``OMNISDK_TEST_PG_BIN`` (default ``/usr/lib/postgresql/15/bin``).  :func:`unavailable` says
why a cluster cannot be made (no binaries, no ``postgres`` user).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from omnisdk.testkit.ports import free_port

PG_BIN = Path(os.environ.get("OMNISDK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def unavailable() -> str | None:
    """Why no throwaway cluster can be made here, or None."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"no initdb / pg_ctl in {PG_BIN} (set OMNISDK_TEST_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def require_cluster() -> None:
    """Skip (or, where OMNISDK_REQUIRE_SERVICES=1, fail) when no throwaway cluster can be made."""
    import pytest

    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("OMNISDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"a throwaway PostgreSQL cluster is required in CI: {reason}")
    pytest.skip(f"no throwaway PostgreSQL cluster: {reason}")


class ThrowawayCluster:
    """``with ThrowawayCluster() as pg:`` initdb'd and started; ``pg.url`` (trust auth, database
    ``postgres``); :meth:`stop` / :meth:`start` as often as wanted; removed on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="omnisdk-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*_as_postgres(), *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr[-1000:] or done.stdout[-1000:]}")

    def __enter__(self) -> ThrowawayCluster:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")
        self.start()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown (sessions are ended, as in a restart or a crash of the server)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - stopped already, or never started
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
