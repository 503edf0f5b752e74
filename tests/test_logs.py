"""Log lines: the JSON and text handler ``omnisdk serve`` installs, and the ids they carry.

Real webhooks through the gateway (the sample plugin); the handler writes to a StringIO and each
JSON line is parsed back."""

from __future__ import annotations

import io
import json
import logging
import re

import httpx
import pytest
from sample_wire import msg, sample_body, sample_signature
from typer.testing import CliRunner

from omnisdk.cli import app as cli_app
from omnisdk.gateway import create_app
from omnisdk.observability import log_context
from omnisdk.observability.logs import configure_logging, make_handler

URL = "/webhooks/sample/acme"
RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def lines():
    """Records of every logger at INFO and above, as the JSON handler writes them."""
    out = io.StringIO()
    handler = make_handler("json", out)
    root, omnisdk = logging.getLogger(), logging.getLogger("omnisdk")
    levels = root.level, omnisdk.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    omnisdk.setLevel(logging.INFO)

    def parsed() -> list[dict]:
        return [json.loads(line) for line in out.getvalue().splitlines()]

    yield parsed
    root.removeHandler(handler)
    root.setLevel(levels[0])
    omnisdk.setLevel(levels[1])


@pytest.fixture
async def client(runtime):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
                                 base_url="http://127.0.0.1") as c:
        yield c


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"x-sample-signature": sample_signature(body), "content-type": "application/json", **extra}


async def test_a_refused_webhook_logs_one_json_line_with_its_request_fields(client, lines):
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers={"x-sample-signature": "00" * 32,
                                                          "x-request-id": "req-123", "traceparent": TRACEPARENT})
    assert resp.status_code == 401 and resp.headers["x-request-id"] == "req-123"
    [line] = [x for x in lines() if x["logger"] == "omnisdk.gateway"]
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert RFC3339_MS.fullmatch(line["time"])
    assert line["level"] == "INFO" and line["message"].startswith("webhook sample/acme refused (")
    assert line["request_id"] == "req-123" and line["plugin"] == "sample" and line["account"] == "acme"
    assert line["trace_id"] == TRACE_ID


async def test_the_happy_path_logs_nothing_at_info(client, runtime, lines):
    for i in range(3):
        body = sample_body([msg(i)])
        assert (await client.post(URL, content=body, headers=signed(body))).status_code == 200
    await runtime.processor.drain()
    assert [x for x in lines() if x["logger"].startswith("omnisdk")] == []  # (httpx logs the test client's calls)


async def test_a_record_logged_while_an_event_is_applied_carries_the_event_and_interaction(client, runtime, lines):
    class Noisy:  # a decision hook that logs: it runs after threading, while the event is applied
        @staticmethod
        def omnisdk_select_queue(interaction, queues):
            logging.getLogger("omnisdk.plugins.noisy").warning("choosing a queue")
            return None

    from omnisdk.hookspecs import hookimpl

    Noisy.omnisdk_select_queue = hookimpl(Noisy.omnisdk_select_queue)
    runtime.host.attach(Noisy(), "noisy")
    body = sample_body([msg(7)])
    resp = await client.post(URL, content=body, headers=signed(body, traceparent=TRACEPARENT))
    assert resp.status_code == 200
    await runtime.processor.drain()
    [line] = [x for x in lines() if x["logger"] == "omnisdk.plugins.noisy"]
    [interaction] = await runtime.interactions()
    assert line["message"] == "choosing a queue" and line["level"] == "WARNING"
    assert line["event_id"] == "m-7" and line["plugin"] == "sample" and line["account"] == "acme"
    assert line["interaction_id"] == interaction.id and line["trace_id"] == TRACE_ID
    assert "request_id" not in line  # the processor is not handling the request
    assert log_context.current() == {}


async def test_a_failed_event_is_logged_with_its_ids(runtime, lines):
    from sample_wire import message_event

    bad = message_event(9).with_(data={"channel": "chat"})  # no customer: not a Message
    await runtime.store.append_inbox([bad], "2026-01-01T00:00:00Z")
    await runtime.processor.drain()
    [line] = [x for x in lines() if x["logger"] == "omnisdk.inbox.processor"]
    assert line["level"] == "WARNING" and "not applied" in line["message"]
    assert line["event_id"] == "m-9" and line["plugin"] == "sample" and line["account"] == "acme"


def test_text_lines_name_time_level_logger_message_and_the_context():
    out = io.StringIO()
    logger = logging.getLogger("omnisdk.test_text")
    handler = make_handler("text", out)
    logger.addHandler(handler)
    token = log_context.bind(request_id="r-1", plugin="sample")
    try:
        logger.warning("hello %s", "world")
    finally:
        log_context.unbind(token)
        logger.removeHandler(handler)
    stamp, level, name, rest = out.getvalue().rstrip("\n").split(" ", 3)
    assert RFC3339_MS.fullmatch(stamp) and level == "WARNING" and name == "omnisdk.test_text:"
    assert rest == "hello world request_id=r-1 plugin=sample"


def test_json_lines_keep_extra_fields_and_the_traceback():
    out = io.StringIO()
    logger = logging.getLogger("omnisdk.test_json")
    handler = make_handler("json", out)
    logger.addHandler(handler)
    try:
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            logger.exception("failed", extra={"provider_request_id": "prov-1"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["message"] == "failed" and line["level"] == "ERROR" and line["provider_request_id"] == "prov-1"
    assert "ZeroDivisionError: boom" in line["exc_info"]


def test_configure_logging_replaces_its_own_handler_and_refuses_unknown_names():
    root = logging.getLogger()
    before, levels = list(root.handlers), (root.level, logging.getLogger("omnisdk").level)
    try:
        first = configure_logging("json", "info", io.StringIO())
        second = configure_logging("text", "warning", io.StringIO())
        assert first not in root.handlers and second in root.handlers
        assert logging.getLogger("omnisdk").level == logging.WARNING
        with pytest.raises(ValueError, match="log format"):
            configure_logging("xml")
        with pytest.raises(ValueError, match="log level"):
            configure_logging("json", "loud")
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
        root.setLevel(levels[0])
        logging.getLogger("omnisdk").setLevel(levels[1])


def test_the_setting_takes_text_or_json_only(settings):
    from pydantic import ValidationError

    from omnisdk.config import Settings

    assert Settings().gateway.log_format == "text" and Settings().gateway.log_level == "warning"
    assert Settings(gateway={"log_format": "json"}).gateway.log_format == "json"
    with pytest.raises(ValidationError):
        Settings(gateway={"log_format": "xml"})


def test_serve_refuses_an_unknown_log_format_in_one_line(tmp_path):
    (tmp_path / "c.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path / "o.db"}"\n')
    result = CliRunner().invoke(cli_app, ["serve", "-c", str(tmp_path / "c.toml"), "--log-format", "xml"])
    assert result.exit_code == 2
    assert "log format must be one of text, json" in result.output
