"""Seeded defects of the URL and form forgeries of issue 15, on a copy of the real SMS plugin
(Twilio: ``X-Twilio-Signature`` is the base64 HMAC-SHA1, keyed with the Auth Token, of the
full URL Twilio called followed by every POST parameter's name and value, names sorted;
twilio.com/docs/usage/webhooks/webhooks-security).  Each replaces the plugin's ``sign()`` and
``verify()`` by one pair that agrees with itself but makes one realistic mistake, so only a rule
that does not ask ``sign()`` what is right can catch it.  The recordings are the plugin's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from omnisdk.adapters import WebhookRequest, secret_value
from omnisdk.errors import SignatureError
from omnisdk_sms.adapter import TwilioSmsAdapter

HEADER = "X-Twilio-Signature"


class _OwnSigner(TwilioSmsAdapter):
    """The plugin with its signature replaced by :meth:`signed_bytes` (HMAC-SHA1, base64)."""

    def signed_bytes(self, url: str, body: bytes) -> bytes:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        return (url + "".join(k + v for k, v in sorted(params))).encode()

    def _digest(self, url: str, body: bytes) -> str:
        key = secret_value(self.settings.auth_token).encode()
        return base64.b64encode(hmac.new(key, self.signed_bytes(url, body), hashlib.sha1).digest()).decode()

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {HEADER: self._digest(url, body)}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get(HEADER.lower())
        if not got:
            raise SignatureError(f"missing {HEADER}", reason="missing_signature")
        try:
            wants = [self._digest(url, request.body) for url in _port_forms(request.url)]
        except UnicodeDecodeError:
            raise SignatureError("the body is not UTF-8", reason="malformed_signature") from None
        matched = [hmac.compare_digest(got.encode(), want.encode()) for want in wants]
        if not any(matched):
            raise SignatureError("signature does not match")


def _port_forms(url: str) -> list[str]:
    """``url`` as given and with its default port added or removed (Twilio signs either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    if parts.port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]
    if parts.port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def _without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


class StripsQuery(_OwnSigner):
    """Defect: signs (and verifies) the URL without its query string ("the query is routing
    noise").  Twilio signs the URL as configured, query included, so every webhook to a URL
    with a query is refused; the plugin's sign() agrees, so only the published scheme shows it."""

    def signed_bytes(self, url: str, body: bytes) -> bytes:
        return super().signed_bytes(_without_query(url), body)


class SortsUrlQuery(_OwnSigner):
    """Defect: puts the URL's query parameters in sorted order before signing (as it does the
    form parameters).  Twilio signs the query as it called it."""

    def signed_bytes(self, url: str, body: bytes) -> bytes:
        parts = urlsplit(url)
        query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
        return super().signed_bytes(urlunsplit(parts._replace(query=query)), body)


class SignsUrlOnly(_OwnSigner):
    """Defect: signs the URL alone, as for Twilio's GET webhooks, also for POSTs: the form
    parameters are not signed, so any of them can be changed."""

    def signed_bytes(self, url: str, body: bytes) -> bytes:
        return url.encode()


class SignsRawBody(_OwnSigner):
    """Defect: signs the URL followed by the raw body bytes (as most providers do) instead of
    the decoded, sorted parameters: Twilio's signature of the same parameters in another order
    or spelling is refused."""

    def signed_bytes(self, url: str, body: bytes) -> bytes:
        return url.encode() + body

