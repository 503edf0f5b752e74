"""Seeded defects of the inbound rules added by issue 15: provider vectors, published schemes,
purity, whole-event redelivery, unique ids, undocumented values and batches.  Each is
:class:`kit_sample.GoodAdapter` with one realistic mistake (wire format in :mod:`kit_sample`).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit_sample import HEADER, STATUS_MAP, GoodAdapter

from omnisdk import payloads
from omnisdk.adapters import WebhookRequest, secret_value
from omnisdk.errors import SignatureError
from omnisdk.events import TYPE_MESSAGE_STATUS, Event

STATUS_TABLE = Path(__file__).parent / "kit_recordings" / "expected" / "status_sent.json"


class SignsUrlAndBody(GoodAdapter):
    """Defect: signs and verifies over the URL followed by the body.  sign() and verify()
    agree, so every rule that signs with sign() passes; the provider signs the body alone, so
    its real traffic is refused."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        key = secret_value(self.settings.secret).encode()
        return {HEADER: hmac.new(key, url.encode() + body, hashlib.sha256).hexdigest()}


class MetaStyle(GoodAdapter):
    """Correct: the kit format signed the way Meta signs (``X-Hub-Signature-256:
    sha256=<lower-case hex>`` over the body), to self-test ``signature.published_scheme``."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        key = secret_value(self.settings.secret).encode()
        return {"X-Hub-Signature-256": "sha256=" + self.digest(key, body)}

    def digest(self, key: bytes, body: bytes) -> str:
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get("x-hub-signature-256")
        if not got:
            raise SignatureError("missing X-Hub-Signature-256")
        want = self.sign(request.url, request.body, "")["X-Hub-Signature-256"]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")


class MetaStyleUpperHex(MetaStyle):
    """Defect: upper-case hex in both sign() and verify(); Meta sends lower-case, so every
    real webhook is refused."""

    def digest(self, key: bytes, body: bytes) -> str:
        return super().digest(key, body).upper()


class ReadsStatusTable(GoodAdapter):
    """Defect: opens a data file on every parse (the status table should be loaded once, at
    import or when the adapter is built)."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        STATUS_TABLE.read_bytes()
        return super().parse(request)


class ClockTimes(GoodAdapter):
    """Defect: stamps events with the wall clock instead of the payload's ``ts``."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [e.with_(time=now) for e in super().parse(request)]


class NonceInData(GoodAdapter):
    """Defect: a random trace nonce in every event's data: ids repeat, but a redelivery is not
    the same event."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        return [e.with_(data={**e.data, "extra": {"nonce": uuid.uuid4().hex}}) for e in super().parse(request)]


class StatusIdWithoutWord(GoodAdapter):
    """Defect: a status event's id is the message id alone, so 'delivered' after 'sent' is
    dropped as a redelivery of the same event."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        return [e.with_(id=e.subject) if e.type == TYPE_MESSAGE_STATUS else e for e in super().parse(request)]


class _Lenient(dict):  # type: ignore[type-arg]
    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return "delivered"


class UnknownStatusDelivered(GoodAdapter):
    """Defect: a status word it does not know is taken as 'delivered'."""

    status_map = _Lenient(STATUS_MAP)


class UnknownStatusDropped(GoodAdapter):
    """Defect: statuses with a word it does not know are skipped without a trace."""

    def load(self, body: bytes) -> Any:
        doc = payloads.loads(body)
        if isinstance(doc, dict) and isinstance(doc.get("statuses"), list):
            doc["statuses"] = [s for s in doc["statuses"]
                               if not isinstance(s, dict) or s.get("status") in STATUS_MAP]
        return doc


class OnlyFirstItem(GoodAdapter):
    """Defect: reads the first message and the first status of a body and ignores the rest
    (every recording holds one, so only a batch shows it)."""

    def load(self, body: bytes) -> Any:
        doc = payloads.loads(body)
        if isinstance(doc, dict):
            for key in ("messages", "statuses"):
                if isinstance(doc.get(key), list):
                    doc[key] = doc[key][:1]
        return doc


class ResolvesHost(GoodAdapter):
    """Defect: looks up the provider's host while verifying ("is the sender really Kit?"): a
    DNS query per webhook, and a verify() that hangs when DNS does."""

    def verify(self, request: WebhookRequest) -> None:
        try:
            socket.getaddrinfo("api.kit.invalid", 443)
        except OSError:
            pass
        super().verify(request)


class ShellsOut(GoodAdapter):
    """Defect: runs a helper program to normalise the text while parsing."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        subprocess.run(["true"], check=False)  # noqa: S603,S607 - the seeded defect itself
        return super().parse(request)


class ChecksMessageAge(GoodAdapter):
    """Defect: measures each message's age on the wall clock while parsing (to drop messages
    older than a retention window of 30 years, longer than the kit's recordings are old): the
    value never reaches an event, but a replay of stored bodies would depend on when it runs."""

    def parse(self, request: WebhookRequest) -> list[Event]:
        events = super().parse(request)
        now = time.time()
        return [e for e in events if now - datetime.fromisoformat(e.time).timestamp() < 30 * 365 * 86400]
