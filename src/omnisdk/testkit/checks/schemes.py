"""The kit's own signers for the webhook signing schemes providers publish, each written from
the provider's documentation, independently of any plugin, and checked against the published
test values (:data:`PUBLISHED`, :func:`self_check`).

A suite declares ``signature_scheme`` = one of :data:`SCHEMES`' names; rule
``signature.published_scheme`` signs every recording with :func:`sign` and compares the
plugin's ``sign()`` with it.

- ``meta_sha256`` — Meta (WhatsApp Cloud API, Messenger, Instagram):
  ``X-Hub-Signature-256: sha256=<lower-case hex HMAC-SHA256 of the raw body>``, keyed with the
  app secret (developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validating
  payloads").
- ``twilio`` — ``X-Twilio-Signature: <base64 HMAC-SHA1>``, keyed with the Auth Token, over the
  full URL Twilio called followed by each POST parameter's name and value, names sorted (a
  repeated name: its values sorted, de-duplicated, as Twilio's validator does); a JSON body is
  signed through the URL, which carries ``bodySHA256=<hex SHA-256 of the body>``
  (twilio.com/docs/usage/webhooks/webhooks-security).  Validators accept the URL with and
  without the default port (:func:`port_variant`).
- ``line`` — ``X-Line-Signature: <base64 HMAC-SHA256 of the raw body>``, keyed with the
  channel secret (developers.line.biz/en/reference/messaging-api/#signature-validation).
- ``standard_webhooks`` — Standard Webhooks (github.com/standard-webhooks/standard-webhooks,
  spec ``spec/standard-webhooks.md``): ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
  base64-decoded part of the ``whsec_…`` secret after the prefix.

Shapes: a signer takes ``(secret, Message)`` and returns :class:`Signed` (the URL to send the
request to — Twilio's JSON bodies add ``bodySHA256`` — and the headers, names lower-cased).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class Message:
    """What a scheme signs.

    Attributes:
        url: the full URL the provider calls.
        body: the raw body.
        content_type: the body's content type (Twilio: form or not).
        msg_id: the message id (Standard Webhooks ``webhook-id``).
        timestamp: Unix seconds (Standard Webhooks ``webhook-timestamp``).
    """

    url: str
    body: bytes
    content_type: str = "application/json"
    msg_id: str = "msg_kit"
    timestamp: int = 0


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed request: where to send it and its signature headers (names lower-cased)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scheme:
    """One published scheme.

    Attributes:
        name: the value of a suite's ``signature_scheme``.
        statement: the algorithm in one sentence (the rule's messages quote it).
        sign: the kit's signer.
        free_headers: headers whose values the sender chooses (id, timestamp): when comparing
            a plugin's ``sign()`` with the kit's, the kit signs with the plugin's values.
    """

    name: str
    statement: str
    sign: Callable[[str, Message], Signed]
    free_headers: tuple[str, ...] = ()


def _hmac(key: bytes, data: bytes, algo: str) -> bytes:
    return hmac.new(key, data, algo).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def sign_meta(secret: str, msg: Message) -> Signed:
    """``x-hub-signature-256: sha256=<hex>`` over the raw body."""
    digest = hmac.new(secret.encode("utf-8"), msg.body, hashlib.sha256).hexdigest()
    return Signed(msg.url, {"x-hub-signature-256": "sha256=" + digest})


def twilio_payload(url: str, params: list[tuple[str, str]]) -> bytes:
    """``url`` + name + value of each param: names sorted; a name's values sorted, distinct."""
    out = url
    for name in sorted({n for n, _ in params}):
        for value in sorted({v for n, v in params if n == name}):
            out += name + value
    return out.encode("utf-8")


def _is_form(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def sign_twilio(secret: str, msg: Message) -> Signed:
    """``x-twilio-signature``: form bodies over URL + sorted params; other bodies over the URL
    with ``bodySHA256`` added to its query (kept if the URL already has it)."""
    url = msg.url
    if _is_form(msg.content_type):
        params = parse_qsl(msg.body.decode("utf-8"), keep_blank_values=True)
    else:
        params = []
        if "bodySHA256=" not in urlsplit(url).query:
            url += ("&" if urlsplit(url).query else "?") + "bodySHA256=" + hashlib.sha256(msg.body).hexdigest()
    raw = _hmac(secret.encode("utf-8"), twilio_payload(url, params), "sha1")
    return Signed(url, {"x-twilio-signature": _b64(raw)})


def port_variant(url: str) -> str | None:
    """``url`` with its default port (443/80) added if absent or removed if explicit; None
    for another port or scheme."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    bare = host[: -len(f":{parts.port}")] if parts.port is not None else host
    if parts.port == default:
        netloc = parts.netloc[: -len(host)] + bare
    elif parts.port is None:
        netloc = parts.netloc + f":{default}"
    else:
        return None
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sign_line(secret: str, msg: Message) -> Signed:
    """``x-line-signature: <base64 HMAC-SHA256 of the body>``."""
    return Signed(msg.url, {"x-line-signature": _b64(_hmac(secret.encode("utf-8"), msg.body, "sha256"))})


def sign_standard_webhooks(secret: str, msg: Message) -> Signed:
    """``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over
    ``id.timestamp.body``, keyed with the base64-decoded secret after ``whsec_``.

    Raises:
        ValueError: the secret is not base64 after the optional ``whsec_`` prefix.
    """
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    signed = f"{msg.msg_id}.{msg.timestamp}.".encode() + msg.body
    return Signed(msg.url, {
        "webhook-id": msg.msg_id,
        "webhook-timestamp": str(msg.timestamp),
        "webhook-signature": "v1," + _b64(_hmac(key, signed, "sha256")),
    })


SCHEMES: Mapping[str, Scheme] = {s.name: s for s in (
    Scheme("meta_sha256", "X-Hub-Signature-256 = 'sha256=' + lower-case hex HMAC-SHA256 of the raw "
           "body, keyed with the app secret", sign_meta),
    Scheme("twilio", "X-Twilio-Signature = base64 HMAC-SHA1, keyed with the Auth Token, of the full "
           "URL followed by each POST parameter's name and value sorted by name (JSON bodies: the URL "
           "carrying bodySHA256=<hex SHA-256 of the body>); the URL with or without its default port",
           sign_twilio),
    Scheme("line", "X-Line-Signature = base64 HMAC-SHA256 of the raw body, keyed with the channel "
           "secret", sign_line),
    Scheme("standard_webhooks", "webhook-signature = 'v1,' + base64 HMAC-SHA256 of "
           "'{webhook-id}.{webhook-timestamp}.{body}', keyed with the base64-decoded part of the "
           "whsec_ secret", sign_standard_webhooks, ("webhook-id", "webhook-timestamp")),
)}


@dataclass(frozen=True, slots=True)
class Published:
    """One published test value: ``scheme``'s signer on ``message`` with ``secret`` must give
    ``header: value``."""

    scheme: str
    source: str
    secret: str
    message: Message
    header: str
    value: str


_TWILIO_PARAMS = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
_TWILIO_SRC = "twilio/twilio-python tests/unit/test_request_validator.py (MIT)"
_FORM = "application/x-www-form-urlencoded"
_LINE_BOTTENDER_BODY = (
    '{"destination":"Uea8667adaf43586706170ff25ff47ae6","events":[{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",'
    '"type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"user","userId":'
    '"U206d25c2ea6bd87c17655609a1c37cb8"},"message":{"id":"325708","type":"text","text":"Hello, world"}},'
    '{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"follow","mode":"active","timestamp":1462629479859,'
    '"source":{"type":"user","userId":"U206d25c2ea6bd87c17655609a1c37cb8"}}]}'
)
_META_BODY = (
    '{"object":"whatsapp_business_account","entry":[{"id":"264937493375603","changes":[{"value":'
    '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550953877","phone_number_id":'
    '"277321005464405"},"contacts":[{"profile":{"name":"PyWa Tests"},"wa_id":"972544401243"}],"messages":'
    '[{"from":"972544401243","id":"wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA",'
    '"timestamp":"1730231903","text":{"body":"Hey there! I am using PyWa."},"type":"text"}]},"field":"messages"}]}]}'
)

PUBLISHED: tuple[Published, ...] = (
    # Copied from the project's shared signature vectors (fixtures/signatures/vectors.json),
    # which name these origins and licences.
    Published("meta_sha256", "david-lev/pywa tests/test_server.py::test_webhook_updates_validator (MIT); "
              "a real Cloud API webhook, app secret since reset", "1222e786b144d0e85b9f365372d93676",
              Message("https://hooks.example.test/", _META_BODY.encode()), "x-hub-signature-256",
              "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"),
    Published("twilio", _TWILIO_SRC, "12345",
              Message("https://mycompany.com/myapp.php?foo=1&bar=2", _TWILIO_PARAMS.encode(), _FORM),
              "x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    Published("twilio", _TWILIO_SRC + "; URL with an explicit :443", "12345",
              Message("https://mycompany.com:443/myapp.php?foo=1&bar=2", _TWILIO_PARAMS.encode(), _FORM),
              "x-twilio-signature", "kvajT1Ptam85bY51eRf/AJRuM3w="),
    Published("twilio", _TWILIO_SRC + "; http URL with :80", "12345",
              Message("http://mycompany.com:80/myapp.php?foo=1&bar=2", _TWILIO_PARAMS.encode(), _FORM),
              "x-twilio-signature", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    Published("twilio", _TWILIO_SRC + "; http URL with :1234 (kept)", "12345",
              Message("http://mycompany.com:1234/myapp.php?foo=1&bar=2", _TWILIO_PARAMS.encode(), _FORM),
              "x-twilio-signature", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    Published("twilio", _TWILIO_SRC + "; repeated keys", "12345",
              Message("https://mycompany.com/myapp.php?foo=1&bar=2",
                      b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234", _FORM),
              "x-twilio-signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
    Published("twilio", _TWILIO_SRC + "; JSON body, bodySHA256 in the URL", "12345",
              Message("https://mycompany.com/myapp.php?foo=1&bar=2", b'{"property": "value", "boolean": true}'),
              "x-twilio-signature", "a9nBmqA0ju/hNViExpshrM61xv4="),
    Published("line", "line/line-bot-sdk-python tests/v3/test_webhook.py (Apache-2.0)", "channel_secret",
              Message("https://hooks.example.test/", b"bodybodybodybody"),
              "x-line-signature", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="),
    Published("line", "line/line-bot-sdk-nodejs test/validate-signature.spec.ts (Apache-2.0)", "test_secret",
              Message("https://hooks.example.test/", b'{"hello":"world"}'),
              "x-line-signature", "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM="),
    Published("line", "Yoctol/bottender packages/bottender/src/line/__tests__/LineConnector.spec.ts (MIT); "
              "padded form of its header", "FAKE_SECRET",
              Message("https://hooks.example.test/", _LINE_BOTTENDER_BODY.encode()),
              "x-line-signature", "5+SUnXZ8+G1ErXUewxeZ0T9j4yD6cmwYn5XCO4tBFic="),
    # Not in the shared vectors: the sign test of the Standard Webhooks reference libraries
    # (standard-webhooks/standard-webhooks, libraries/*/ tests, MIT; first published in
    # svix's webhook libraries), reproduced from those tests; the kit's independent signer
    # gives exactly this HMAC, which it could not by chance.
    Published("standard_webhooks", "Standard Webhooks reference libraries' sign test (MIT)",
              "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
              Message("https://hooks.example.test/", b'{"test": 2432232314}',
                      msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330),
              "webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
)


def self_check(schemes: Mapping[str, Scheme] = SCHEMES,
               published: tuple[Published, ...] = PUBLISHED) -> list[str]:
    """Every published value the kit's signers do not reproduce (empty = all match); also a
    scheme without any published value."""
    problems = []
    for p in published:
        got = schemes[p.scheme].sign(p.secret, p.message).headers.get(p.header)
        if got != p.value:
            problems.append(f"{p.scheme} ({p.source}): the kit's signer gives {p.header}: {got!r}, "
                            f"published {p.value!r}")
    problems += [f"{name}: no published test value" for name in schemes
                 if not any(p.scheme == name for p in published)]
    return problems
