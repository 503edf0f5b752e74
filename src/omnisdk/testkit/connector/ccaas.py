"""``CCaaSConnectorSuite``: the kit's suite for CCaaS connectors
(:class:`omnisdk.connectors.CCaaSConnector`).

A plugin's test module subclasses it and sets class attributes::

    from omnisdk.testkit import CCaaSConnectorSuite
    from omnisdk_acme_cc import AcmeConnector

    class TestAcme(CCaaSConnectorSuite):
        connector = AcmeConnector
        tier = "silver"

Besides the webhook rules it shares with channels (signatures, parse errors, redelivery,
secrets, recordings), it checks the routing contract against a respx-mocked platform
(:class:`~omnisdk.testkit.connector.checks.MockPlatform`): the token refresh on 401, mapped
transfers and wrap-up codes, the capacity release on transfer, and, in a real runtime, routing
through the outbox (durable connector calls), the recorded ``assigned``/``accepted``/``ended`` webhooks, and
``disconnect()``.  The kit's interaction is in the first queue of ``queue_map``, held by the
first agent of ``agent_map``, with the CCaaS conversation id :data:`KIT_EXTERNAL_ID`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from omnisdk.connectors import CCaaSConnector, CCaaSSettings, MappingError
from omnisdk.events import (
    TYPE_MESSAGE_RECEIVED,
    TYPE_ROUTING_ACCEPTED,
    TYPE_ROUTING_ASSIGNED,
    TYPE_ROUTING_ENDED,
    Event,
)
from omnisdk.model import Channel, Direction, Interaction, RoutingSource, conversation_key
from omnisdk.model import InteractionState as S
from omnisdk.outbound.errors import APIStatusError
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import listing
from omnisdk.testkit.checks.provider_api import Reply, describe_error
from omnisdk.testkit.connector.checks import (
    TOKEN_URL,
    ConnectorSuite,
    MockPlatform,
    basic_credentials,
    bearer,
    carries,
    describe,
    outcome,
    token_reply,
)
from omnisdk.testkit.connector.rules import CCAAS_CAPABILITIES, CCAAS_RULES
from omnisdk.testkit.rules import RuleBook, rule
from omnisdk.testkit.runtime import KitRuntime

KIT_INTERACTION_ID = "0190aa55c0ffee0000000000000ca5e1"
KIT_EXTERNAL_ID = "testkit-conversation-0001"
KIT_CUSTOMER = "+15550100002"
UNMAPPED_QUEUE = "testkit-unmapped-queue"
UNMAPPED_AGENT = "testkit-unmapped-agent"
UNMAPPED_CODE = "testkit unmapped code"
ROUTING_TYPES = (TYPE_ROUTING_ASSIGNED, TYPE_ROUTING_ACCEPTED, TYPE_ROUTING_ENDED)
_401 = Reply(401, json={"error": "invalid_token"})


class CCaaSConnectorSuite(ConnectorSuite):
    """The standard tests of a CCaaS connector.

    Class attributes: those of :class:`~omnisdk.testkit.connector.checks.ConnectorSuite`
    (``connector`` is required), plus ``token_url``: where the kit's mocked OAuth2 token
    endpoint lives (set as the ``token_url`` setting), default :data:`TOKEN_URL`.
    Capabilities: ``inbound`` (default), ``handshake``.
    """

    _omnisdk_kit_class: ClassVar[bool] = True
    suite_kind: ClassVar[str] = "ccaas"
    rulebook: ClassVar[RuleBook] = CCAAS_RULES
    known_capabilities: ClassVar[frozenset[str]] = CCAAS_CAPABILITIES
    connector_base: ClassVar[type] = CCaaSConnector

    token_url: ClassVar[str] = TOKEN_URL

    # --- helpers -------------------------------------------------------------------------

    def platform_settings(self) -> dict[str, Any]:
        return {"api_base_url": self.api_base_url, "token_url": self.token_url}

    def platform(self, script: Sequence[Reply] = (), token_script: Sequence[Reply] = ()) -> MockPlatform:
        fx = self._fx()
        return MockPlatform(fx.adapter_cls.sandbox_reply, script, token_script,
                            api_base=self.api_base_url, token_url=self.token_url)

    def _settings(self, rule_id: str) -> CCaaSSettings:
        try:
            settings = self._fx().settings()
        except Exception as exc:
            fail(rule_id, f"the account settings do not validate: {type(exc).__name__}")
            raise
        if not isinstance(settings, CCaaSSettings):
            fail(rule_id, "the connector's Settings must subclass omnisdk.connectors.CCaaSSettings")
        for table in ("queue_map", "agent_map", "wrap_up_map"):
            if not getattr(settings, table):
                fail(rule_id, f"the kit's settings map no entry in {table}: add one to example_settings() "
                     "(or the suite's account_settings)")
        return settings

    def interaction(self, rule_id: str, state: S = S.WORK_IN_PROGRESS) -> Interaction:
        """The kit's interaction: in the first mapped queue, held by the first mapped agent."""
        settings = self._settings(rule_id)
        now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        return Interaction(
            id=KIT_INTERACTION_ID, channel=Channel.CHAT, direction=Direction.INBOUND, state=state,
            conversation_key=conversation_key("/testkit-chat/acme", "chat", "testkit-business", KIT_CUSTOMER), source="/testkit-chat/acme",
            customer=KIT_CUSTOMER, business="testkit-business", queue=next(iter(settings.queue_map)),
            agent=next(iter(settings.agent_map)), routing_source=RoutingSource.EXTERNAL,
            context={"external_id": KIT_EXTERNAL_ID}, created_at=now, updated_at=now,
        )

    def _run(self, script: Sequence[Reply], call: Callable[[Any], Awaitable[Any]],
             token_script: Sequence[Reply] = (), prepare: Callable[[Any, MockPlatform], None] | None = None,
             ) -> tuple[MockPlatform, Any, BaseException | None]:
        """Run ``call(connector)`` on a fresh connector against the mocked platform."""

        async def go() -> tuple[MockPlatform, Any, BaseException | None]:
            with self.platform(script, token_script) as mp:
                connector = self.make_connector()
                mp.watch(connector)
                if prepare is not None:
                    prepare(connector, mp)
                try:
                    result, error = await outcome(call(connector))
                finally:
                    await connector.aclose()
            return mp, result, error

        return asyncio.run(go())

    def api_exercises(self) -> list[tuple[str, Sequence[Reply], Sequence[Reply], Callable[[Any], Awaitable[Any]]]]:
        inter = self.interaction("secrets.redacted")

        def route(c: Any) -> Awaitable[Any]:
            return c.route(inter, inter.queue)

        return [
            ("route() with the token endpoint refusing the client", (), [Reply(401, json={"error": "invalid_client"})], route),
            ("route() answered 401 twice", [_401], (), route),
            ("route() answered 500", [Reply(500, text="<html>oops</html>")], (), route),
            ("route()", (), (), route),
        ]

    def extra_secrets(self) -> list[str]:
        settings = self._fx().settings()
        out = [token_reply(n)["access_token"] for n in (1, 2, 3)]
        if isinstance(settings, CCaaSSettings):
            out.append(basic_credentials(settings.client_id, settings.client_secret.get_secret_value()))
        return out

    # --- ccaas.declaration -----------------------------------------------------------------

    def _routing_recordings(self, rule_id: str) -> dict[str, tuple[Recording, Event]]:
        """The first recording (and its event) of each routing type."""
        found: dict[str, tuple[Recording, Event]] = {}
        for rec in self._recordings(rule_id):
            for event in self._safe_parse(rec):
                if event.type in ROUTING_TYPES and event.type not in found:
                    found[event.type] = (rec, event)
        missing = [t for t in ROUTING_TYPES if t not in found]
        if missing:
            fail(rule_id, f"no recording parses to {', '.join(missing)}: record one webhook of each of "
                 "routing.assigned, accepted and ended")
        return found

    @rule("ccaas.declaration")
    def test_ccaas_declaration(self) -> None:
        self._settings("ccaas.declaration")
        problems = []
        for kind, (rec, event) in self._routing_recordings("ccaas.declaration").items():
            iid = str((event.data or {}).get("interaction_id"))
            if iid.encode() not in rec.body:
                problems.append(f"{rec.name}: the interaction id {iid!r} of its {kind} event is not in the body: "
                                "webhooks must carry our interaction id (route() hands it to the CCaaS)")
        if problems:
            fail("ccaas.declaration", "the routing recordings are not usable:" + listing(problems))

    # --- ccaas.token_refresh / token_cached --------------------------------------------------

    @rule("ccaas.token_refresh")
    def test_token_refreshed_once_on_401(self) -> None:
        inter = self.interaction("ccaas.token_refresh")

        def route(c: Any) -> Awaitable[Any]:
            return c.route(inter, inter.queue)

        mp, _, error = self._run([_401, Reply(200, json=self._fx().adapter_cls.sandbox_reply(1))], route)
        api, tokens = mp.api_requests, mp.token_requests
        if not api:
            fail("ccaas.token_refresh", f"route() made no API request (it ended with {describe_error(error)})")
        if len(tokens) < 2:
            fail("ccaas.token_refresh", f"a 401 was not followed by a new token (token endpoint hit {len(tokens)} "
                 f"time(s); route() ended with {describe_error(error)}): call the API through "
                 "CCaaSConnector.api(), which refreshes the token once and retries once")
        if len(api) < 2 or (api[1].method, api[1].url.path) != (api[0].method, api[0].url.path):
            fail("ccaas.token_refresh", f"the call answered 401 was not retried after the new token "
                 f"(API requests: {describe(api)})")
        if bearer(api[0]) == bearer(api[1]) or bearer(api[1]) != token_reply(len(tokens))["access_token"]:
            fail("ccaas.token_refresh", f"the retry carried token {bearer(api[1])!r}, not the new one "
                 f"{token_reply(len(tokens))['access_token']!r}")
        if error is not None:
            fail("ccaas.token_refresh", f"after the refresh the call succeeded, but route() raised {describe_error(error)}")
        mp, _, error = self._run([_401], route)
        if len(mp.token_requests) != 2 or len(mp.api_requests) != 2:
            fail("ccaas.token_refresh", f"with every answer 401, route() fetched {len(mp.token_requests)} token(s) "
                 f"and made {len(mp.api_requests)} API request(s): refresh once and retry once (2 and 2), "
                 "then raise")
        if not (isinstance(error, APIStatusError) and error.status_code == 401):
            fail("ccaas.token_refresh", f"with every answer 401, route() ended with {describe_error(error)}, "
                 "not the AuthenticationError")

    @rule("ccaas.token_cached")
    def test_token_cached_until_it_expires(self) -> None:
        inter = self.interaction("ccaas.token_cached")
        now = [1000.0]
        seen: list[MockPlatform] = []
        within: list[int] = []

        def prepare(c: Any, mp: MockPlatform) -> None:
            c.clock = lambda: now[0]
            seen.append(mp)

        async def three_routes(c: Any) -> None:
            await c.route(inter, inter.queue)
            await c.route(inter, inter.queue)
            within.append(len(seen[0].token_requests))
            now[0] += 3600 + 1
            await c.route(inter, inter.queue)

        mp, _, error = self._run((), three_routes, prepare=prepare)
        if error is not None:
            fail("ccaas.token_cached", f"route() raised {describe_error(error)}")
        if within[0] != 1:
            fail("ccaas.token_cached", f"two calls within the token's lifetime fetched {within[0]} tokens, not 1: "
                 "cache the token until it expires (CCaaSConnector.access_token())")
        if len(mp.token_requests) != 2:
            fail("ccaas.token_cached", f"after the token's expires_in passed, the token endpoint was hit "
                 f"{len(mp.token_requests) - within[0]} more time(s), not once")

    # --- ccaas.transfer_mapped / capacity_released -----------------------------------------

    def _targets(self, settings: CCaaSSettings, inter: Interaction) -> list[tuple[str, dict[str, str], str]]:
        """``(label, transfer kwargs, their id)`` for a mapped queue and a mapped agent."""
        queue = list(settings.queue_map)[-1]
        agents = [a for a in settings.agent_map if a != inter.agent] or list(settings.agent_map)
        return [(f"queue {queue!r}", {"to_queue": queue}, settings.queue_map[queue]),
                (f"agent {agents[0]!r}", {"to_agent": agents[0]}, settings.agent_map[agents[0]])]

    @rule("ccaas.transfer_mapped")
    def test_transfer_only_to_mapped_targets(self) -> None:
        settings = self._settings("ccaas.transfer_mapped")
        inter = self.interaction("ccaas.transfer_mapped")
        problems = []
        for label, kwargs in ((f"the unmapped queue {UNMAPPED_QUEUE!r}", {"to_queue": UNMAPPED_QUEUE}),
                              (f"the unmapped agent {UNMAPPED_AGENT!r}", {"to_agent": UNMAPPED_AGENT})):
            mp, _, error = self._run((), lambda c, kw=kwargs: c.transfer(inter, **kw))  # type: ignore[misc]
            if not isinstance(error, MappingError):
                did = "returned" if error is None else f"raised {describe_error(error)}"
                problems.append(f"transfer to {label} {did} instead of raising MappingError")
            if mp.requests:
                problems.append(f"transfer to {label} made {len(mp.requests)} HTTP request(s) "
                                f"({describe(mp.requests)}): refuse it before any I/O")
        for label, kwargs, theirs in self._targets(settings, inter):
            mp, _, error = self._run((), lambda c, kw=kwargs: c.transfer(inter, **kw))  # type: ignore[misc]
            if error is not None:
                problems.append(f"transfer to the mapped {label} raised {describe_error(error)}")
                continue
            sent = [r for c in mp.labelled("transfer") for r in c.requests]
            if not sent:
                problems.append(f"transfer to the mapped {label} made no call labelled transfer "
                                f"(calls: {[c.ops for c in mp.calls]})")
            elif not carries(sent, theirs):
                problems.append(f"transfer to the mapped {label} did not send its CCaaS id {theirs!r} "
                                f"(requests: {describe(sent)})")
        if problems:
            fail("ccaas.transfer_mapped", "transfers must go only to mapped queues and agents:" + listing(problems))

    @rule("ccaas.capacity_released")
    def test_transfer_releases_the_agent(self) -> None:
        settings = self._settings("ccaas.capacity_released")
        inter = self.interaction("ccaas.capacity_released")
        ref = KIT_EXTERNAL_ID
        problems = []
        for label, kwargs, _theirs in self._targets(settings, inter):
            mp, _, error = self._run((), lambda c, kw=kwargs: c.transfer(inter, **kw))  # type: ignore[misc]
            if error is not None:
                problems.append(f"transfer to {label} raised {describe_error(error)}")
                continue
            released = mp.labelled("release")
            if not released:
                problems.append(f"transfer to {label} made calls labelled {[list(c.ops) for c in mp.calls]}, none "
                                "labelled release: free the transferring agent's capacity in the CCaaS "
                                "(op='release', or op=('transfer', 'release') when one call does both)")
            elif not carries([r for c in released for r in c.requests], ref):
                problems.append(f"transfer to {label}: the release call does not name the conversation {ref!r} "
                                "(conversation_ref(interaction))")
        if problems:
            fail("ccaas.capacity_released", "a transfer must release the agent in the CCaaS:" + listing(problems))

    # --- ccaas.wrap_up_mapped ------------------------------------------------------------

    @rule("ccaas.wrap_up_mapped")
    def test_wrap_up_sends_the_mapped_code(self) -> None:
        settings = self._settings("ccaas.wrap_up_mapped")
        inter = self.interaction("ccaas.wrap_up_mapped", S.WRAP_UP)
        problems = []
        for ours, theirs in settings.wrap_up_map.items():
            mp, _, error = self._run((), lambda c, code=ours: c.wrap_up(inter, code))  # type: ignore[misc]
            if error is not None:
                problems.append(f"wrap_up({ours!r}) raised {describe_error(error)}")
                continue
            sent = [r for c in mp.labelled("wrap_up") for r in c.requests]
            if not sent:
                problems.append(f"wrap_up({ours!r}) made no call labelled wrap_up")
            elif not carries(sent, theirs):
                also = f"; it sent our own code {ours!r}" if carries(sent, ours) else ""
                problems.append(f"wrap_up({ours!r}) did not send the mapped code {theirs!r}{also}")
        mp, _, error = self._run((), lambda c: c.wrap_up(inter, UNMAPPED_CODE))
        if not isinstance(error, MappingError) or mp.requests:
            did = "returned" if error is None else f"raised {describe_error(error)}"
            problems.append(f"wrap_up({UNMAPPED_CODE!r}) (not in wrap_up_map) {did} after {len(mp.requests)} "
                            "HTTP request(s): raise MappingError before any I/O")
        if problems:
            fail("ccaas.wrap_up_mapped", "wrap-up codes must be synced through wrap_up_map:" + listing(problems))

    # --- ccaas.route / ccaas.disconnect (a real runtime) ---------------------------------------

    async def _scenario(self, rule_id: str, tmp_path: Any, disconnect: bool) -> list[str]:
        fx = self._fx()
        settings = self._settings(rule_id)
        recs = self._routing_recordings(rule_id)
        queue = next(iter(settings.queue_map))
        problems: list[str] = []
        delivered: set[str] = set()
        bound: list[str] = []  # the CCaaS conversation the first event named (the core binds it)
        with self.platform() as mp:
            queues = [{"name": queue, "routing_source": "external", "connector": fx.adapter_cls.name}]
            async with KitRuntime(self.make_connector, tmp_path, fx.url, queues=queues) as rt:
                mp.watch(rt.adapter)
                await rt.inject(Event(
                    id="testkit-message-0001", source="/testkit-chat/acme", type=TYPE_MESSAGE_RECEIVED,
                    time="2030-01-02T03:04:05Z", partitionkey=conversation_key("/testkit-chat/acme", "chat", "testkit-business", KIT_CUSTOMER),
                    data={"message_id": "testkit-message-0001", "channel": "chat", "customer": KIT_CUSTOMER,
                          "business": "testkit-business", "kind": "text", "text": "I need help"}))
                inters = await rt.runtime.interactions()
                if len(inters) != 1 or inters[0].routing_source is not RoutingSource.EXTERNAL:
                    return [f"the kit's message did not open one externally routed interaction ({inters!r})"]
                iid = inters[0].id
                if rt.runtime.connectors is None:
                    return ["the runtime attached no connector bridge: is the connector a CCaaSConnector?"]
                await rt.settle_connector_calls()  # the route call is an outbox row (durable connector calls)
                routed = [r for c in mp.labelled("route") for r in c.requests]
                if not routed:
                    problems.append(f"entering queue {queue!r} made no call labelled route (calls: "
                                    f"{[list(c.ops) for c in mp.calls]}; see the log for its error)")
                else:
                    if not carries(routed, settings.queue_map[queue]):
                        problems.append(f"the route call did not send the mapped queue id {settings.queue_map[queue]!r} "
                                        f"(requests: {describe(routed)})")
                    if not carries(routed, iid):
                        problems.append(f"the route call did not send our interaction id {iid!r}: the CCaaS's "
                                        "webhooks must name it")

                async def deliver(kind: str, state: S) -> Interaction | None:
                    rec, event = recs[kind]
                    if rec.name in delivered:
                        inter = (await rt.runtime.interaction(iid))[0]
                    else:
                        delivered.add(rec.name)
                        body = rec.body.replace(str((event.data or {}).get("interaction_id")).encode(), iid.encode())
                        theirs = (event.data or {}).get("external_id")
                        if bound and isinstance(theirs, str) and theirs and theirs != bound[0]:
                            # one conversation in this scenario: a recording of another names it
                            body = body.replace(theirs.encode(), bound[0].encode())
                        elif isinstance(theirs, str) and theirs and not bound:
                            bound.append(theirs)
                        resp = await rt.deliver_body(body, rec.content_type)
                        if not 200 <= resp.status_code < 300:
                            problems.append(f"{rec.name} ({kind}) was answered {resp.status_code}: {resp.text[:120]}")
                            return None
                        inter = (await rt.runtime.interaction(iid))[0]
                    if inter.state is not state:
                        failed = await rt.runtime.store.transact(lambda tx: tx.counters().get("events.failed", 0))
                        problems.append(f"after {rec.name} ({kind}) the interaction is {inter.state.value}, not "
                                        f"{state.value} ({failed} event(s) failed: see the log)")
                        return None
                    return inter

                inter = await deliver(TYPE_ROUTING_ASSIGNED, S.OFFERED)
                if inter is not None:
                    agent = (recs[TYPE_ROUTING_ASSIGNED][1].data or {}).get("agent")
                    if inter.agent != agent:
                        problems.append(f"the assigned interaction is held by {inter.agent!r}, not {agent!r}")
                    inter = await deliver(TYPE_ROUTING_ACCEPTED, S.WORK_IN_PROGRESS)
                if not disconnect or inter is None:
                    return problems
                mp.calls.clear()
                _, error = await outcome(rt.adapter.disconnect(inter))
                ref = rt.adapter.conversation_ref(inter)
                calls = mp.labelled("disconnect")
                if error is not None:
                    problems.append(f"disconnect() raised {describe_error(error)}")
                elif not calls:
                    problems.append(f"disconnect() made no call labelled disconnect (calls: {[list(c.ops) for c in mp.calls]}): "
                                    "hand routing control back by ending the conversation in the CCaaS")
                elif not carries([r for c in calls for r in c.requests], ref):
                    problems.append(f"the disconnect call does not name the conversation {ref!r} (conversation_ref)")
                ended = recs[TYPE_ROUTING_ENDED][1]
                closed = await deliver(TYPE_ROUTING_ENDED, S.CLOSED)
                if closed is not None:
                    code = (ended.data or {}).get("wrap_up_code")
                    codes = rt.runtime.lifecycle.settings
                    want = code if code in codes.wrap_up_codes else codes.default_wrap_up_code
                    if closed.wrap_up_code != want:
                        problems.append(f"the ended interaction was closed with {closed.wrap_up_code!r}, not {want!r}")
        return problems

    @rule("ccaas.route")
    def test_routing_through_a_real_runtime(self, tmp_path: Any) -> None:
        problems = asyncio.run(self._scenario("ccaas.route", tmp_path, disconnect=False))
        if problems:
            fail("ccaas.route", "external routing through the connector does not work:" + listing(problems))

    @rule("ccaas.disconnect")
    def test_disconnect_returns_routing_control(self, tmp_path: Any) -> None:
        problems = asyncio.run(self._scenario("ccaas.disconnect", tmp_path, disconnect=True))
        if problems:
            fail("ccaas.disconnect", "routing control must return on disconnect:" + listing(problems))
