"""The channel suite's tests of provider-signed vectors and published signing schemes: rules
``signature.provider_vectors`` and ``signature.published_scheme``.

Both stop the kit from trusting the plugin's own ``sign()``: a mistake made the same way in
``sign()`` and ``verify()`` (HMAC over the URL and the body, the wrong hash, upper-case hex)
passes every rule that signs with ``sign()``, and refuses the provider's real traffic.

- ``signature.provider_vectors``: the plugin ships requests the provider (or its own SDK's
  tests) signed, with provenance (format: :mod:`omnisdk.testkit.checks.vector_files`).  Each
  is verified unchanged by an adapter built with the vector's settings and must be accepted;
  ``parse()`` then gives events or PayloadError; the same request with one body byte (or one
  form parameter) changed must be refused.  A vector whose headers are exactly what the
  plugin's ``sign()`` gives at the kit's frozen clock, for a ``sign()`` that stamps the time,
  was made by ``sign()`` and is refused.
- ``signature.published_scheme``: for a suite declaring ``signature_scheme``, the kit's own
  signer (:mod:`omnisdk.testkit.checks.schemes`, checked against the provider's published test
  values) signs every recording with the signing secret (``signing_secrets[0]``, default the
  settings' only secret) and ``verify()`` must accept it; the plugin's ``sign()`` must give the
  same signature headers.  Each recording is also signed by the kit for the suite's URL with a
  query string added (Twilio signs the URL with its query): accepted, and ``sign()`` agrees.
  Not applicable without ``signature_scheme``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import time_machine
from pydantic import ValidationError

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing, parse_outcome, unrefused
from omnisdk.testkit.channel.fixture import RECEIVED_AT, ChannelFixture
from omnisdk.testkit.checks.events import event_problems
from omnisdk.testkit.checks.forgery_variants import with_query
from omnisdk.testkit.checks.leaks import secret_fields
from omnisdk.testkit.checks.schemes import (
    SCHEMES,
    Message,
    Scheme,
    Signed,
    port_variant,
    self_check,
)
from omnisdk.testkit.checks.signatures import tampered
from omnisdk.testkit.checks.vector_files import Vector, changed_bodies, load_vectors, vector_files
from omnisdk.testkit.report import note
from omnisdk.testkit.rules import Rule, rule

SHIP_VECTORS = (
    "ship at least one request signed by the provider itself or by its own SDK's tests (its "
    "documentation, its official test suite), unchanged and with provenance, as a JSON list in "
    "{path} (or set the suite's provider_vectors): "
    '[{{"name": ..., "source": "<repository + path, or documentation URL>", "licence": ..., '
    '"settings": {{"<secret setting>": "<the published secret>"}}, "url": ..., "headers": '
    '{{"<signature header>": "<as sent>"}}, "body": "<raw body, byte for byte>"}}] '
    "(see omnisdk.testkit.checks.vector_files); a vector made with the plugin's own sign() "
    "proves nothing"
)


def received_epoch(received_at: str) -> int:
    """Unix seconds of an RFC 3339 time."""
    return int(datetime.fromisoformat(received_at.replace("Z", "+00:00")).timestamp())


def signing_secret(settings: Any, declared: Any) -> tuple[str | None, str]:
    """``(value, setting name)`` of the secret that keys the signature: the first of
    ``declared`` (``signing_secrets``), else the settings' only SecretStr/SecretBytes field;
    ``(None, why)`` when there is none or several."""
    fields = secret_fields(settings)
    names = list(declared or ()) or list(fields)
    if not declared and len(names) != 1:
        return None, (f"the settings have {len(names)} secrets {names}: declare "
                      "signing_secrets = ('<the setting that keys the signature>',)")
    if names[0] in fields:
        return fields[names[0]], names[0]
    value = getattr(settings, names[0], None)
    if isinstance(value, str) and value:
        return value, names[0]
    return None, f"signing_secrets names {names[0]!r}, which is not a secret setting of the account"


OTHER_INSTANT = "2044-05-06T07:08:09Z"
"""A second frozen clock, to tell a signature that depends on the time of signing."""


def _made_by_sign(fx: ChannelFixture, adapter: ChannelAdapter, vector: Vector) -> bool:
    """Whether ``vector``'s headers are what ``adapter.sign()`` gives with the kit's frozen
    clock, for a ``sign()`` whose headers depend on the clock (a timestamp): only a vector
    produced by running ``sign()`` under the kit carries the kit's own instant.  (For a scheme
    without a timestamp a genuine vector also equals ``sign()``: nothing can be told.)"""
    url = vector.url or fx.url
    try:
        here = fx.sign(adapter, vector.body, vector.content_type, url=url)
        with time_machine.travel(OTHER_INSTANT, tick=False):
            there = {k.lower(): v for k, v in adapter.sign(url, vector.body, vector.content_type).items()}
    except Exception:  # a body sign() cannot sign was not made by it
        return False
    sent = {k.lower(): v for k, v in vector.headers.items()}
    return bool(here) and here != there and all(sent.get(k) == v for k, v in here.items())


def _request(signed: Signed, body: bytes, content_type: str, url: str | None = None) -> WebhookRequest:
    headers = {"content-type": content_type, **signed.headers}
    return WebhookRequest(method="POST", url=url or signed.url, headers=headers, body=body,
                          received_at=RECEIVED_AT)


def _accepts(adapter: ChannelAdapter, request: WebhookRequest) -> str | None:
    """None when verify() accepts, else what it did."""
    try:
        adapter.verify(request)
    except Exception as exc:
        return f"verify() raised {type(exc).__name__}: {exc}"
    return None


class VectorChecks(ChannelChecks):
    """Mixin: provider-signed vectors, and the kit's signers of published schemes."""

    _omnisdk_kit_class: ClassVar[bool] = True
    provider_vectors: ClassVar[Any]
    recordings_dir: ClassVar[Any]
    signature_scheme: ClassVar[Any]
    signing_secrets: ClassVar[Any]

    @classmethod
    def not_applicable(cls, rule: Rule) -> str | None:
        """``signature.published_scheme`` without a declared ``signature_scheme``."""
        if rule.id == "signature.published_scheme" and not cls.signature_scheme:
            return "no published scheme declared (signature_scheme)"
        return super().not_applicable(rule)  # type: ignore[misc]

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """An unknown ``signature_scheme`` is a declaration problem."""
        problems = super().declaration_problems()  # type: ignore[misc]
        if cls.signature_scheme is not None and cls.signature_scheme not in SCHEMES:
            problems.append(f"signature_scheme {cls.signature_scheme!r} is not one of {sorted(SCHEMES)} "
                            "(leave it None when the provider publishes no scheme)")
        return problems

    def _vectors_path(self, fx: ChannelFixture) -> Path | None:
        folder = Path(self.recordings_dir) if self.recordings_dir is not None else fx.adapter_cls.recordings
        if self.provider_vectors is None:
            return None if folder is None else Path(folder) / "vectors"
        path = Path(self.provider_vectors)
        return path if path.is_absolute() or folder is None else Path(folder) / path

    # --- signature.provider_vectors ---------------------------------------------------------

    @rule("signature.provider_vectors")
    def test_provider_vectors(self) -> None:
        rid, fx = "signature.provider_vectors", self._fx()
        path = self._vectors_path(fx)
        if path is None or not vector_files(path):
            fail(rid, f"no provider vectors: {SHIP_VECTORS.format(path=path or '<recordings>/vectors/')}")
            return
        vectors, problems = load_vectors(path)
        if problems:
            fail(rid, f"bad provider vectors in {path}:" + listing(problems))
        if not vectors:
            fail(rid, f"{path} holds no vector: {SHIP_VECTORS.format(path=path)}")
        for vector in vectors:
            problems += self._vector_problems(fx, vector)
        if problems:
            fail(rid, "the provider's own signed requests must verify unchanged, and one change must "
                 "make them fail (a sign()/verify() pair that agree with each other but not with the "
                 "provider refuses real traffic):" + listing(problems))

    def _vector_problems(self, fx: ChannelFixture, vector: Vector) -> list[str]:
        try:
            adapter = fx.adapter(**vector.settings)
        except (ValidationError, ValueError, TypeError) as exc:
            return [f"{vector.name}: its settings do not validate over the account's ({type(exc).__name__})"]
        request = vector.request(fx.url, RECEIVED_AT)
        if _made_by_sign(fx, adapter, vector):
            return [f"{vector.name}: its headers are exactly what this plugin's sign() gives at the kit's "
                    "frozen clock (and other headers at another instant): it was made by sign(), not by "
                    "the provider, and proves nothing"]
        refused = _accepts(adapter, request)
        if refused:
            return [f"{vector.name} ({vector.source}): {refused}; the provider signed it"]
        problems = []
        outcome, value = parse_outcome(adapter, request)
        if outcome == "crash":
            problems.append(f"{vector.name}: parse() raised {type(value).__name__} (events or PayloadError expected)")
        elif outcome == "events":
            problems += [f"{vector.name}: {p}" for p in event_problems(value, adapter.source)]
        else:  # the provider's body is not one this plugin parses (another product's webhook)
            note(type(self), "signature.provider_vectors",
                 f"{vector.name}: parse() refuses its body (PayloadError), so this vector tests the "
                 "signature only, not parsing")
        for what, body in changed_bodies(vector, tampered):
            problem = unrefused(adapter, vector.request(fx.url, RECEIVED_AT, body=body), f"{vector.name} with {what}")
            if problem:
                problems.append(problem)
        return problems

    # --- signature.published_scheme ----------------------------------------------------------

    @rule("signature.published_scheme")
    def test_published_scheme(self) -> None:
        rid, fx = "signature.published_scheme", self._fx()
        scheme = SCHEMES.get(self.signature_scheme or "")
        if scheme is None:
            fail(rid, f"signature_scheme {self.signature_scheme!r} is not one of {sorted(SCHEMES)}")
            return
        kit_bugs = [p for p in self_check() if p.startswith(scheme.name)]
        if kit_bugs:
            fail(rid, "the kit's own signer does not reproduce the published values (a kit bug):"
                 + listing(kit_bugs))
        settings = fx.settings()
        secret, name = signing_secret(settings, self.signing_secrets)
        if secret is None:
            fail(rid, name)
            return
        adapter, problems = fx.adapter(), []
        for i, rec in enumerate(self._recordings(rid)):
            msg = Message(fx.url, rec.body, rec.content_type, f"msg_kit{i:04d}", received_epoch(RECEIVED_AT))
            try:
                signed = scheme.sign(secret, msg)
            except ValueError as exc:
                problems.append(f"{rec.name}: the kit cannot sign with {name} ({exc})")
                continue
            refused = _accepts(adapter, _request(signed, rec.body, rec.content_type))
            if refused:
                problems.append(f"{rec.name} signed by the kit: {refused}")
            queried = Message(with_query(fx.url), rec.body, rec.content_type, msg.msg_id, msg.timestamp)
            refused = _accepts(adapter, _request(scheme.sign(secret, queried), rec.body, rec.content_type))
            if refused:
                problems.append(f"{rec.name} signed by the kit for a URL with a query ({queried.url}): {refused}")
            else:
                problems += self._sign_problems(scheme, adapter, secret, queried, scheme.sign(secret, queried),
                                                f"{rec.name} at a URL with a query")
            problems += self._port_variant_problems(scheme, adapter, secret, msg, rec.name)
            problems += self._sign_problems(scheme, adapter, secret, msg, signed, rec.name)
        if problems:
            fail(rid, f"the provider signs with {scheme.name}: {scheme.statement} (secret: the "
                 f"{name} setting); verify() must accept that and sign() must produce it:" + listing(problems))

    def _port_variant_problems(self, scheme: Scheme, adapter: ChannelAdapter, secret: str,
                               msg: Message, name: str) -> list[str]:
        """Twilio: signed over the URL with (or without) its default port, sent to the URL as
        configured: validators must accept both forms."""
        other = port_variant(msg.url) if scheme.name == "twilio" else None
        if other is None:
            return []
        signed = scheme.sign(secret, Message(other, msg.body, msg.content_type))
        refused = _accepts(adapter, _request(signed, msg.body, msg.content_type, url=msg.url))
        return [f"{name} signed over {other} and received at {msg.url}: {refused}"] if refused else []

    def _sign_problems(self, scheme: Scheme, adapter: ChannelAdapter, secret: str, msg: Message,
                       signed: Signed, name: str) -> list[str]:
        try:
            got = self._fx().sign(adapter, msg.body, msg.content_type, url=signed.url)
        except Exception as exc:
            return [f"{name}: sign() raised {type(exc).__name__}"]
        if all(h in got for h in scheme.free_headers) and scheme.free_headers:
            try:
                free = Message(msg.url, msg.body, msg.content_type, got["webhook-id"], int(got["webhook-timestamp"]))
            except ValueError:
                return [f"{name}: sign() gave a webhook-timestamp that is not Unix seconds"]
            signed = scheme.sign(secret, free)
        problems = []
        for header, want in signed.headers.items():
            if header not in got:
                problems.append(f"{name}: sign() gives no {header} header")
            elif got[header] != want:
                problems.append(f"{name}: sign() gives {header}: {got[header][:24]!r}…, the published "
                                f"scheme {want[:24]!r}…")
        return problems
