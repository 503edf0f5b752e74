"""The channel suite's tests of forgeries that change one thing at a time, and of refusals that
are no oracle: rules ``signature.one_secret``, ``signature.one_change`` and
``signature.no_oracle``.

``signature.forged`` changes every secret at once, so it cannot tell which key ``verify()``
uses.  These rules isolate one thing:

- ``signature.one_secret``: for each secret setting of the account (top-level ``SecretStr`` /
  ``SecretBytes``), a request is signed by an adapter whose settings differ in that secret
  alone.  When the setting is a signing secret (``signing_secrets``; default the settings'
  only secret) ``verify()`` must raise SignatureError; when it is not (an API token, a verify
  token), ``verify()`` must accept: the signature does not depend on it.  A request signed
  with another secret's value as the signing key (the API token used as the webhook secret)
  must be refused.
  Then each non-secret setting (:func:`changed_settings`) is changed alone, once on the
  signing side and once on the verifying side: ``verify()`` must accept unless the suite's
  ``verification_settings`` names it (a setting the provider's scheme does use), and refuse
  when it does.
- ``signature.one_change``: each recording, signed by the adapter, then changed in one thing
  (:mod:`omnisdk.testkit.checks.forgery_variants`): one body byte; the same JSON in other bytes
  (whitespace, escapes, key order); for form bodies one decoded value, one parameter added or
  removed, and parameter order or percent-encoding (judged by the declared published scheme's
  own signer: accepted when it signs the decoded parameters, as Twilio does, refused when it
  signs the bytes; without a declared scheme always refused, never judged by ``sign()``); for
  schemes that sign the URL, a query added or dropped, the path or scheme changed, and for a
  URL signed with a query, its parameters reordered, one removed, changed or added; the
  signature header's algorithm prefix removed or changed, its digest in another encoding; one
  character of every other header ``sign()`` sets.  Each must raise SignatureError.  Where the
  URL is signed, a request signed and received at a URL with a query string must be accepted.
- ``signature.no_oracle``: for wrong, tampered and malformed requests, the SignatureError's
  text, repr, args, attributes and cause chain, and the log records written during
  ``verify()``, must hold no run of 8 characters (:data:`~omnisdk.testkit.checks.leaks.WINDOW`)
  of a secret value, of its encodings (hex, base64, a ``whsec_`` key's bytes, the HMAC of an
  empty message keyed with it, its SHA-256: :func:`~omnisdk.testkit.checks.leaks.secret_derivations`)
  or of any spelling (hex, base64, with or without prefix) of the signature the request should
  have carried, except runs the request itself carried; and its ``reason`` must be one of the
  core's codes (:data:`omnisdk.errors.WEBHOOK_REASONS`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.errors import WEBHOOK_REASONS
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing, said, unrefused, verify_verdict
from omnisdk.testkit.channel.fixture import RECEIVED_AT
from omnisdk.testkit.channel.vectors import signing_secret
from omnisdk.testkit.checks.forgery_variants import (
    body_variants,
    digest_spellings,
    form_respellings,
    header_variants,
    query_variants,
    url_variants,
    with_query,
)
from omnisdk.testkit.checks.leaks import (
    WINDOW,
    Needles,
    rotated,
    secret_derivations,
    secret_fields,
    secret_values,
    with_other_secrets,
)
from omnisdk.testkit.checks.schemes import SCHEMES, Message
from omnisdk.testkit.checks.signatures import malformed_values, tampered
from omnisdk.testkit.rules import rule

MAX_RECORDINGS = 12
"""At most this many recordings (spread over the sorted list) are forged per rule."""


def _post(url: str, body: bytes, content_type: str, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="POST", url=url, headers={"content-type": content_type, **headers},
                          body=body, received_at=RECEIVED_AT)


def _texts_of(exc: BaseException) -> Iterator[tuple[str, str]]:
    """``(where, text)`` of an exception, its args and attributes, and its cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    depth = 0
    while current is not None and id(current) not in seen and depth < 8:
        seen.add(id(current))
        where = "the SignatureError" if depth == 0 else f"its cause ({type(current).__name__})"
        yield f"{where}'s message", str(current)
        yield f"{where}'s repr", repr(current)
        for i, arg in enumerate(current.args):
            yield f"{where}'s args[{i}]", repr(arg)
        for name, value in vars(current).items():
            yield f"{where}'s attribute {name}", repr(value)
        current = current.__cause__ or current.__context__
        depth += 1


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(record.getMessage())
        except Exception:  # a broken log call is not this rule's business
            self.texts.append(str(record.msg))


class ForgeryChecks(ChannelChecks):
    """Mixin: one-secret and one-change forgeries, and refusals that leak nothing."""

    _omnisdk_kit_class: ClassVar[bool] = True
    signing_secrets: ClassVar[Any]
    signature_scheme: ClassVar[Any]
    verification_settings: ClassVar[Any]

    def _sample(self, rule_id: str) -> list[Recording]:
        recs = self._recordings(rule_id)
        if len(recs) <= MAX_RECORDINGS:
            return recs
        step = len(recs) / MAX_RECORDINGS
        return [recs[int(i * step)] for i in range(MAX_RECORDINGS)]

    def _signing_names(self, rule_id: str, secrets: dict[str, str]) -> set[str]:
        declared = set(self.signing_secrets or ())
        if declared:
            unknown = declared - set(secrets)
            if unknown:
                fail(rule_id, f"signing_secrets names {sorted(unknown)}, which are not non-empty secret "
                     f"settings of the account (those are {sorted(secrets)})")
            return declared
        if len(secrets) != 1:
            fail(rule_id, f"the settings have {len(secrets)} secrets {sorted(secrets)}: declare "
                 "signing_secrets = ('<the setting that keys the signature>', ...)")
        return set(secrets)

    # --- signature.one_secret ------------------------------------------------------------

    @rule("signature.one_secret")
    def test_one_secret_changed(self) -> None:
        rid, fx = "signature.one_secret", self._fx()
        secrets = secret_fields(fx.settings())
        if not secrets:
            fail(rid, "the account settings hold no secret (SecretStr/SecretBytes) to sign with")
        signing = self._signing_names(rid, secrets)
        adapter, problems = fx.adapter(), []
        for rec in self._sample(rid):
            for name, value in secrets.items():
                forger = _forger(fx, {name: rotated(value)})
                if forger is None:
                    continue
                verdict, exc = verify_verdict(adapter, fx.request(rec, signed_by=forger))
                if name in signing and verdict != "refused":
                    problems.append(f"{rec.name} signed with only {name} changed: verify() "
                                    f"{said(verdict, exc)}; {name} keys the signature")
                elif name not in signing and verdict != "accepted":
                    problems.append(f"{rec.name} signed with only {name} changed: verify() "
                                    f"{said(verdict, exc)}; {name} is not a signing secret "
                                    "(declare signing_secrets if it is)")
            for key_name in signing:
                for other, value in secrets.items():
                    if other in signing or value == secrets[key_name]:
                        continue
                    forger = _forger(fx, {key_name: value})
                    if forger is None:
                        continue
                    verdict, exc = verify_verdict(adapter, fx.request(rec, signed_by=forger))
                    if verdict != "refused":
                        problems.append(f"{rec.name} signed with the {other} value as {key_name}: "
                                        f"verify() {said(verdict, exc)}")
        problems += self._setting_problems(rid, adapter)
        if problems:
            fail(rid, "verify() must check the signing secret, and only it:" + listing(problems))

    def _setting_problems(self, rid: str, adapter: ChannelAdapter) -> list[str]:
        """Each non-secret setting changed alone (:func:`changed_settings`), on the signer's side
        and on the verifier's: a setting of ``verification_settings`` must make ``verify()``
        refuse, any other must change nothing."""
        fx = self._fx()
        declared = set(getattr(self, "verification_settings", None) or ())  # connector suites have none
        changes = changed_settings(fx.settings())
        unknown = declared - set(type(fx.settings()).model_fields)
        if unknown:
            fail(rid, f"verification_settings names {sorted(unknown)}, which are not settings of the account")
        problems: list[str] = []
        for rec in self._sample(rid)[:4]:
            for name, value in changes:
                signer, verifier = _forger(fx, {name: value}), _forger(fx, {name: value})
                if signer is None or verifier is None:
                    continue
                for side, request, checker in (
                        ("signed by an account", fx.request(rec, signed_by=signer), adapter),
                        ("verified by an account", fx.request(rec, signed_by=adapter), verifier)):
                    verdict, exc = verify_verdict(checker, request)
                    if name in declared and verdict != "refused":
                        problems.append(f"{rec.name} {side} whose {name} alone differs: verify() "
                                        f"{said(verdict, exc)}; verification_settings says {name} takes part")
                    elif name not in declared and verdict != "accepted":
                        problems.append(f"{rec.name} {side} whose {name} alone differs (a setting, not a "
                                        f"secret): verify() {said(verdict, exc)}; the provider signs with "
                                        f"the secret, so {name} must change nothing (declare "
                                        "verification_settings if the provider's scheme does use it)")
        return problems

    # --- signature.one_change ------------------------------------------------------------

    @rule("signature.one_change")
    def test_one_change_is_refused(self) -> None:
        rid, fx = "signature.one_change", self._fx()
        adapter, problems = fx.adapter(), []
        for rec in self._sample(rid):
            headers = fx.sign(adapter, rec.body, rec.content_type)
            for what, body in body_variants(rec.body, rec.content_type):
                self._refused(problems, adapter, _post(fx.url, body, rec.content_type, headers), rec, what)
            problems += self._respelling_problems(adapter, rec, headers)
            if self._url_signed(adapter, rec):
                for what, url in url_variants(fx.url):
                    self._refused(problems, adapter, _post(url, rec.body, rec.content_type, headers), rec, what)
                queried = with_query(fx.url)
                signed = fx.sign(adapter, rec.body, rec.content_type, url=queried)
                verdict, exc = verify_verdict(adapter, _post(queried, rec.body, rec.content_type, signed))
                if verdict != "accepted":
                    problems.append(f"{rec.name} signed for and received at a URL with a query string: "
                                    f"verify() {said(verdict, exc)} (the provider signs the URL with its query)")
                for what, url in query_variants(queried):
                    self._refused(problems, adapter, _post(url, rec.body, rec.content_type, signed), rec,
                                  f"the URL it was signed for with {what}")
            for name, value in headers.items():
                changes = header_variants(value)
                changes.append((f"one character of {name} changed", tampered(value.encode()).decode("latin-1")))
                for what, bad in changes:
                    self._refused(problems, adapter,
                                  _post(fx.url, rec.body, rec.content_type, {**headers, name: bad}),
                                  rec, f"{name} with {what}")
        if problems:
            fail(rid, "a signed request changed in one thing must raise SignatureError (verify the "
                 "exact bytes, URL and header the provider signed, in its one encoding):" + listing(problems))

    def _respelling_problems(self, adapter: ChannelAdapter, rec: Recording, headers: dict[str, str]) -> list[str]:
        """Form parameters reordered or re-encoded (:func:`form_respellings`), judged by the
        published scheme, never by the plugin's ``sign()``: with a declared
        ``signature_scheme`` the kit's own signer says whether the respelled body has the same
        signature (Twilio signs the decoded, sorted parameters: accepted) or not (refused);
        without one, the raw bytes are what the provider signed, so a respelling is refused."""
        fx, problems = self._fx(), []
        if "x-www-form-urlencoded" not in rec.content_type.lower():
            return []
        scheme = SCHEMES.get(getattr(self, "signature_scheme", None) or "")
        secret, _ = signing_secret(fx.settings(), self.signing_secrets) if scheme else (None, "")
        for what, body in form_respellings(rec.body):
            if scheme is not None and secret is not None:
                try:
                    same = scheme.sign(secret, Message(fx.url, body, rec.content_type)).headers == \
                        scheme.sign(secret, Message(fx.url, rec.body, rec.content_type)).headers
                except ValueError:
                    continue
                judge = f"the {scheme.name} scheme"
            else:
                same, judge = False, "the raw body (no published signature_scheme declared)"
            verdict, exc = verify_verdict(adapter, _post(fx.url, body, rec.content_type, headers))
            if same and verdict != "accepted":
                problems.append(f"{rec.name} with {what}: verify() {said(verdict, exc)}, but {judge} "
                                "gives the same signature (it signs the decoded parameters)")
            elif not same and verdict != "refused":
                problems.append(f"{rec.name} with {what}: verify() {said(verdict, exc)}, but {judge} "
                                "gives another signature (it signs these bytes)")
        return problems

    def _url_signed(self, adapter: ChannelAdapter, rec: Recording) -> bool:
        fx = self._fx()
        here = fx.sign(adapter, rec.body, rec.content_type)
        there = fx.sign(adapter, rec.body, rec.content_type, url=with_query(fx.url))
        return here != there

    @staticmethod
    def _refused(problems: list[str], adapter: ChannelAdapter, request: WebhookRequest,
                 rec: Recording, what: str) -> None:
        problem = unrefused(adapter, request, f"{rec.name} with {what}")
        if problem:
            problems.append(problem)

    # --- signature.no_oracle -------------------------------------------------------------

    @rule("signature.no_oracle")
    def test_refusal_is_no_oracle(self) -> None:
        rid, fx = "signature.no_oracle", self._fx()
        adapter, problems = fx.adapter(), []
        settings = fx.settings()
        secrets = secret_values(settings)
        try:
            forger = fx.adapter_cls(fx.account, with_other_secrets(settings))
        except ValueError as exc:
            fail(rid, f"{exc}: cannot make a wrong signature")
            return
        for rec in self._sample(rid)[:4]:
            good = fx.sign(adapter, rec.body, rec.content_type)
            cases = [("signed with another secret", fx.request(rec, signed_by=forger), rec.body)]
            body = tampered(rec.body)
            cases.append(("with one byte changed after signing", fx.request(rec, body=body, signed_by=adapter),
                          body))
            for name, value in good.items():
                for bad in malformed_values(value)[:3]:
                    cases.append((f"with {name}: {bad[:12]!r}", fx.request(rec, headers={**good, name: bad}),
                                  rec.body))
            for what, request, received in cases:
                problems += self._oracle_problems(adapter, request, received, secrets, f"{rec.name} {what}")
        if problems:
            fail(rid, "a refusal must say what is wrong, never what would be right: no secret and no "
                 "expected signature in the SignatureError, its cause chain or the log:" + listing(problems))

    def _oracle_problems(self, adapter: ChannelAdapter, request: WebhookRequest, received: bytes,
                         secrets: list[str], what: str) -> list[str]:
        fx = self._fx()
        expected: set[str] = set()
        try:
            right = fx.sign(adapter, received, request.headers.get("content-type", ""))
        except ValueError:  # a body the scheme cannot sign has no expected signature to leak
            right = {}
        for value in right.values():
            expected |= digest_spellings(value)
        sent: set[str] = set()
        for value in request.headers.values():
            sent |= digest_spellings(value) | {value}
        expected -= sent  # echoing what was received is no oracle
        values = {f"{how} of a secret setting": text for s in secrets
                  for how, text in secret_derivations(s).items()}
        values.update({f"the expected signature ({e[:4]}…)": e for e in sorted(expected)})
        needles = Needles(values, allowed=sent)
        handler = _Records()
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            verdict, exc = verify_verdict(adapter, request)
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
        texts = [("the log", t) for t in handler.texts]
        problems = []
        if exc is not None:
            texts += list(_texts_of(exc))
            reason = getattr(exc, "reason", None)
            if reason not in WEBHOOK_REASONS:
                problems.append(f"{what}: the SignatureError's reason {str(reason)[:24]!r} is not one of the "
                                "core's reason codes (omnisdk.errors.WEBHOOK_REASONS); the gateway answers "
                                "'bad_signature' instead")
        for where, text in texts:
            found = needles.find(text)
            if found is not None:
                kind = "the expected signature" if found.startswith("the expected") else "a secret"
                problems.append(f"{what}: {where} holds {WINDOW}+ characters of {kind} ({found})"
                                if kind == "the expected signature" else
                                f"{what}: {where} holds a secret value or {WINDOW}+ characters derived from "
                                f"one ({found.replace(' of a secret setting', '')})")
        return problems


def changed_settings(settings: Any) -> list[tuple[str, Any]]:
    """``[(setting, other value)]``: each top-level non-secret setting of ``settings`` with a
    plain value (a string, a number, a boolean, a tuple or list of strings) and a different
    value of the same shape (strings :func:`~omnisdk.testkit.checks.leaks.rotated`, numbers
    plus one, booleans flipped, the first string of a list rotated).  ``api_base_url`` and
    values that are None, empty or nested models are left alone."""
    out: list[tuple[str, Any]] = []
    for name in type(settings).model_fields:
        if name == "api_base_url":
            continue
        value = getattr(settings, name)
        if isinstance(value, bool):
            out.append((name, not value))
        elif isinstance(value, int | float):
            out.append((name, value + 1))
        elif isinstance(value, str) and value:
            out.append((name, rotated(value)))
        elif isinstance(value, tuple | list) and value and all(isinstance(v, str) and v for v in value):
            out.append((name, [rotated(value[0]), *value[1:]]))
    return out


def _forger(fx: Any, changes: dict[str, Any]) -> ChannelAdapter | None:
    """An adapter with ``changes`` to the settings; None when the settings refuse them."""
    try:
        return fx.adapter(**changes)
    except ValueError:  # pydantic's ValidationError: the settings forbid it, nothing to forge
        return None
