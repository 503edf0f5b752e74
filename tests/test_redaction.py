"""No secret in a log line, whatever a caller (or a plugin, or a library) passes to ``logging``.

The secrets are the real ones of the test settings (the sample account's signing secret and
API token, an API key stored through the access layer) and one of each shape the redactor
knows; every line is written by the real handlers, text and JSON."""

from __future__ import annotations

import io
import json
import logging

import api_access
import pytest
from sample_wire import SECRET

from omnisdk.config import Settings
from omnisdk.observability.logs import make_handler
from omnisdk.observability.redaction import MASK, Redactor, secrets_of

SAMPLE_TOKEN = "sample-token"  # the sample plugin's default API token (a SecretStr default)


def written(fmt: str, emit) -> str:
    out = io.StringIO()
    logger = logging.getLogger("omnisdk.test_redaction")
    handler = make_handler(fmt, out)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_every_kind_of_secret_is_masked(runtime, fmt):
    key = await api_access.api_key(runtime)  # omk_<id>_<secret>, a real one
    key_id = key.split("_")[1]

    def emit(log):
        log.warning("verifying with %s and token %s", SECRET, SAMPLE_TOKEN)  # known values, anywhere
        log.warning("caller sent %s", key)  # an API key in a message
        log.warning("headers: Authorization: Bearer abc.def-ghi and x-api-key=%s", key)
        log.warning("login password=hunter2hunter app_secret: 'meta-app-secret' token=tok-99")
        log.warning("GET https://graph.test/v19.0/me?access_token=EAAGm0PX4ZCps&fields=id")
        log.warning('body {"client_secret": "cs-123456", "refresh_token": "rt-abcdef"}')
        log.warning("with extras", extra={"authorization": "Basic dXNlcjpwYXNz", "api_key": "k-123456",
                                          "headers": {"X-Api-Key": "nested-key-1", "accept": "json"}})
        try:
            raise RuntimeError(f"provider refused {SECRET}")
        except RuntimeError:
            log.exception("send failed")

    out = written(fmt, emit)
    for secret in (SECRET, SAMPLE_TOKEN, key, key.split("_", 2)[2], "abc.def-ghi", "hunter2hunter",
                   "meta-app-secret", "tok-99", "EAAGm0PX4ZCps", "cs-123456", "rt-abcdef", "dXNlcjpwYXNz",
                   "k-123456", "nested-key-1"):
        assert secret not in out, f"{secret!r} leaked in {fmt}: {out}"
    assert MASK in out
    assert f"omk_{key_id}_{MASK}" in out  # the key's public id stays, to tell keys apart
    assert "fields=id" in out and "send failed" in out and "RuntimeError" in out  # the rest is kept
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines()]
        extras = lines[6]
        assert extras["authorization"] == MASK and extras["api_key"] == MASK
        assert extras["headers"] == {"X-Api-Key": MASK, "accept": "json"}


def test_the_settings_secrets_are_found_and_short_ones_left_to_the_patterns():
    settings = Settings(store={"url": "postgresql://omni:pg-pass-123@db:5432/omni"})
    found = secrets_of(settings)
    assert "pg-pass-123" in found
    redactor = Redactor()
    redactor.remember(found | {"abc"})
    assert redactor.text("connect omni:pg-pass-123@db failed; abc stays") == f"connect omni:{MASK}@db failed; abc stays"


async def test_a_runtime_gives_the_redactor_its_accounts_secrets(runtime):
    out = written("json", lambda log: log.error("the signing secret is sample-secret, see?"))
    assert SECRET not in out and json.loads(out)["message"] == f"the signing secret is {MASK}, see?"
