"""The PostgreSQL leader lease: a session-level advisory lock on a dedicated connection.

``pg_try_advisory_lock(LEASE_LOCK, hashtext(domain))`` (domain: the store's ``schema``, or
``public``) taken on a connection of its own, outside the store's pool.  PostgreSQL holds a
session-level advisory lock until the session unlocks it or **ends**: when the leader process
dies (SIGKILL, a crash) its connection closes and the server releases the lock at once; when
the server restarts, every lock is gone.  A standby's ``pg_try_advisory_lock`` then succeeds.

The session asks the server to notice a silent client quickly (a network partition, a frozen
process): TCP keepalives after :data:`SERVER_KEEPALIVE_IDLE` s, every
:data:`SERVER_KEEPALIVE_INTERVAL` s, :data:`SERVER_KEEPALIVE_COUNT` probes, and
``tcp_user_timeout`` :data:`SERVER_USER_TIMEOUT_MS` ms for data left unacknowledged, so the
server ends the leader's session, and releases its lock, about :data:`SERVER_DROP` seconds after
it last heard from it, later than the leader stops trusting the lease
(:data:`~omnisdk.leadership.lease.VALIDITY` after its last confirmed round trip).  These are
per-session settings any user may set (PostgreSQL 12 or later for ``tcp_user_timeout``); over a
Unix socket they do not apply, and a dead peer there is seen at once anyway.

The advisory lock's key pair is (:data:`LEASE_LOCK`, ``hashtext(domain)``); the store's own
locks use 0x6F6D0000 (migrations) and 0x6F6D0001 (inbox appends).  Two domain names whose
``hashtext`` collide would share one lease: one of them would stand by for nothing, never
would two processes lead one domain.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

from omnisdk.leadership.lease import KEEPALIVE_TIMEOUT, Confirmations

log = logging.getLogger("omnisdk.leadership")

LEASE_LOCK = 0x6F6D0002
SERVER_KEEPALIVE_IDLE = 1
SERVER_KEEPALIVE_INTERVAL = 1
SERVER_KEEPALIVE_COUNT = 2
SERVER_USER_TIMEOUT_MS = 3000
SERVER_DROP = 3.0
"""Seconds after which the server ends a silent leader's session (keepalive idle + count ×
interval; ``tcp_user_timeout`` for unacknowledged data)."""
CONNECT_TIMEOUT = 2


class PostgresLease:
    """The lease of routing domain ``domain`` (a schema name) on the server of ``conninfo``
    (a libpq connection string or URI without omnisdk's ``schema`` parameter; it may hold a
    password: never logged, never in an error).

    Raises nothing: every driver error makes :meth:`try_acquire` and :meth:`keepalive` answer
    False (logged with the error class, never its message, which may quote the DSN).
    """

    shared = True

    def __init__(self, conninfo: str, domain: str | None) -> None:
        self.conninfo = conninfo
        self.domain = domain or "public"
        self._conn: psycopg.AsyncConnection | None = None
        self._confirmations = Confirmations()

    async def try_acquire(self) -> bool:
        if self._conn is not None:
            return await self.keepalive()
        started = self._confirmations.started()
        conn: psycopg.AsyncConnection | None = None
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                application_name=f"omnisdk-leader-{self.domain}"[:63])
            await _bounded(conn, (
                f"SET tcp_keepalives_idle = {SERVER_KEEPALIVE_IDLE}; "
                f"SET tcp_keepalives_interval = {SERVER_KEEPALIVE_INTERVAL}; "
                f"SET tcp_keepalives_count = {SERVER_KEEPALIVE_COUNT}; "
                f"SET tcp_user_timeout = {SERVER_USER_TIMEOUT_MS}"))
            row = await _bounded(conn, "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LEASE_LOCK, self.domain))
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.debug("leader lease of %r: cannot reach the server (%s)", self.domain, type(exc).__name__)
            await _close(conn)
            return False
        if not (row and row[0]):
            await _close(conn)
            return False
        self._conn = conn
        self._confirmations.confirm(started)
        return True

    async def keepalive(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        started = self._confirmations.started()
        try:
            # a session-level advisory lock lasts as long as its session: the session
            # answering is the lock being held
            await _bounded(conn, "SELECT 1")
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.warning("leader lease of %r lost: its connection failed (%s)", self.domain, type(exc).__name__)
            await self.release()
            return False
        self._confirmations.confirm(started)
        return True

    def valid(self) -> bool:
        return self._conn is not None and self._confirmations.valid()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        self._confirmations.forget()
        await _close(conn)  # ending the session releases the lock on the server

    def backend_pid(self) -> int | None:
        """The server process id of the lease's session (tests end it to simulate a loss)."""
        return self._conn.info.backend_pid if self._conn is not None else None


async def _bounded(conn: psycopg.AsyncConnection, query: str, params: tuple[object, ...] | None = None) -> tuple | None:
    """Run ``query`` and return its first row, within :data:`KEEPALIVE_TIMEOUT` seconds.

    Not with ``asyncio.timeout`` around ``execute``: psycopg answers a cancelled query by
    asking the server to cancel it and waiting for that (up to 10 s), which on a partition is
    as dead as the query.  On time out the connection is closed on the spot (libpq's
    ``PQfinish``: the socket is closed, the server ends the session when it sees it) and the
    abandoned query fails on its own.

    Raises:
        TimeoutError: no answer in time.  psycopg.Error: the query failed.
    """

    async def run() -> tuple | None:
        cur = await conn.execute(query, params)
        return await cur.fetchone() if cur.description else None

    task = asyncio.ensure_future(run())
    done, _ = await asyncio.wait({task}, timeout=KEEPALIVE_TIMEOUT)
    if not done:
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no warning
        conn.pgconn.finish()
        raise TimeoutError
    return task.result()


async def _close(conn: psycopg.AsyncConnection | None) -> None:
    if conn is None:
        return
    try:
        await conn.close()
    except Exception:  # noqa: BLE001 - a broken connection closes anyway
        pass
