"""The omnisdk test kit's declaration for this plugin: tier, capabilities, and the five rules
whose standard test assumes something Apple's scheme does not have, replaced with a reason.

Used by ``omnisdk certify apple_business`` and by ``tests/test_certification.py``.  Importing
it needs ``omnisdk[testkit]``; the plugin itself never imports it.

**Why five standard tests are replaced** (each replacement checks what the rule protects, as
far as Apple's documented scheme allows; the report prints every reason):

- ``signature.forged`` and ``signature.one_change`` expect a request whose *body* (or URL)
  changed after signing to be refused.  Apple's JWT holds no digest of the body or the URL
  (https://developer.apple.com/documentation/businesschatapi/authorizing_messages: ``alg``,
  ``aud``, ``iss``, ``iat`` only), so no verifier of Apple's requests can refuse that; the
  replacements check every change to the *token* (another secret, one byte of it, each of
  the kit's re-encodings of it, another audience, an expired ``iat``), and that a body whose
  ids disagree with the signed request's headers is refused by ``parse()``.
- ``signature.provider_vectors`` asks for requests Apple signed with a published secret.
  None is published (Apple gives each MSP its secret privately; no MSP publishes one) and no
  open-source MSP ships a recorded Apple request.  The replacement checks the plugin's
  HS256 verification, unchanged, against the HS256 JWS example of RFC 7515, Appendix A.1
  (signed by the RFC's authors with a published key, ``recordings/vectors/rfc7515_a1.json``):
  accepted as given, refused with one byte changed.  It proves the HMAC, base64url and key
  handling agree with a signer other than our own ``sign()``; it is not an Apple request.
- ``outbound.send_text`` expects the message id in the provider's answer, and
  ``outbound.typed_errors`` a ``200 {}`` to fail.  Apple answers a send with an empty body
  (https://register.apple.com/resources/messages/msp-rest-api/messages-sent, "Response"):
  the message id is the ``id`` header the MSP chose; the replacements check that the id
  returned is the one sent (header and body) in one request, and every other typed-error
  case of the standard test.

**Declared, not replaced**: ``verification_settings = ("msp_id",)``: the MSP id is the JWT's
``aud`` (authorizing_messages), so ``signature.one_secret`` checks that a token made for
another MSP id is refused, on either side.  ``outbound_mapping`` declares where every field
goes in ``POST /v1/message`` (list menus as list pickers), and ``None``, with Apple's reason,
for ``reply_to``, ``media.id`` and ``media.filename``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson

from omnisdk.errors import PayloadError, SignatureError
from omnisdk.testkit import ChannelAdapterSuite, override
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import listing, unrefused
from omnisdk.testkit.channel.fixture import RECEIVED_AT
from omnisdk.testkit.checks.forgery_variants import header_variants
from omnisdk.testkit.checks.leaks import with_other_secrets
from omnisdk.testkit.checks.provider_api import Reply, describe_error
from omnisdk.testkit.checks.signatures import tampered
from omnisdk.testkit.checks.vector_files import load_vectors
from omnisdk_apple_business import tokens
from omnisdk_apple_business.adapter import AppleBusinessAdapter
from omnisdk_apple_business.outbound import message_id
from omnisdk_apple_business.settings import decode_secret

VECTORS = Path(__file__).parent / "recordings" / "vectors" / "rfc7515_a1.json"
_PICKER = ("interactiveData", "data", "listPicker", "sections", "*")
"""Each section of a list picker's interactiveData (type-interactive#list-picker)."""
_BODY_UNSIGNED = ("Apple's JWT holds no digest of the body or URL (authorizing_messages: alg, aud, iss, "
                  "iat only); this checks every change to the token, and that parse() refuses ids that "
                  "disagree with the headers")


class AppleBusinessSuite(ChannelAdapterSuite):
    """Apple Messages for Business: inbound (one message per request), text and media sends.
    No statuses (Apple sends no delivery status to the MSP), no batches, no GET handshake,
    no templates.  Gold tier."""

    adapter = AppleBusinessAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "send_text", "send_media"})
    signing_secrets = ("msp_secret",)
    # Apple sends no timestamp: events take the request's received_at.
    times_from_payload = False
    # type values (messages-received, "Message Type Values").
    dispatch_fields = {"message type": ("type",)}
    # msp_id is the JWT's audience: Apple signs every request for aud = the MSP id
    # (authorizing_messages, "Verify the Authorization Header"), so a token made for another MSP
    # id must be refused, and an account with another msp_id must refuse this one's tokens.
    verification_settings = ("msp_id",)
    # POST /v1/message body (messages-sent): the customer's opaque id, the text; a media item by
    # public URL goes as a rich link (type-richlink: richLinkData.url, .title); a list menu as
    # a list picker (type-interactive#list-picker: the reply bubble's title is the menu's
    # button, each section's title, each item's identifier, title and subtitle).
    outbound_mapping = {
        "to": ("destinationId",),
        "text": ("body",),
        "media.url": ("richLinkData", "url"),
        "media.caption": ("richLinkData", "title"),
        # the body's keys (messages-sent: v, type, id, sourceId, destinationId, body,
        # attachments, interactiveData, richLinkData) name no message being answered
        "reply_to": None,
        # Apple has no media id: an attachment travels as its own dictionary in attachments[]
        # (name, mime-type, file-size, signature-base64, decryption-key, mmcs-url, mmcs-owner;
        # "Adding Attachment Metadata to a Message"); the plugin's media_id packs that
        # dictionary (upload_attachment) and any other media_id is refused before any I/O
        "media.id": None,
        # a media item by URL goes as a rich link, whose richLinkData has url, title and assets
        # only (type-richlink): no file name; a file's name is the attachment dictionary's
        # "name", fixed when the file is uploaded (upload_attachment(name=...))
        "media.filename": None,
        "list_menu.button": ("interactiveData", "replyMessage", "title"),
        "list_menu.section.title": (*_PICKER, "title"),
        "list_menu.row.id": (*_PICKER, "items", "*", "identifier"),
        "list_menu.row.title": (*_PICKER, "items", "*", "title"),
        "list_menu.row.description": (*_PICKER, "items", "*", "subtitle"),
    }
    credential_header = "authorization"

    # --- signature: what Apple's token covers ------------------------------------------------

    def _token_forgeries(self, adapter: Any, rec: Any) -> list[tuple[str, dict[str, str]]]:
        fx = self._fx()
        key = decode_secret(adapter.settings.msp_secret.get_secret_value())
        msp = adapter.settings.msp_id
        iat = tokens.epoch_seconds(RECEIVED_AT)
        good = fx.sign(adapter, rec.body, rec.content_type)["authorization"]
        out = [
            ("signed for another audience", "Bearer " + tokens.make_token(key, msp, iat=int(iat), audience=msp + "x")),
            ("signed without an audience", "Bearer " + tokens.make_token(key, msp, iat=int(iat))),
            ("an iat older than token_max_age",
             "Bearer " + tokens.make_token(key, msp, iat=int(iat - adapter.settings.token_max_age - 1), audience=msp)),
            ("an iat in the future", "Bearer " + tokens.make_token(
                key, msp, iat=int(iat + adapter.settings.clock_skew + 5), audience=msp)),
            ("one character of the token changed", tampered(good.encode()).decode("latin-1")),
        ]
        out += [(f"authorization with {what}", bad) for what, bad in header_variants(good)]
        return [(what, {"authorization": value}) for what, value in out if value != good]

    @override(reason=_BODY_UNSIGNED)
    def test_forged_signature_is_rejected(self) -> None:
        rid, fx, problems = "signature.forged", self._fx(), []
        adapter = fx.adapter()
        forger = fx.adapter_cls(fx.account, with_other_secrets(fx.settings()))
        for rec in self._recordings(rid):
            p = unrefused(adapter, fx.request(rec, signed_by=forger), f"{rec.name} signed with another secret")
            problems += [p] if p else []
            for what, headers in self._token_forgeries(adapter, rec)[:5]:
                p = unrefused(adapter, fx.request(rec, headers=headers), f"{rec.name} {what}")
                problems += [p] if p else []
        if problems:
            fail(rid, "a forged token must raise SignatureError:" + listing(problems))

    @override(reason=_BODY_UNSIGNED)
    def test_one_change_is_refused(self) -> None:
        rid, fx, problems = "signature.one_change", self._fx(), []
        adapter = fx.adapter()
        for rec in self._recordings(rid)[:8]:
            for what, headers in self._token_forgeries(adapter, rec):
                p = unrefused(adapter, fx.request(rec, headers=headers), f"{rec.name} {what}")
                problems += [p] if p else []
            doc = orjson.loads(rec.body)
            for header in ("id", "source-id", "destination-id"):
                request = fx.request(rec, signed_by=adapter, headers={header: "other-" + header})
                try:
                    adapter.parse(request)
                except PayloadError:
                    continue
                except Exception as exc:
                    problems.append(f"{rec.name}: a {header} header unlike the body: parse() raised {type(exc).__name__}")
                    continue
                if doc.get({"id": "id", "source-id": "sourceId", "destination-id": "destinationId"}[header]):
                    problems.append(f"{rec.name}: a {header} header unlike the body was accepted by parse()")
        if problems:
            fail(rid, "a changed token must raise SignatureError, and headers unlike the body PayloadError:"
                 + listing(problems))

    @override(reason="no Apple-signed request with a published secret exists; checks the HS256 "
                     "verification against the RFC 7515 Appendix A.1 example JWS (its authors' signature, "
                     "a published key), unchanged, and refuses it with one byte changed")
    def test_provider_vectors(self) -> None:
        rid = "signature.provider_vectors"
        vectors, problems = load_vectors(VECTORS)
        if problems or not vectors:
            fail(rid, f"bad or no vectors in {VECTORS}:" + listing(problems or ["empty"]))
        for v in vectors:
            key = decode_secret(v.settings["msp_secret"])
            token = tokens.bearer({k.lower(): x for k, x in v.headers.items()})
            try:
                tokens.signed_claims(token, key)
            except Exception as exc:
                problems.append(f"{v.name} ({v.source}): refused ({type(exc).__name__}: {exc}); its authors signed it")
            head, payload, sig = token.split(".")
            bad = f"{head}.{tampered(payload.encode()).decode()}.{sig}"
            try:
                tokens.signed_claims(bad, key)
                problems.append(f"{v.name} with one payload byte changed: accepted")
            except SignatureError:
                pass
            except Exception as exc:
                problems.append(f"{v.name} changed: raised {type(exc).__name__}, not SignatureError")
        if problems:
            fail(rid, "the reference HS256 vector must verify unchanged and fail when changed:" + listing(problems))

    # --- outbound: Apple answers with an empty body -------------------------------------------

    @override(reason="Apple answers POST /v1/message with an empty body and no id of its own "
                     "(messages-sent, Response): the message id is the id header we sent")
    def test_send_text(self) -> None:
        rid = "outbound.send_text"
        run = self._send([Reply(200)])
        self._expect_success(rid, run, "a text send answered 200 with an empty body", 1)
        request = run.requests[0]
        sent = json.loads(request.content)
        mid = message_id("testkit-idem-7f3c9a")
        if not (run.result.message_id == request.headers.get("id") == sent.get("id") == mid):
            fail(rid, f"SendResult.message_id {run.result.message_id!r} is not the id sent "
                 f"(header {request.headers.get('id')!r}, body {sent.get('id')!r})")

    @override(reason="Apple's success answer is an empty body (messages-sent, Response), so '200 {}' "
                     "is a success; every other case of the standard test is kept, and a 2xx that is "
                     "not JSON must raise")
    def test_typed_errors(self) -> None:
        from omnisdk.outbound.errors import OutboundError

        problems = []
        cases = [
            ("400 with a JSON error", [Reply(400, json={"error": "bad"})], (OutboundError,)),
            ("500 with an HTML body", [Reply(500, text="<html>oops</html>")], (OutboundError,)),
            ("connection refused", [Reply(error=httpx.ConnectError)], (OutboundError,)),
            ("read timeout", [Reply(error=httpx.ReadTimeout)], (OutboundError,)),
            ("200 with an HTML body", [Reply(200, text="<html>ok</html>")], (OutboundError, ValueError)),
        ]
        for label, script, allowed in cases:
            run = self._send(script)
            if run.error is None:
                problems.append(f"{label}: send() returned {run.result!r} instead of raising")
            elif not isinstance(run.error, allowed):
                problems.append(f"{label}: send() raised {describe_error(run.error)}")
        if problems:
            fail("outbound.typed_errors", "failed sends must raise omnisdk.outbound errors:" + listing(problems))


Suite = AppleBusinessSuite
