"""The signature and handshake tests of the channel suite: rules ``signature.*`` and
``handshake.verified``."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

from omnisdk.adapters import ChannelAdapter, WebhookReply, WebhookRequest
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing, package_of, unrefused
from omnisdk.testkit.checks.leaks import secret_values, with_other_secrets
from omnisdk.testkit.checks.signatures import compare_digest_spy, malformed_values, tampered
from omnisdk.testkit.rules import rule


class SignatureChecks(ChannelChecks):
    """Mixin: missing, forged and malformed signatures, constant time, the GET handshake."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- signature.* ---------------------------------------------------------------------

    def _expect_signature_error(self, rule_id: str, adapter: ChannelAdapter, request: WebhookRequest,
                                what: str, problems: list[str]) -> None:
        problem = unrefused(adapter, request, what)
        if problem:
            problems.append(problem)

    @rule("signature.missing")
    def test_missing_signature_is_rejected(self) -> None:
        fx, problems = self._fx(), []
        adapter = fx.adapter()
        for rec in self._recordings("signature.missing"):
            headers = fx.sign(adapter, rec.body, rec.content_type)
            unsigned = fx.request(rec)
            self._expect_signature_error("signature.missing", adapter, unsigned,
                                         f"{rec.name} without {sorted(headers)}", problems)
            if len(headers) > 1:
                for name in headers:
                    partial = fx.request(rec, headers={k: v for k, v in headers.items() if k != name})
                    self._expect_signature_error("signature.missing", adapter, partial,
                                                 f"{rec.name} without {name}", problems)
        if problems:
            fail("signature.missing", "a request lacking its signature must raise SignatureError:" + listing(problems))

    @rule("signature.forged")
    def test_forged_signature_is_rejected(self) -> None:
        fx, problems = self._fx(), []
        adapter = fx.adapter()
        try:
            forger = fx.adapter_cls(fx.account, with_other_secrets(fx.settings()))
        except ValueError as exc:
            fail("signature.forged", f"{exc}: cannot forge a signature with another secret")
            return
        for rec in self._recordings("signature.forged"):
            self._expect_signature_error("signature.forged", adapter, fx.request(rec, signed_by=forger),
                                         f"{rec.name} signed with another secret", problems)
            body = tampered(rec.body)
            self._expect_signature_error(
                "signature.forged", adapter, fx.request(rec, body=body, signed_by=adapter),
                f"{rec.name} with one byte changed after signing", problems)
        if problems:
            fail("signature.forged", "a forged request must raise SignatureError:" + listing(problems))

    @rule("signature.malformed")
    def test_malformed_signature_is_rejected(self) -> None:
        fx, problems = self._fx(), []
        adapter = fx.adapter()
        for rec in self._recordings("signature.malformed"):
            for name, value in fx.sign(adapter, rec.body, rec.content_type).items():
                for bad in malformed_values(value):
                    self._expect_signature_error(
                        "signature.malformed", adapter, fx.request(rec, signed_by=adapter, headers={name: bad}),
                        f"{rec.name} with {name}: {bad[:20]!r}", problems)
        if problems:
            fail("signature.malformed", "a malformed signature must raise SignatureError:" + listing(problems))

    @rule("signature.constant_time")
    def test_signature_compared_in_constant_time(self) -> None:
        fx = self._fx()
        rec = self._recordings("signature.constant_time")[0]
        adapter = fx.adapter()
        try:
            forger = fx.adapter_cls(fx.account, with_other_secrets(fx.settings()))
        except ValueError as exc:
            fail("signature.constant_time", f"{exc}: cannot make a wrong signature")
            return
        request = fx.request(rec, signed_by=forger)
        with compare_digest_spy(package_of(fx.adapter_cls)) as spy:
            try:
                adapter.verify(request)
            except Exception:
                pass
        if spy.calls == 0:
            fail("signature.constant_time", f"verify() rejected a wrong signature of {rec.name} without "
                 "calling hmac.compare_digest (or secrets.compare_digest): compare signatures in "
                 "constant time, never with ==")

    # --- handshake.verified --------------------------------------------------------------

    @rule("handshake.verified")
    def test_handshake(self) -> None:
        fx = self._fx()
        if not self.handshake_query:
            fail("handshake.verified", "declare handshake_query = {...}: the query of a valid GET handshake")
        query = dict(self.handshake_query)
        adapter = fx.adapter()

        def get(q: dict[str, str]) -> WebhookRequest:
            url = fx.url + ("?" + urlencode(q) if q else "")
            return WebhookRequest(method="GET", url=url, headers={}, query=q, received_at="2030-01-02T03:04:05Z")

        try:
            reply = adapter.handshake(get(query))
        except Exception as exc:
            fail("handshake.verified", f"a valid handshake raised {type(exc).__name__}: {exc}")
            return
        if not (isinstance(reply, WebhookReply) and 200 <= reply.status < 300):
            fail("handshake.verified", f"a valid handshake answered {reply!r}, not a 2xx WebhookReply")
        problems: list[str] = []
        for label, q in (("an empty query", {}),):
            try:
                got = adapter.handshake(get(q))
            except (SignatureError, PayloadError):
                continue
            except Exception as exc:
                problems.append(f"{label}: raised {type(exc).__name__} (SignatureError or PayloadError expected)")
                continue
            problems.append(f"{label}: answered {got!r}")
        secrets = set(secret_values(fx.settings()))
        for key in [k for k, v in query.items() if v in secrets]:
            wrong = dict(query, **{key: query[key][::-1] + "x"})
            with compare_digest_spy(package_of(fx.adapter_cls)) as spy:
                try:
                    got = adapter.handshake(get(wrong))
                except SignatureError:
                    got = None
                except Exception as exc:
                    problems.append(f"a wrong {key}: raised {type(exc).__name__} instead of SignatureError")
                    continue
            if got is not None:
                problems.append(f"a wrong {key}: answered {got!r} instead of raising SignatureError")
            elif spy.calls == 0:
                problems.append(f"a wrong {key} was refused without hmac.compare_digest (not constant time)")
        if problems:
            fail("handshake.verified", "the GET handshake must refuse bad requests:" + listing(problems))

