"""``omnisdk demo``: the gateway on SQLite, fed over HTTP with real recorded provider payloads.

Every installed plugin that ships recordings takes part.  The demo

1. starts a stand-in provider API on loopback (it answers sends with each plugin's
   ``sandbox_reply``), a stand-in SMTP server (aiosmtpd) for plugins whose example settings
   have an ``smtp`` server (mail), and the gateway (uvicorn) on an embedded SQLite store;
2. POSTs every recording, signed as the provider would sign it; then redelivers some, and
   sends forged, malformed, oversize and misaddressed requests;
3. lets agents work: interactions are offered, replied to and closed with wrap-up codes;
4. plays a recorded call when a CTI connector is installed (:mod:`omnisdk.demo_voice`: ring,
   answer, hold, transfer, hang-up, wrap-up timeout), and a CCaaS-routed email when a CCaaS
   connector is installed (:mod:`omnisdk.demo_ccaas`: route, transfer, park, unpark on the
   customer's reply, wrap-up sync; on its own runtime and stand-in CCaaS API);
4. plays one customer's mail thread when a mail plugin is installed (:mod:`omnisdk.demo_mail`:
   new question, reply by headers, reply by subject token, auto-reply, bounce, case update,
   ACCEPT) and checks each outcome;
5. prints what the gateway counted beside what it was sent, and exits 1 if anything differs.

With ``keep_open`` (``omnisdk demo --open``) the gateway then stays up, with the agent console
(``/console``) and, when the web chat plugin is installed, a sample portal page with the widget
(``/chat/portal/``, an account whose deliveries go to the gateway itself); it prints both URLs
and a new agent API key for ``alice``, and serves until interrupted (:mod:`omnisdk.demo_open`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from omnisdk import recordings
from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.bus.settings import BusSettings
from omnisdk.config import Settings
from omnisdk.demo_ccaas import StandInCCaaS, ccaas_story
from omnisdk.demo_ccaas import has_story as has_ccaas_story
from omnisdk.demo_mail import ACCOUNT as STORY
from omnisdk.demo_mail import NEEDED as STORY_RECORDINGS
from omnisdk.demo_mail import Outcome, mail_story
from omnisdk.demo_open import PORTAL, portal_account, stay_open
from omnisdk.demo_voice import has_story as has_voice_story
from omnisdk.demo_voice import voice_story
from omnisdk.demo_windows import window_story
from omnisdk.errors import OptedOutError, WebhookError
from omnisdk.events import now_rfc3339
from omnisdk.gateway import create_app
from omnisdk.model import InteractionState as S
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk.testkit.ports import free_port

ACCOUNT = "demo"
REDELIVER = 5
FORGE = 3


def stand_in_provider(classes: dict[str, type[ChannelAdapter]]) -> Starlette:
    """A loopback provider API: ``POST /{plugin}/...`` answers that plugin's sandbox reply."""
    counter = itertools.count(1)

    async def send(request: Request) -> Response:
        cls = classes.get(request.path_params["plugin"])
        if cls is None:
            return Response(b'{"error": "unknown"}', 404, media_type="application/json")
        return Response(orjson.dumps(cls.sandbox_reply(next(counter))), 201, media_type="application/json")

    return Starlette(routes=[Route("/{plugin}/{rest:path}", send, methods=["POST"])])


async def serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


class MailSink:
    """The stand-in SMTP server's handler: accepts every mail and counts it."""

    def __init__(self) -> None:
        self.mails = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.mails += 1
        return "250 2.0.0 Ok: queued by the omnisdk demo"


def _accept_any(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


def with_stand_ins(name: str, example: dict[str, Any], provider_url: str, smtp_port: int) -> dict[str, Any]:
    """An account's example settings pointed at the stand-ins: ``api_base_url`` at the provider
    API, and an ``smtp`` server mapping (mail plugins) at the SMTP stand-in."""
    account = {**example, "api_base_url": f"{provider_url}/{name}"}
    if isinstance(example.get("smtp"), dict):
        account["smtp"] = {**example["smtp"], "host": "127.0.0.1", "port": smtp_port, "security": "none"}
    return account


class Tally:
    """What the demo sent and what it expects the gateway to have counted."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.seen: set[tuple[str, str]] = set()
        self.expected: Counter[str] = Counter()

    def expect(self, adapter: ChannelAdapter, url: str, body: bytes, headers: dict[str, str]) -> None:
        """Run the adapter locally on what is about to be sent, and count what the gateway
        should count: new or duplicate events, or the rejection reason."""
        req = WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body, received_at=now_rfc3339())
        try:
            adapter.verify(req)
            events = adapter.parse(req)
        except WebhookError as exc:
            self.expected[f"rejected.{exc.reason}"] += 1
            return
        for e in events:
            key = (e.source, e.id)
            self.expected["events.deduplicated" if key in self.seen else "events.accepted"] += 1
            self.seen.add(key)


def forge(headers: dict[str, str]) -> dict[str, str]:
    """The same signature headers with their last characters changed."""
    return {k: v[:-4] + ("AAAA" if not v.endswith("AAAA") else "BBBB") for k, v in headers.items()}


async def replay_plugin(client: httpx.AsyncClient, tally: Tally, adapter: ChannelAdapter, url: str,
                        recs: list[recordings.Recording]) -> None:
    """POST every recording signed, then redeliveries, forgeries and one truncated body."""

    async def post(body: bytes, content_type: str, signature: dict[str, str]) -> None:
        headers = {"content-type": content_type, **signature}
        tally.expect(adapter, url, body, headers)
        resp = await client.post(url, content=body, headers=headers)
        tally.statuses[resp.status_code] += 1

    def sign(body: bytes, content_type: str) -> dict[str, str]:
        try:
            return adapter.sign(url, body, content_type)
        except NotImplementedError:
            return {}

    for rec in recs:
        await post(rec.body, rec.content_type, sign(rec.body, rec.content_type))
    for rec in recs[:REDELIVER]:  # the provider retries: the same bytes again
        await post(rec.body, rec.content_type, sign(rec.body, rec.content_type))
    for rec in recs[:FORGE]:  # forged: a signature that does not match
        await post(rec.body, rec.content_type, forge(sign(rec.body, rec.content_type)))
    truncated = recs[0].body[: len(recs[0].body) // 2]  # malformed, validly signed
    await post(truncated, recs[0].content_type, sign(truncated, recs[0].content_type))


async def run_demo(workdir: Path, console: Console, *, keep_open: bool = False, bus: BusSettings | None = None) -> int:
    """Run the demo; returns the process exit code (0 when every number matches).  With
    ``keep_open`` the gateway keeps serving after the report, until interrupted.  With ``bus``
    (``omnisdk demo --bus nats://…``) the core events also go out to NATS JetStream (events
    out), and the demo waits until every one is acknowledged (exit code 1 if not within
    :data:`EVENTS_OUT_WAIT` seconds)."""
    host = PluginHost()
    host.load_entrypoints()
    classes = {n: c for n, c in host.omnisdk_adapters().items() if c.recordings and Path(c.recordings).is_dir()}
    if not classes:
        console.print("[red]no installed plugin ships recordings: pip install omnisdk-whatsapp omnisdk-sms[/red]")
        return 1
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "omnisdk.toml").write_text(f'[store]\nurl = "sqlite:///{(workdir / "omnisdk.db").resolve()}"\n'
                                         + (f'\n[bus]\nurl = "{bus.url}"\nevents_stream = "{bus.events_stream}"\n'
                                            f'events_subject = "{bus.events_subject}"\n' if bus else ""))
    provider_port, gateway_port, smtp_port = free_port(), free_port(), free_port()
    story_plugins = [n for n, c in classes.items() if c.channel == "email"
                     and all((Path(c.recordings) / f"{r}.eml").is_file() for r in STORY_RECORDINGS)]  # type: ignore[arg-type]
    provider_url = f"http://127.0.0.1:{provider_port}"
    voice_plugins = [n for n, c in classes.items()
                     if has_voice_story(c, {r.name for r in recordings.load(Path(c.recordings))})]  # type: ignore[arg-type]
    ccaas_plugins = [n for n, c in classes.items()
                     if has_ccaas_story(c, {r.name for r in recordings.load(Path(c.recordings))})]  # type: ignore[arg-type]
    settings = Settings(
        store={"url": f"sqlite:///{workdir / 'omnisdk.db'}"},
        routing={
            "queues": [{"name": "support"}],
            "agents": [
                {"id": "alice", "capacity": {c.channel: 2 for c in classes.values()}},
                {"id": "bob", "capacity": {c.channel: 1 for c in classes.values()}},
            ],
            "acknowledgement": "Thanks for your message: an agent will be with you shortly.",
        },
        lifecycle={"wrap_up_timeout": 1.0, "inactivity_timeout": 2.0},
        accounts={
            name: {account: with_stand_ins(name, cls.example_settings(), provider_url, smtp_port)
                   for account in ((ACCOUNT, STORY) if name in story_plugins else (ACCOUNT,))}
            for name, cls in classes.items() if name not in ccaas_plugins  # on the story's own runtime
        },
        **({"bus": bus.model_dump()} if bus is not None else {}),
    )
    if keep_open:
        settings = portal_account(settings, classes, f"http://127.0.0.1:{gateway_port}")
    # aiosmtpd logs a warning about its own deprecated attribute on every AUTH: not the demo's
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port, authenticator=_accept_any,
                      auth_require_tls=False, auth_required=False)
    smtp.start()
    runtime = Runtime(settings, host=host)
    provider, provider_task = await serve(stand_in_provider(classes), provider_port)
    gateway, gateway_task = await serve(create_app(runtime), gateway_port)
    base = f"http://127.0.0.1:{gateway_port}"
    tally = Tally()
    sent_rows: list[tuple[str, int]] = []
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for name, cls in sorted(classes.items()):
                if name in voice_plugins or name in ccaas_plugins:  # played as one story below
                    continue
                adapter = runtime.adapter(name, ACCOUNT)
                assert adapter is not None
                url = f"{base}/webhooks/{name}/{ACCOUNT}"
                recs = recordings.load(Path(cls.recordings))  # type: ignore[arg-type]
                sent_rows.append((name, len(recs)))

                await replay_plugin(client, tally, adapter, url, recs)
            # misaddressed and oversize requests
            name = sorted(classes)[0]
            r = await client.post(f"{base}/webhooks/{name}/nobody", content=b"{}")
            tally.statuses[r.status_code] += 1
            tally.expected["rejected.not_found"] += 1
            big = b"{" + b" " * (settings.gateway.max_body_bytes + 1) + b"}"
            r = await client.post(f"{base}/webhooks/{name}/{ACCOUNT}", content=big)
            tally.statuses[r.status_code] += 1
            tally.expected["rejected.payload_too_large"] += 1

        await runtime.processor.drain()
        stories = await _agents_at_work(runtime)
        mail: list[Outcome] = []
        async with httpx.AsyncClient(timeout=10) as client:
            for name in story_plugins:
                adapter = runtime.adapter(name, STORY)
                assert adapter is not None
                recs = {r.name: r.body for r in recordings.load(Path(classes[name].recordings))}  # type: ignore[arg-type]
                mail += await mail_story(runtime, client, f"{base}/webhooks/{name}/{STORY}", adapter, recs,
                                         tally.expect)
        windows = await window_story(runtime, ACCOUNT)
        voice: list[Outcome] = []
        async with httpx.AsyncClient(timeout=10) as client:
            for name in voice_plugins:
                adapter = runtime.adapter(name, ACCOUNT)
                assert adapter is not None
                recs = {r.name: r.body for r in recordings.load(Path(classes[name].recordings))}  # type: ignore[arg-type]
                voice += await voice_story(runtime, client, f"{base}/webhooks/{name}/{ACCOUNT}", adapter, recs,
                                           tally.expect)
        ccaas: list[Outcome] = []
        for name in ccaas_plugins:
            stand_in = StandInCCaaS(classes[name])
            port = free_port()
            server, server_task = await serve(stand_in.app(), port)
            try:
                recs = {r.name: r.body for r in recordings.load(Path(classes[name].recordings))}  # type: ignore[arg-type]
                ccaas += await ccaas_story(name, classes[name], recs, workdir, f"http://127.0.0.1:{port}", stand_in)
            finally:
                server.should_exit = True
                await server_task
        while await runtime.outbox.run_once():
            pass
        paths = {i.id: [h["to_state"] for h in (await runtime.interaction(i.id))[1]] for i in await runtime.interactions()}
        await runtime.store.transact(lambda tx: None)  # flush late counters
        if bus is not None:
            await _events_out_drained(runtime)
        stats = await runtime.stats()
        items = await runtime.interactions()
        db_path = runtime.store.location
    except BaseException:
        keep_open = False
        raise
    finally:
        if not keep_open:
            gateway.should_exit = True
            provider.should_exit = True
            await gateway_task
            await provider_task
            smtp.stop()
    console.print(f"Mails received by the stand-in SMTP server: {sink.mails}")
    code = _report(console, sent_rows, tally, stats, items, db_path, stories, paths)
    if bus is not None:
        backlog = stats.get("bus.events.backlog", 0)
        console.print(f"Events out: {stats.get('bus.events.published', 0)} core events published to NATS stream "
                      f"{bus.events_stream} (subjects {bus.events_subject}.>), {backlog} waiting; read them with "
                      f"python examples/crm_consumer.py --server {bus.url} --stream {bus.events_stream} "
                      f"--subject '{bus.events_subject}.>'", soft_wrap=True, markup=False)
        if backlog or not stats.get("bus.events.published"):
            console.print("[red]core events were not all published to NATS[/red]")
            code = 1
    if windows:
        t = Table("step", "expected", "got", title="Customer-service windows (WhatsApp, Messenger)")
        for o in windows:
            t.add_row(o.step, o.expected, o.got if o.ok else f"{o.got} [red]✗[/red]")
        console.print(t)
        if not all(o.ok for o in windows):
            console.print("[red]a customer-service window behaved otherwise than expected[/red]")
            code = 1
    if voice:
        t = Table("step", "expected", "got", title="A recorded call (ring, answer, hold, transfer, hang-up, wrap-up)")
        for o in voice:
            t.add_row(o.step, o.expected, o.got if o.ok else f"{o.got} [red]✗[/red]")
        console.print(t)
        if not all(o.ok for o in voice):
            console.print("[red]the recorded call behaved otherwise than expected[/red]")
            code = 1
    if ccaas:
        t = Table("step", "expected", "got", title="A CCaaS-routed email (route, transfer, park, unpark, wrap-up sync)")
        for o in ccaas:
            t.add_row(o.step, o.expected, o.got if o.ok else f"{o.got} [red]✗[/red]")
        console.print(t)
        if not all(o.ok for o in ccaas):
            console.print("[red]the CCaaS-routed email behaved otherwise than expected[/red]")
            code = 1
    if mail:
        t = Table("step", "expected", "got", title="Email story (one customer's thread)")
        for o in mail:
            t.add_row(o.step, o.expected, o.got if o.ok else f"{o.got} [red]✗[/red]")
        console.print(t)
        if not all(o.ok for o in mail):
            console.print("[red]the email story differs from what was expected[/red]")
            code = 1
    if keep_open:
        try:
            await stay_open(runtime, console, base, portal=PORTAL if "webchat" in classes else None,
                            until=gateway_task)
        finally:
            gateway.should_exit = True
            provider.should_exit = True
            await gateway_task
            await provider_task
            smtp.stop()
    return code


EVENTS_OUT_WAIT = 30.0
"""Seconds the demo waits for NATS to acknowledge every core event (``--bus``)."""


async def _events_out_drained(runtime: Runtime) -> None:
    """Wait until the bus outbox is empty (every core event acknowledged), at most
    :data:`EVENTS_OUT_WAIT` seconds (the report then says what is left)."""
    deadline = asyncio.get_running_loop().time() + EVENTS_OUT_WAIT
    while asyncio.get_running_loop().time() < deadline:
        if (await runtime.stats()).get("bus.events.backlog", 0) == 0:
            return
        if runtime.events_publisher is not None:
            runtime.events_publisher.wake()
        await asyncio.sleep(0.1)


SHORT = {"new": "new", "queued": "queued", "offered": "offered", "work_in_progress": "working",
         "on_hold": "parked", "wrap_up": "wrap-up", "closed": "closed"}


async def _agents_at_work(runtime: Runtime) -> dict[str, str]:
    """Agents take the work: accept every offer, then each interaction gets one story —
    parked until the inactivity timer closes it, transferred to a colleague, left in wrap-up
    until the default code applies, turned into a case, or closed with a code.  Returns the
    story told for each interaction id."""
    stories: dict[str, str] = {}
    plots = ["park", "transfer", "wrap-up timeout", "case", "close"]
    turn = 0
    for _ in range(10):  # offers keep coming as capacity frees up
        offered = [i for i in await runtime.interactions(active_only=True)
                   if i.state is S.OFFERED and i.id not in stories]
        if not offered:
            break
        for inter in offered:
            await runtime.accept(inter.id, inter.agent)
            name = f" {inter.customer_name}" if inter.customer_name else ""
            try:
                await runtime.reply(inter.id, f"Hello{name}, this is {inter.agent}. How can I help?")
            except OptedOutError:  # the customer sent STOP: the core refuses every send to them
                stories[inter.id] = "opted out: no reply"
                await runtime.close_interaction(inter.id, "Issue resolved")
                continue
            plot = plots[turn % len(plots)]
            turn += 1
            stories[inter.id] = plot
            if plot == "park":
                await runtime.hold(inter.id)
            elif plot == "transfer":
                await _transfer(runtime, inter)
            elif plot == "wrap-up timeout":
                await runtime.wrap_up(inter.id)
            elif plot == "case":
                await runtime.create_case(inter.id, f"Follow-up for {inter.customer}")
            else:
                await runtime.close_interaction(inter.id, "Issue resolved")
    # let the durable timers (1 s wrap-up, 2 s inactivity in the demo) do their part
    for _ in range(50):
        if not [i for i in await runtime.interactions(active_only=True) if i.state in (S.ON_HOLD, S.WRAP_UP)]:
            break
        await asyncio.sleep(0.1)
    return stories


async def _transfer(runtime: Runtime, inter: Any) -> None:
    """Transfer to a colleague with free capacity, else back to the queue; the colleague accepts
    and closes."""
    agents = await runtime.agents()
    free = [a["id"] for a in agents if a["id"] != inter.agent
            and a["capacity"].get(inter.channel, 0) > a["load"].get(inter.channel, 0)]
    moved = await (runtime.transfer(inter.id, to_agent=free[0]) if free else runtime.transfer(inter.id, to_queue=inter.queue))
    if moved.state is S.OFFERED:
        await runtime.accept(moved.id, moved.agent)
        await runtime.close_interaction(moved.id, "Issue resolved")


def _report(console: Console, sent_rows: list[tuple[str, int]], tally: Tally, stats: dict[str, int],
            items: list[Any], db_path: str, stories: dict[str, str], paths: dict[str, list[str]]) -> int:
    console.rule("[bold]omnisdk demo")
    t = Table("plugin", "recorded payloads replayed", title="Sent over HTTP (signed as the provider signs)")
    for name, n in sent_rows:
        t.add_row(name, f"{n} (+{REDELIVER} redelivered, {FORGE} forged, 1 truncated)")
    console.print(t)
    console.print("HTTP answers: " + ", ".join(f"{code}×{n}" for code, n in sorted(tally.statuses.items())))
    t = Table("counter", "expected", "gateway counted", title="Events")
    ok = True
    for key in sorted(set(tally.expected) | {k for k in stats if k.startswith(("events.", "rejected."))}):
        exp, got = tally.expected.get(key, 0), stats.get(key, 0)
        if key == "events.failed":
            exp = 0
        mark = "" if exp == got else " [red]✗[/red]"
        ok &= exp == got
        t.add_row(key, str(exp), f"{got}{mark}")
    console.print(t)
    console.print(
        "[dim]Recorded payloads reuse provider ids (the same wamid in many fixtures): a repeated "
        "(source, id) is a redelivery and is deduplicated, exactly as in production.[/dim]"
    )
    by_state = Counter(i.state.value for i in items)
    console.print("Interactions by state: " + ", ".join(f"{s} {n}" for s, n in sorted(by_state.items())))
    t = Table("#", "channel", "customer", "agent", "msgs", "agent's move", "wrap-up code", title="Interactions")
    for n, i in enumerate(items, 1):
        t.add_row(str(n), i.channel, i.customer, i.last_agent or i.agent or "-", str(i.message_count),
                  stories.get(i.id, "-"), i.wrap_up_code or "-")
    console.print(t)
    for n, i in enumerate(items, 1):
        console.print(f"  #{n}: " + " → ".join(SHORT.get(p, p) for p in paths.get(i.id, [])))
    cases = stats.get("seq.case", 0)
    console.print(f"Cases opened: {cases}; timers fired: {stats.get('timers.fired', 0)}")
    console.print(
        f"Outbound: {stats.get('outbound.sent', 0)} sent, {stats.get('outbound.failed', 0)} failed, "
        f"{stats.get('outbound.read_receipts', 0)} read receipts; "
        f"statuses applied {stats.get('statuses.applied', 0)}, ignored as backwards {stats.get('statuses.ignored_backwards', 0)}, "
        f"ignored as about a customer's message {stats.get('statuses.ignored_inbound', 0)}"
    )
    console.print(f"Data lives in [bold]{db_path}[/bold] (SQLite, WAL).")
    console.print(f"Look again with: omnisdk interactions -c {Path(db_path).parent / 'omnisdk.toml'}")
    console.print("[green]all counts match what was sent[/green]" if ok else "[red]counts differ from what was sent[/red]")
    return 0 if ok else 1
