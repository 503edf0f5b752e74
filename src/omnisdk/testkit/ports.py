"""Loopback ports for a test's servers: :func:`free_port`, :func:`free_port_pair`.

Both ask the OS for an ephemeral port and close the socket before returning it, so another
process could take the port in between: good enough for a test's own servers, which bind it
straight away.  Needs only the standard library (``bench/`` and :mod:`omnisdk.demo` use it).
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_pair(host: str = LOOPBACK, *, attempts: int = 50) -> int:
    """A port ``p`` on ``host`` such that ``p`` and ``p + 1`` are both free right now (for a
    server whose second listener takes the next port).

    Raises:
        RuntimeError: no such pair in ``attempts`` tries.
    """
    for _ in range(attempts):
        port = free_port(host)
        with socket.socket() as b:
            try:
                b.bind((host, port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no two free consecutive ports on {host} in {attempts} tries")


__all__ = ["LOOPBACK", "free_port", "free_port_pair"]
