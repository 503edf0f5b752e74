"""What the connector suites share: the mocked platform API, request inspection, and
:class:`ConnectorSuite`, the base of :class:`~omnisdk.testkit.CCaaSConnectorSuite` and
:class:`~omnisdk.testkit.CTIConnectorSuite`.

A connector receives webhooks like a channel adapter, so :class:`ConnectorSuite` reuses the
channel suite's recording, signature, provider-vector and published-scheme, redelivery and
parse tests (same rule ids, the same test code) on a
:class:`~omnisdk.testkit.channel.fixture.ChannelFixture` built from ``connector``, and adds a
secrets test that also exercises the connector's API calls.

**The mocked platform** (:class:`MockPlatform`): respx answers the OAuth2 token endpoint
(:data:`TOKEN_URL`, tokens ``testkit-access-token-0001``, ``…0002`` … valid 3600 s) and every
request under :data:`API_BASE` (from a script of :class:`~omnisdk.testkit.checks.provider_api.Reply`,
else the connector's ``sandbox_reply(n)``); anything else is answered 404 and reported.
:meth:`MockPlatform.watch` wraps a CCaaS connector's ``api()`` so each request is attributed
to the call (and its ``op`` labels) that made it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

import httpx
import orjson
import respx

from omnisdk.adapters import ChannelAdapter
from omnisdk.testkit import fuzz
from omnisdk.testkit.base_suite import ContractSuite, describe_subject, fail, subject_problems
from omnisdk.testkit.channel.delivery import ParseChecks, RedeliveryChecks
from omnisdk.testkit.channel.fixture import ChannelFixture
from omnisdk.testkit.channel.forgeries import ForgeryChecks
from omnisdk.testkit.channel.purity import PurityChecks
from omnisdk.testkit.channel.recordings import RecordingChecks
from omnisdk.testkit.channel.signatures import SignatureChecks
from omnisdk.testkit.channel.vectors import VectorChecks
from omnisdk.testkit.checks.leaks import leaks, secret_values, with_other_secrets
from omnisdk.testkit.checks.provider_api import API_BASE, Reply, provider_clock
from omnisdk.testkit.checks.signatures import malformed_values
from omnisdk.testkit.rules import rule

TOKEN_URL = "https://login.testkit.invalid/oauth/token"
TOKEN_PREFIX = "testkit-access-token-"
TOKEN_LIFETIME = 3600


def token_reply(n: int) -> dict[str, Any]:
    """The kit's token endpoint's n-th answer (RFC 6749 §5.1)."""
    return {"access_token": f"{TOKEN_PREFIX}{n:04d}", "token_type": "bearer", "expires_in": TOKEN_LIFETIME}


@dataclass
class LabelledCall:
    """One ``api()`` call of a CCaaS connector: its labels and the requests it made."""

    ops: tuple[str, ...]
    method: str
    path: str
    requests: list[httpx.Request] = field(default_factory=list)


class MockPlatform:
    """``with MockPlatform(reply) as mp:`` respx-mocked token endpoint and API on a fake clock
    (see the module docstring).  ``script``: the API's answers in order (the last repeats);
    ``token_script``: the token endpoint's."""

    def __init__(self, reply: Callable[[int], Any], script: Sequence[Reply] = (),
                 token_script: Sequence[Reply] = (), *, api_base: str = API_BASE, token_url: str = TOKEN_URL) -> None:
        self.reply, self.script, self.token_script = reply, list(script), list(token_script)
        self.api_base, self.token_url = api_base, token_url
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.other_requests: list[httpx.Request] = []
        self.calls: list[LabelledCall] = []
        self.waits: list[float] = []
        self._stack: list[Any] = []

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        n = len(self.token_requests)
        if self.token_script:
            return self.token_script[min(n, len(self.token_script)) - 1].build(request)
        return httpx.Response(200, json=token_reply(n))

    def _api(self, request: httpx.Request) -> httpx.Response:
        self.api_requests.append(request)
        n = len(self.api_requests)
        if self.script:
            return self.script[min(n, len(self.script)) - 1].build(request)
        return httpx.Response(200, json=self.reply(n))

    def _other(self, request: httpx.Request) -> httpx.Response:
        self.other_requests.append(request)
        return httpx.Response(404, json={"error": "testkit: outside the mocked API root"})

    def __enter__(self) -> MockPlatform:
        router = respx.mock(assert_all_called=False)
        router.__enter__()
        self._stack.append(router)
        router.route(method="POST", url=self.token_url).mock(side_effect=self._token)
        router.route(url__startswith=self.api_base).mock(side_effect=self._api)
        router.route().mock(side_effect=self._other)
        clock = provider_clock(self.waits, httpx.MockTransport(router.handler))
        clock.__enter__()
        self._stack.append(clock)
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._stack:
            self._stack.pop().__exit__(None, None, None)

    @property
    def requests(self) -> list[httpx.Request]:
        """Every request made, token endpoint included."""
        return [*self.token_requests, *self.api_requests, *self.other_requests]

    def watch(self, connector: Any) -> None:
        """Attribute each API request to the ``api()`` call that made it (see :class:`LabelledCall`)."""
        original = connector.api

        async def api(method: str, path: str, *, op: Any, **kwargs: Any) -> httpx.Response:
            call = LabelledCall(tuple(op) if isinstance(op, (tuple, list)) else (str(op),), method, path)
            self.calls.append(call)
            start = len(self.api_requests)
            try:
                return await original(method, path, op=op, **kwargs)
            finally:
                call.requests = self.api_requests[start:]

        connector.api = api

    def labelled(self, op: str) -> list[LabelledCall]:
        """The calls carrying label ``op``."""
        return [c for c in self.calls if op in c.ops]

    def unlabelled(self) -> list[httpx.Request]:
        """API requests no ``api()`` call made (the connector went around it)."""
        made = {id(r) for c in self.calls for r in c.requests}
        return [r for r in self.api_requests if id(r) not in made]


# --- requests ---------------------------------------------------------------------------------

_MISSING = object()


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _leaves(v)
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v)
    else:
        yield node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _with_url_queries(values: list[str]) -> list[str]:
    """``values``, plus the query values of those that are absolute URLs: a callback URL the
    request hands the platform carries values too (Twilio's ``Url`` of a call names its agent)."""
    out = list(values)
    for value in values:
        if value.startswith(("https://", "http://")) and "?" in value:
            out += [v for _, v in parse_qsl(value.partition("?")[2], keep_blank_values=True)]
    return out


def request_values(request: httpx.Request) -> list[str]:
    """Every value a request carries: path segments, query values, and the body's JSON leaves
    (or form values, or the raw text), and the query values of the URLs among them."""
    out = [unquote(seg) for seg in request.url.path.split("/") if seg]
    out += [v for _, v in request.url.params.multi_items()]
    body = request.content
    if body:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = _MISSING
        if doc is not _MISSING:
            out += [_text(v) for v in _leaves(doc)]
        else:
            text = body.decode("utf-8", "replace")
            pairs = parse_qsl(text, keep_blank_values=True)
            out += [v for _, v in pairs] if pairs else [text]
    return _with_url_queries(out)


def carries(requests: Sequence[httpx.Request], value: str) -> bool:
    """True when one of ``requests`` carries ``value`` exactly (see :func:`request_values`)."""
    return any(value in request_values(r) for r in requests)


def bearer(request: httpx.Request) -> str | None:
    """The kit token a request carries in a header, if any."""
    for v in request.headers.values():
        found = re.search(re.escape(TOKEN_PREFIX) + r"\d{4}", v)
        if found:
            return found.group(0)
    return None


def describe(requests: Sequence[httpx.Request]) -> str:
    """``POST /path, GET /other`` (at most five)."""
    shown = ", ".join(f"{r.method} {r.url.path}" for r in requests[:5])
    return shown + (f" … ({len(requests)} in all)" if len(requests) > 5 else "") if requests else "none"


async def outcome(awaitable: Awaitable[Any]) -> tuple[Any, BaseException | None]:
    """``(result, None)`` or ``(None, exception)``."""
    try:
        return await awaitable, None
    except Exception as exc:  # judged by the caller
        return None, exc


# --- the base suite ---------------------------------------------------------------------------

_FIXTURES: dict[type, ChannelFixture] = {}


class ConnectorSuite(RecordingChecks, SignatureChecks, VectorChecks, ForgeryChecks, RedeliveryChecks,
                     ParseChecks, PurityChecks, ContractSuite):
    """Base of the connector suites (not used directly).

    Class attributes (only ``connector`` is required):
        connector: the connector class under test.
        account_settings: the account's settings as a dict; default
            ``connector.example_settings()``.
        account: the account name (default ``"acme"``).
        recordings_dir, expected_dir, webhook_url: as for :class:`ChannelAdapterSuite`.
        api_base_url: where the kit's mocked platform API lives (set as the ``api_base_url``
            setting of the connectors it calls); default :data:`API_BASE`.
        capabilities, tier, fuzz_examples, handshake_query, skip_rules, signing_secrets,
            times_from_payload, redeliveries: as for channels.
        provider_vectors, signature_scheme: as for channels (rules
            ``signature.provider_vectors`` and ``signature.published_scheme``, the channel
            suite's own tests, :mod:`omnisdk.testkit.channel.vectors`): requests the platform
            signed, shipped with provenance in ``<recordings_dir>/vectors/``, and the published
            scheme the platform signs with, if the kit has a signer for it.
    """

    _omnisdk_kit_class: ClassVar[bool] = True
    connector_base: ClassVar[type[ChannelAdapter]] = ChannelAdapter

    connector: ClassVar[type[ChannelAdapter] | None] = None
    account_settings: ClassVar[Mapping[str, Any] | None] = None
    account: ClassVar[str] = "acme"
    recordings_dir: ClassVar[Path | str | None] = None
    expected_dir: ClassVar[Path | str | None] = None
    webhook_url: ClassVar[str | None] = None
    api_base_url: ClassVar[str] = API_BASE
    capabilities: ClassVar[Collection[str]] = frozenset({"inbound"})
    tier: ClassVar[str] = "bronze"
    status_order: ClassVar[Sequence[str] | None] = None
    handshake_query: ClassVar[Mapping[str, str] | None] = None
    fuzz_examples: ClassVar[int] = 50
    signing_secrets: ClassVar[Collection[str] | None] = None
    times_from_payload: ClassVar[bool] = True
    redeliveries: ClassVar[Mapping[str, str]] = {}
    provider_vectors: ClassVar[Path | str | None] = None
    signature_scheme: ClassVar[str | None] = None

    @classmethod
    def fixture(cls) -> ChannelFixture:
        """The suite's :class:`ChannelFixture` over ``connector`` (built once per class)."""
        fx = _FIXTURES.get(cls)
        if fx is None:
            assert cls.connector is not None, f"{cls.__name__} needs `connector`"
            fx = ChannelFixture.build(cls.connector, settings=cls.account_settings, account=cls.account,
                                      recordings_dir=cls.recordings_dir, expected_dir=cls.expected_dir,
                                      webhook_url=cls.webhook_url)
            _FIXTURES[cls] = fx
        return fx

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """:meth:`ContractSuite.declaration_problems`, plus: ``connector`` is a subclass of the
        suite's connector base; ``fuzz_examples`` is a positive int."""
        return subject_problems(cls.connector, cls.connector_base, "connector", cls.fuzz_examples) \
            + super().declaration_problems()

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The suite's report header, with the connector's name and channel."""
        return describe_subject(super().describe(), cls.connector)

    @classmethod
    def parametrize(cls, metafunc: Any) -> None:
        """One ``test_recording`` per recorded payload (ids are the recording names)."""
        if "recording" in metafunc.fixturenames:
            recs = cls.fixture().recordings
            metafunc.parametrize("recording", recs or [None], ids=[r.name for r in recs] or ["no-recordings"])

    # --- helpers for the kinds' checks -------------------------------------------------------

    def platform_settings(self) -> dict[str, Any]:
        """Settings changes that point a connector at the kit's mocked platform."""
        return {"api_base_url": self.api_base_url}

    def make_connector(self, **changes: Any) -> Any:
        """A fresh connector pointed at the mocked platform (``changes`` applied last)."""
        return self._fx().adapter(**{**self.platform_settings(), **changes})

    def platform(self, script: Sequence[Reply] = (), token_script: Sequence[Reply] = ()) -> MockPlatform:
        """A :class:`MockPlatform` answering with the connector's ``sandbox_reply``."""
        fx = self._fx()
        return MockPlatform(fx.adapter_cls.sandbox_reply, script, token_script, api_base=self.api_base_url)

    def api_exercises(self) -> list[tuple[str, Sequence[Reply], Sequence[Reply], Callable[[Any], Awaitable[Any]]]]:
        """``(label, API script, token script, call)`` runs whose errors and logs the secrets
        test searches (each kind of suite lists its own)."""
        return []

    def extra_secrets(self) -> list[str]:
        """Secret values beyond the settings' SecretStr fields (tokens, encoded credentials)."""
        return []

    # --- secrets.redacted ------------------------------------------------------------------

    @rule("secrets.redacted")
    def test_secrets_never_leak(self, caplog: Any) -> None:
        fx = self._fx()
        caplog.set_level(logging.DEBUG)
        settings = fx.settings()
        secrets = [*secret_values(settings), *self.extra_secrets()]
        if not secrets:
            return
        adapter = fx.adapter()
        texts: list[tuple[str, str]] = [
            ("repr(connector)", repr(adapter)), ("str(connector)", str(adapter)),
            ("repr(settings)", repr(settings)), ("str(settings)", str(settings)),
            ("settings.model_dump_json()", settings.model_dump_json()),
        ]

        def record(where: str, exc: BaseException) -> None:
            texts.extend([(f"str({where})", str(exc)), (f"repr({where})", repr(exc))])

        if fx.recordings:
            rec = fx.recordings[0]
            requests = [("a valid request", fx.request(rec, signed_by=adapter)), ("no signature", fx.request(rec))]
            try:
                requests.append(("a forged request",
                                 fx.request(rec, signed_by=fx.adapter_cls(fx.account, with_other_secrets(settings)))))
            except Exception:
                pass
            for name, value in fx.sign(adapter, rec.body, rec.content_type).items():
                requests.append((f"a malformed {name}",
                                 fx.request(rec, signed_by=adapter, headers={name: malformed_values(value)[2]})))
            for where, request in requests:
                try:
                    adapter.verify(request)
                except Exception as exc:
                    record(f"error of verify() with {where}", exc)
            for body in (*fuzz.HAND_PICKED[:12], rec.body[: len(rec.body) // 2]):
                try:
                    adapter.parse(fx.request(rec, body=body))
                except Exception as exc:  # PayloadError, or a contract breach: both are searched
                    record("error of parse()", exc)

        async def exercise() -> None:
            for label, script, token_script, call in self.api_exercises():
                with self.platform(script, token_script):
                    connector = self.make_connector()
                    try:
                        _, error = await outcome(call(connector))
                        if error is not None:
                            record(f"error of {label}", error)
                    finally:
                        await connector.aclose()

        asyncio.run(exercise())
        texts.append(("the log", caplog.text))
        found = leaks(secrets, texts)
        if found:
            fail("secrets.redacted", "the value of a secret setting appears in: " + ", ".join(dict.fromkeys(found)))


def basic_credentials(client_id: str, secret: str) -> str:
    """The HTTP Basic credentials string of an OAuth2 client (RFC 6749 §2.3.1)."""
    return base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
