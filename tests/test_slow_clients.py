"""Slow clients against the real ``omnisdk serve`` (uvicorn) on 127.0.0.1 (issue 8, B6): trickled
or missing request heads, trickled or stalled bodies, and the bound on bodies read at once.
Raw sockets, bounded loops; a normal webhook keeps passing meanwhile."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sample_wire import SECRET, msg, sample_body, sample_signature

from omnisdk.testkit.ports import free_port
from omnisdk.testkit.processes import stop_processes

TESTS = Path(__file__).parent
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
SLACK = 1.5  # scheduling on a loaded 2-core machine
PATH = "/webhooks/sample/acme"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("slow")
    config = tmp / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp / "omni.db"}"\n'
        f"[gateway]\nheader_timeout = {HEADER_TIMEOUT}\nbody_timeout = {BODY_TIMEOUT}\nmax_concurrent_bodies = 2\n"
        '[plugins]\nallow = ["sample_plugin"]\nmodules = ["sample_plugin"]\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { chat = 1000 }\n'
        f'[accounts.sample.acme]\nsecret = "{SECRET}"\n'
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(TESTS / "plugins_for_tests")}
    env.pop("OMNISDK_CONFIG_FILE", None)
    proc = subprocess.Popen([sys.executable, "-m", "omnisdk.cli", "serve", "-c", str(config), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start")
            time.sleep(0.05)
        yield port
    finally:
        stop_processes([proc])


_counter = iter(range(10**6))


def webhook(port: int) -> int:
    """One normal signed webhook (a new message id each time): its status."""
    body = sample_body([msg(f"n{next(_counter)}")])
    headers = {"x-sample-signature": sample_signature(body), "content-type": "application/json"}
    return httpx.post(f"http://127.0.0.1:{port}{PATH}", content=body, headers=headers, timeout=5).status_code


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(0.05)
    return s


def read_answer(s: socket.socket, within: float) -> tuple[bytes, float]:
    """What the server sends until it closes (or ``within`` seconds pass), and when it closed
    (seconds from now; inf if it did not)."""
    start = time.monotonic()
    got = b""
    while time.monotonic() - start < within:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got, time.monotonic() - start
        if not chunk:
            return got, time.monotonic() - start
        got += chunk
    return got, float("inf")


def trickle(s: socket.socket, data: bytes, every: float, port: int, until: float) -> tuple[bytes, float, list[int]]:
    """Send ``data`` a byte every ``every`` s, for at most ``until`` s or until the server closes;
    a normal webhook is sent (another connection) at each step.  Returns what the server
    answered, when it closed (inf if it did not) and the normal webhooks' statuses."""
    start = time.monotonic()
    statuses: list[int] = []
    got = b""
    for i in range(len(data)):
        if time.monotonic() - start > until:
            return got, float("inf"), statuses
        try:
            s.sendall(data[i : i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return got, time.monotonic() - start, statuses
        if i % 3 == 0:
            statuses.append(webhook(port))
        more, closed = read_answer(s, every)
        got += more
        if closed != float("inf"):
            return got, time.monotonic() - start, statuses
    return got, float("inf"), statuses


def test_trickled_headers_are_cut_off_at_the_header_deadline(server):
    s = connect(server)
    head = f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-long-header: {'a' * 200}\r\n".encode()
    answer, closed, statuses = trickle(s, head, 0.1, server, until=HEADER_TIMEOUT + SLACK + 1)
    s.close()
    assert closed <= HEADER_TIMEOUT + SLACK, "the connection outlived the header deadline"
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer
    assert statuses and set(statuses) == {200}, "normal webhooks kept passing meanwhile"


def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(server):
    s = connect(server)
    answer, closed = read_answer(s, HEADER_TIMEOUT + SLACK + 1)
    s.close()
    assert HEADER_TIMEOUT * 0.9 <= closed <= HEADER_TIMEOUT + SLACK
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_trickled_body_is_408_at_the_body_deadline(server):
    body = sample_body([msg("slow-body")])
    s = connect(server)
    s.sendall(f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
              f"x-sample-signature: {sample_signature(body)}\r\ncontent-length: {len(body)}\r\n\r\n".encode())
    answer, closed, statuses = trickle(s, body, 0.1, server, until=BODY_TIMEOUT + SLACK + 1)
    s.close()
    assert closed <= BODY_TIMEOUT + SLACK
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()
    assert set(statuses) == {200}


def test_a_stalled_upload_is_408_at_the_body_deadline(server):
    body = sample_body([msg("stalled")])
    s = connect(server)
    s.sendall(f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body[:10])
    answer, closed = read_answer(s, BODY_TIMEOUT + SLACK + 1)
    s.close()
    assert BODY_TIMEOUT * 0.9 <= closed <= BODY_TIMEOUT + SLACK
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_partial_bodies_beyond_the_bound_get_503_with_retry_after(server):
    body = sample_body([msg("bound")])
    head = f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {len(body)}\r\n\r\n".encode()
    held = [connect(server) for _ in range(2)]
    for s in held:
        s.sendall(head + body[:10])
    time.sleep(0.2)  # both now hold a read slot
    third = connect(server)
    third.sendall(head + body[:10])
    answer, _ = read_answer(third, 0.8)
    third.close()
    assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer.lower()
    assert b'"too_many_bodies"' in answer
    assert webhook(server) == 200, "a body that arrives whole needs no slot"
    for s in held:
        s.close()


@pytest.mark.parametrize("field", ["header_timeout", "body_timeout", "max_concurrent_bodies"])
@pytest.mark.parametrize("value", [0, -1])
def test_the_limits_must_be_positive(field, value):
    from pydantic import ValidationError

    from omnisdk.config import GatewaySettings

    with pytest.raises(ValidationError, match=field):
        GatewaySettings(**{field: value})


def _request(i: int) -> bytes:
    body = sample_body([msg(f"pipelined-{i}")])
    return (f"POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"x-sample-signature: {sample_signature(body)}\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body


def test_pipelined_webhooks_on_one_connection_get_whole_answers_in_order(server) -> None:
    s = connect(server)
    try:
        s.sendall(b"".join(_request(i) for i in range(5)) + b"GET /nowhere HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        data = b""
        s.settimeout(5)
        while data.count(b"HTTP/1.1 ") < 6 or not data.endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    answers = [a for a in data.split(b"HTTP/1.1 ") if a]
    assert [a.split(b" ", 1)[0] for a in answers] == [b"200"] * 5 + [b"404"]
    for a in answers[:5]:
        head, _, body = a.partition(b"\r\n\r\n")
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        assert len(body) == length and body.startswith(b"{")
