"""Helpers that build sample-plugin webhook bodies for the core tests."""

from __future__ import annotations

import hashlib
import hmac

import orjson

SECRET = "sample-secret"


def sample_body(messages=(), statuses=()) -> bytes:
    return orjson.dumps({"messages": list(messages), "statuses": list(statuses)})


def sample_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def msg(i: int | str, customer: str = "+15550100001", text: str = "hi", to: str = "biz") -> dict:
    return {"id": f"m-{i}", "from": customer, "to": to, "text": text, "ts": 1700000000}
