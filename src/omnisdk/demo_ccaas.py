"""The demo's CCaaS-routed email: for each installed CCaaS connector whose recordings hold one
routed email conversation (:data:`NEEDED`: the ``ccaas_genesys`` plugin's), a customer's email
opens an interaction in a queue the connector routes, and

1. **route**: the connector creates the conversation on the mapped queue (the stand-in CCaaS
   API records the call), and the platform's recorded webhooks (signed as it signs them, with
   the demo interaction's id) offer it to an agent and start the work;
2. **transfer**: the agent transfers it to a mapped colleague (the CCaaS moves it and frees the
   agent), who accepts;
3. **park**: the colleague puts it on hold (the CCaaS parks its interaction); the customer
   replies: it is back in work with its owner and the CCaaS unparks it;
4. **wrap-up sync**: the agent closes it with a wrap-up code: the CCaaS gets the mapped code and
   the conversation is disconnected (routing control returns to it); the platform's own
   wrap-up webhook that follows changes nothing (``routing.ignored``).

It runs on its own runtime and SQLite file (``ccaas.db`` in the demo folder) against a
loopback stand-in of the CCaaS API (OAuth token endpoint included), so the main demo's counts
are untouched.  :mod:`omnisdk.demo` prints the steps."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from omnisdk import events as ev
from omnisdk.adapters import ChannelAdapter
from omnisdk.config import Settings
from omnisdk.connectors import CCaaSConnector
from omnisdk.demo_mail import Outcome
from omnisdk.gateway import create_app
from omnisdk.model import conversation_key
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime

NEEDED = ("email_1_user_start", "email_2_acd_end", "email_4_wrapup")
"""The recordings the story plays (the ``ccaas_genesys`` plugin ships them): the platform's
agent-alerting, connected and wrap-up webhooks of one email conversation."""
ACCOUNT = "demo"
CUSTOMER, BUSINESS = "ana.lopez@example.net", "support@example.com"
JSON = "application/json"


def has_story(cls: type[ChannelAdapter], names: set[str]) -> bool:
    """Whether ``cls`` is a CCaaS connector whose recordings hold the story's conversation."""
    return issubclass(cls, CCaaSConnector) and all(n in names for n in NEEDED)


class StandInCCaaS:
    """A loopback CCaaS API: ``POST /oauth/token`` answers a token; any other request is
    recorded (method, path, JSON body) and answered with the connector's ``sandbox_reply``."""

    def __init__(self, cls: type[ChannelAdapter]) -> None:
        self.cls = cls
        self.calls: list[tuple[str, str, Any]] = []
        self._n = itertools.count(1)

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            return Response(orjson.dumps({"access_token": f"demo-token-{next(self._n)}", "token_type": "bearer",
                                          "expires_in": 3600}), 200, media_type=JSON)

        async def api(request: Request) -> Response:
            raw = await request.body()
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                doc = None
            self.calls.append((request.method, request.url.path, doc))
            return Response(orjson.dumps(self.cls.sandbox_reply(next(self._n))), 200, media_type=JSON)

        return Starlette(routes=[Route("/oauth/token", token, methods=["POST"]),
                                 Route("/{rest:path}", api, methods=["GET", "POST", "PATCH", "DELETE"])])

    def since(self, mark: int) -> list[tuple[str, str, Any]]:
        return self.calls[mark:]


def _describe(calls: list[tuple[str, str, Any]]) -> str:
    return "; ".join(f"{m} {p.rsplit('/', 2)[-2] + '/' + p.rsplit('/', 1)[-1] if p.count('/') > 4 else p}"
                     f"{' ' + orjson.dumps(b).decode() if b and m != 'GET' else ''}" for m, p, b in calls) or "nothing"


def _state_sent(calls: list[tuple[str, str, Any]], state: str) -> str:
    """``state`` when one of ``calls`` set the participant state to it, else what was sent."""
    return state if any(isinstance(b, dict) and b.get("state") == state for _, _, b in calls) else _describe(calls)


async def ccaas_story(name: str, cls: type[ChannelAdapter], recs: Mapping[str, bytes], workdir: Path,
                      stand_in_url: str, stand_in: StandInCCaaS) -> list[Outcome]:
    """Play the story (see the module docstring) for connector ``name``; one :class:`Outcome`
    per step.  ``stand_in_url`` is where ``stand_in.app()`` is served."""
    steps: list[Outcome] = []
    example = cls.example_settings()
    queue_map: dict[str, str] = dict(example["queue_map"])
    agent_map: dict[str, str] = dict(example["agent_map"])
    code_map: dict[str, str] = dict(example["wrap_up_map"])
    queue = next(iter(queue_map))
    first, colleague = list(agent_map)[:2]
    code = next(iter(code_map))
    account = {**example, "api_base_url": stand_in_url, "token_url": f"{stand_in_url}/oauth/token"}
    settings = Settings(
        store={"url": f"sqlite:///{workdir / 'ccaas.db'}"},
        gateway={"public_url": "http://demo.invalid"},
        routing={"queues": [{"name": queue, "routing_source": "external", "connector": name}],
                 "agents": [{"id": a, "capacity": {"email": 2}} for a in (first, colleague)]},
        accounts={name: {ACCOUNT: account}},
    )
    host = PluginHost()
    host.load_entrypoints()
    runtime = Runtime(settings, host=host)
    adapter = runtime.adapter(name, ACCOUNT)
    assert isinstance(adapter, CCaaSConnector)
    await runtime.store.open()
    await runtime.processor.restore()
    app = create_app(runtime, manage_runtime=False)
    url = f"/webhooks/{name}/{ACCOUNT}"
    source = "/demo-mail/demo"
    key = conversation_key(source, "email", BUSINESS, CUSTOMER)

    async def settle() -> None:
        await runtime.processor.drain()
        for _ in range(3):  # the connector calls are outbox rows: send them (and what they cause)
            while await runtime.outbox.run_once():
                pass
            await runtime.processor.drain()
            await asyncio.sleep(0)

    async def mail(n: int, text: str) -> None:
        await runtime.store.append_inbox([ev.Event(
            id=f"<demo-ccaas-{n}@example.net>", source=source, type=ev.TYPE_MESSAGE_RECEIVED,
            time=f"2026-12-03T09:5{n}:00Z", partitionkey=key,
            data={"message_id": f"<demo-ccaas-{n}@example.net>", "channel": "email", "customer": CUSTOMER,
                  "business": BUSINESS, "kind": "text", "text": text, "subject": "Invoice 4471 charged twice"})],
            f"2026-12-03T09:5{n}:00Z")
        await settle()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo.invalid") as client:

        async def webhook(rec: str, iid: str) -> int:
            body = recs[rec]
            placeholder = orjson.loads(body)["attributes"]["omnisdk_interaction_id"]
            body = body.replace(placeholder.encode(), iid.encode())
            resp = await client.post(url, content=body, headers={"content-type": JSON, **adapter.sign(url, body, JSON)})
            await settle()
            return resp.status_code

        async def state(iid: str) -> Any:
            return (await runtime.interaction(iid))[0]

        try:
            mark = len(stand_in.calls)
            await mail(1, "I was charged twice for invoice 4471.")
            inters = await runtime.interactions(active_only=True)
            if len(inters) != 1:
                return [Outcome("the email opens one externally routed interaction", "1", str(len(inters)))]
            iid = inters[0].id
            routed = stand_in.since(mark)
            steps.append(Outcome(f"route: {name} creates the conversation on queue {queue!r} ({queue_map[queue][:8]}…)",
                                 "1 call, mapped queue, our id", f"{len(routed)} call, "
                                 f"{'mapped queue' if queue_map[queue] in orjson.dumps(routed).decode() else 'no queue'}, "
                                 f"{'our id' if iid in orjson.dumps(routed).decode() else 'no id'}"))
            status = await webhook(NEEDED[0], iid)
            inter = await state(iid)
            steps.append(Outcome(f"{name} alerts {first} (its webhook)", f"200 offered {first}",
                                 f"{status} {inter.state.value} {inter.agent}"))
            status = await webhook(NEEDED[1], iid)
            inter = await state(iid)
            steps.append(Outcome(f"{first} connects in {name}", "work_in_progress", inter.state.value))

            mark = len(stand_in.calls)
            inter = await runtime.transfer(iid, to_agent=colleague, agent=first)
            await settle()
            moved = stand_in.since(mark)
            steps.append(Outcome(f"transfer to {colleague}: {name} replaces {first} with {agent_map[colleague][:8]}…",
                                 f"offered {colleague}, their id sent", f"{inter.state.value} {inter.agent}, "
                                 f"{'their id sent' if agent_map[colleague] in orjson.dumps(moved).decode() else _describe(moved)}"))
            inter = await runtime.accept(iid, colleague)
            mark = len(stand_in.calls)
            inter = await runtime.hold(iid, colleague)
            await settle()
            parked = [c for c in stand_in.since(mark) if c[0] == "PATCH"]
            steps.append(Outcome(f"{colleague} puts it on hold: {name} parks it", "on_hold, parked",
                                 f"{inter.state.value}, {_state_sent(parked, 'parked')}"))
            mark = len(stand_in.calls)
            await mail(2, "Any news about the refund?")
            inter = await state(iid)
            unparked = [c for c in stand_in.since(mark) if c[0] == "PATCH"]
            steps.append(Outcome(f"the customer replies: back with {colleague}, unparked", "work_in_progress, connected",
                                 f"{inter.state.value}, {_state_sent(unparked, 'connected')}"))

            mark = len(stand_in.calls)
            inter = await runtime.close_interaction(iid, code, agent=colleague)
            await settle()
            closing = [c for c in stand_in.since(mark) if c[0] == "PATCH"]
            sent = orjson.dumps(closing).decode()
            steps.append(Outcome(f"close with {code!r}: the mapped code, then disconnect (routing back to {name})",
                                 "closed, code sent, disconnected",
                                 f"{inter.state.value}, {'code sent' if code_map[code] in sent else 'no code'}, "
                                 f"{'disconnected' if 'disconnected' in sent else 'connected'}"))
            status = await webhook(NEEDED[2], iid)
            ignored = await runtime.store.transact(lambda tx: tx.counters().get("routing.ignored", 0))
            inter = await state(iid)
            steps.append(Outcome(f"{name}'s own wrap-up webhook follows: nothing changes", f"200 closed {code}, 1 ignored",
                                 f"{status} {inter.state.value} {inter.wrap_up_code}, {ignored} ignored"))
        finally:
            await adapter.aclose()
            await runtime.store.close()
    return steps
