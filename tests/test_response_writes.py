"""A response's head goes out with its first body write (:class:`omnisdk.gateway.server.HeadWithBody`):
one write per small response; a streamed response still gets its head within the loop step.
(Pipelined requests on a real ``omnisdk serve``: tests/test_slow_clients.py.)"""

from __future__ import annotations

import asyncio

from omnisdk.gateway.server import HeadWithBody


class Wire:
    """The connection's transport: what was written, one entry per ``write``."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "a write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_the_head_and_the_body_go_in_one_write() -> None:
    wire = Wire()
    t = HeadWithBody(wire, asyncio.get_running_loop())
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert wire.writes == []
    t.write(b"{}")
    assert wire.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)  # the end-of-step flush finds nothing left
    assert len(wire.writes) == 1


async def test_a_head_with_no_body_yet_goes_at_the_end_of_the_loop_step_and_later_chunks_go_straight() -> None:
    wire = Wire()
    t = HeadWithBody(wire, asyncio.get_running_loop())
    t.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")  # a stream: events come later
    await asyncio.sleep(0)
    assert wire.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    t.write(b"5\r\nready\r\n")
    t.write(b"0\r\n\r\n")
    assert wire.writes[1:] == [b"5\r\nready\r\n", b"0\r\n\r\n"]


async def test_close_sends_a_waiting_head_first_and_a_closed_wire_gets_nothing_more() -> None:
    wire = Wire()
    t = HeadWithBody(wire, asyncio.get_running_loop())
    t.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    t.close()
    assert wire.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"] and wire.closed
    await asyncio.sleep(0)
    assert len(wire.writes) == 1
    other = HeadWithBody(Wire(), asyncio.get_running_loop())
    other.write(b"HTTP/1.1 200 OK\r\n\r\n")
    other._transport.close()  # the connection went away before the step ended
    await asyncio.sleep(0)
    assert other._transport.writes == []
    assert other.get_extra_info("peername") == "info:peername"  # the rest is the connection's
