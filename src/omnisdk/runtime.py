"""The runtime: wires plugins, adapters, store, processor and outbox into one object.

Python API for embedding omnisdk::

    async with Runtime(load_settings("omnisdk.toml")) as rt:
        ...                      # the gateway (omnisdk.gateway.create_app(rt)) feeds it
        await rt.reply(interaction_id, "Hello!")
        await rt.close_interaction(interaction_id, "Issue resolved")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omnisdk.adapters import ChannelAdapter, InboundTransport, OutboundMessage, unsupported_content
from omnisdk.bus.counts import BusCounts
from omnisdk.bus.events_outbox import EventsOutbox
from omnisdk.config import Settings, check_accounts
from omnisdk.connectors import attach_connectors
from omnisdk.errors import ConfigError, NotFoundError
from omnisdk.ids import new_id
from omnisdk.inbox.processor import Processor, utcnow
from omnisdk.inbox.transports import LeaderTransports, TransportRunner, is_exclusive, placement
from omnisdk.leadership import Leadership, lease_for
from omnisdk.leadership.workers import LeaderWorker
from omnisdk.lifecycle.agent_initiated import OutboundStart
from omnisdk.lifecycle.case_links import CaseLinks, LinkError
from omnisdk.lifecycle.case_resolution import known_address, mail_address, send_resolution
from omnisdk.lifecycle.case_states import CaseTexts, answer_link, move_case, texts_of
from omnisdk.lifecycle.operations import Lifecycle
from omnisdk.lifecycle.profile_links import link_profile
from omnisdk.lifecycle.transitions import agent_event
from omnisdk.metrics import RuntimeMetrics
from omnisdk.model import Case, Interaction
from omnisdk.model.addresses import KNOWN_CHANNELS, check_e164, conversation_key
from omnisdk.observability.redaction import REDACTOR, secrets_of
from omnisdk.observability.tracing import Tracing
from omnisdk.outbound.enqueue import window_closes_at
from omnisdk.outbound.outbox import OutboxWorker
from omnisdk.outbound.subscriptions import Subscriptions
from omnisdk.outbound.webhook_delivery import WebhookDeliveryWorker
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import PROFILE_CHANNELS
from omnisdk.routing.engine import RoutingEngine
from omnisdk.routing.model import Agent, Presence, Queue
from omnisdk.store import Store, open_store
from omnisdk.store.queries import DEFAULT_LIMIT, InteractionQuery, check_limit
from omnisdk.store.rows import MessagingProfile, Page
from omnisdk.voice.controls import CallControls

if TYPE_CHECKING:
    from omnisdk.bus.events_out import EventsPublisher

log = logging.getLogger("omnisdk")


def build_adapters(settings: Settings, host: PluginHost) -> dict[tuple[str, str], ChannelAdapter]:
    """One adapter per configured account.

    Raises:
        ConfigError: an account names a plugin that is not loaded, or its settings are invalid
            (the message names fields, never values).
    """
    classes = host.omnisdk_adapters()
    for plugin in settings.accounts:
        if plugin not in classes:
            why = host.failures.get(plugin)
            raise ConfigError(
                f"accounts.{plugin}: no such plugin is loaded" + (f" ({why})" if why else "")
            )
    confs = check_accounts(settings, {plugin: cls.Settings for plugin, cls in classes.items()})
    return {(plugin, account): classes[plugin](account, conf) for (plugin, account), conf in confs.items()}


ROLES = ("all", "ingress", "core", "gateway")
"""``all``: one process does everything (the embedded default).  ``ingress``: webhooks only —
verify, parse, durable inbox, 2xx — no processing, so acknowledgements never wait behind
routing work.  ``core``: processing, timers, outbox and the agent API, polling the inbox an
ingress process fills (both on the same store).  ``gateway`` (needs ``[bus] url``): a stateless
ingress that opens no store at all: it verifies and parses webhooks, publishes each event to
the JetStream inbox stream and answers 2xx after the PubAcks (:mod:`omnisdk.bus.publish`); run
as many as you like.  With ``[bus] url`` set, ``core`` and ``all`` also consume that stream
(:mod:`omnisdk.bus.inbox_consumer`).

Pull-based inbound transports (:meth:`ChannelAdapter.transports`, e.g. an IMAP mailbox) run
where :func:`~omnisdk.inbox.transports.placement` says, so that one mailbox is read by one
process: in ``all`` and ``ingress`` (an ingress's commit is what acknowledges a mail, as it is
what answers a webhook); an exclusive one (:attr:`~omnisdk.adapters.InboundTransport.exclusive`:
the IMAP mailbox) only while an ``all`` process leads, so a hot standby does not read it too.
With the bus, gateways run the non-exclusive ones (publishing to the bus the same way) and the
core's leader the exclusive ones (into its store's inbox), since gateways hold no lease."""


class Runtime:
    """The running core.  Use as an async context manager, or call start()/stop().

    Every operation below runs in one store transaction and raises, with nothing written:
    :class:`~omnisdk.errors.NotFoundError` (unknown interaction, agent, queue, case or account
    — HTTP 404), :class:`~omnisdk.errors.StateError` (illegal move — HTTP 409),
    :class:`~omnisdk.routing.engine.CapacityError` (no free capacity — 409) or ``ValueError``
    (bad argument — 400).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        host: PluginHost | None = None,
        store: Store | None = None,
        adapters: dict[tuple[str, str], ChannelAdapter] | None = None,
        clock: Callable[[], datetime] = utcnow,
        role: str = "all",
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self.role = role
        self.settings = settings
        if host is None:
            host = PluginHost(allow=settings.plugins.allow, block=settings.plugins.block)
            host.load_entrypoints()
            host.load_modules(settings.plugins.modules)
        self.host = host
        self.adapters = adapters if adapters is not None else build_adapters(settings, host)
        self.channels: frozenset[str] = KNOWN_CHANNELS | {cls.channel for cls in host.omnisdk_adapters().values()}
        """The channels queues and capacity tables may name: the known ones and every loaded
        adapter's own."""
        try:
            for agent in settings.routing.agents:
                self.check_channels(agent)
            for queue in settings.routing.queues:
                self.check_channels(queue)
            self._check_names(settings.routing.item_size, "routing.item_size")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.bus_counts = BusCounts()
        """Inbox bus counters (``bus.publish.*`` in a gateway, ``bus.inbox.*`` in a core)."""
        if role == "gateway" and not settings.bus.enabled:
            raise ConfigError("--role gateway needs [bus] url (the JetStream inbox it publishes to)")
        if store is None:
            if role == "gateway":  # no store at all: the inbox is the JetStream stream
                from omnisdk.bus.publish import BusInbox  # needs the nats extra

                store = BusInbox(settings.bus, self.bus_counts)  # type: ignore[assignment]
            elif role == "ingress":  # only the inbox file (or the one store file, if there is no split)
                url = settings.store.inbox_url or settings.store.url
                store = open_store(url, synchronous=settings.store.synchronous,
                                   inbox_only=bool(settings.store.inbox_url))
            else:
                store = open_store(settings.store.url, synchronous=settings.store.synchronous,
                                   inbox_url=settings.store.inbox_url)
        self.store = store
        REDACTOR.remember(secrets_of(settings) | secrets_of([a.settings for a in self.adapters.values()]))
        self.metrics = RuntimeMetrics()
        """This runtime's Prometheus registry and instruments (``GET /metrics``)."""
        self.metrics.registry.register(self.bus_counts)
        self.tracing = Tracing()
        """The tracer of this runtime's spans, None when nothing records them (looked up
        again at :meth:`start`: :mod:`omnisdk.observability.tracing`)."""
        self.engine = RoutingEngine(
            settings.routing.queues, settings.routing.agents, host,
            item_size=settings.routing.item_size, affinity_window=settings.lifecycle.affinity_window,
        )
        self._case_links = self._make_case_links(settings)
        self.lifecycle = Lifecycle(self.engine, host, settings.lifecycle, self._case_links)
        self.processor = Processor(
            self.store, host, self.engine, self.lifecycle, clock=clock,
            acknowledgement=settings.routing.acknowledgement, metrics=self.metrics, tracing=self.tracing,
        )
        self.outbox = OutboxWorker(self.store, self.adapters, notify=host.omnisdk_event,
                                   clock=lambda: self.processor.clock().timestamp(), tracing=self.tracing)
        self.processor.on_outbox = self.outbox.wake
        self.processor.windows = {a.source: a.service_window for a in self.adapters.values()
                                  if a.service_window is not None}
        if settings.lifecycle.read_receipts:
            self.processor.read_receipts = frozenset(a.source for a in self.adapters.values() if a.read_receipts)
        self.subscriptions = Subscriptions(self.store)
        """Outgoing-webhook subscriptions: their deliveries are queued before each commit."""
        self.processor.before_commit = self.subscriptions
        self.webhooks = WebhookDeliveryWorker(self.store, settings.webhooks,
                                              clock=lambda: self.processor.clock().timestamp())
        self.processor.on_deliveries = self.webhooks.wake
        self.connectors = attach_connectors(host, self.adapters)
        """The CCaaS connector bridge (``omnisdk_external_*`` → connector calls), if any."""
        self.calls = CallControls(self.processor, self.lifecycle, self.adapters, self.outbox)
        """Call controls of voice interactions (answer, hold, transfer, dial …: :mod:`omnisdk.voice.controls`)."""
        self.transports = TransportRunner(self.store)
        """The adapters' pull-based inbound transports (roles ``all``, ``ingress`` and ``gateway``)."""
        self.events_publisher: EventsPublisher | None = None
        """Events out (``[bus] url`` set and ``events_out`` on): core events are queued in the
        bus outbox before each commit, and this worker publishes them to JetStream."""
        if settings.bus.enabled and settings.bus.events_out and role in ("core", "all"):
            self.events_publisher = self._attach_events_out(settings)

        self.leadership = Leadership(lease_for(self.store), on_lead=self._on_lead, on_lose=self._on_lose)
        """The routing domain's leader lease (:mod:`omnisdk.leadership`): roles ``all`` and
        ``core`` route only while holding it; on SQLite it is always held (no standby)."""
        self.leader_workers: list[LeaderWorker] = []
        """Workers that run only on the leader (:meth:`add_leader_worker`)."""
        if self.leadership.shared:  # sends left 'sending' are put back by the next leader, not by
            self.store.requeue_at_open = False  # any process that opens the store (type: PostgresStore)
            # no claim, no send once the lease may be gone (SQLite: one process, nothing to fence)
            self.outbox.fence = self.webhooks.fence = self.leadership.valid
        self.inbox_consumer: Any = None
        """The JetStream inbox consumer (:class:`omnisdk.bus.inbox_consumer.InboxConsumer`,
        roles ``core`` and ``all`` with ``[bus] url``), else None."""
        if settings.bus.enabled and role in ("core", "all"):
            from omnisdk.bus.inbox_consumer import InboxConsumer  # needs the nats extra

            self.inbox_consumer = InboxConsumer(self.store, settings.bus, self.bus_counts)
            self.add_leader_worker(self.inbox_consumer)  # one consumer per routing domain: its order holds

    def _attach_events_out(self, settings: Settings) -> EventsPublisher:
        try:
            from omnisdk.bus.events_out import EventsPublisher
        except ImportError as exc:
            raise ConfigError(f"[bus] needs the nats extra: pip install 'omnisdk[nats]' ({exc.name} is missing)") from None
        clock = self.outbox.clock
        writer = EventsOutbox(clock)
        publisher = EventsPublisher(self.store, settings.bus, clock=clock)
        self.processor.events_out, self.outbox.events_out = writer, writer.write
        self.processor.on_events_out = self.outbox.on_events_out = publisher.wake
        return publisher

    def _start_transports(self) -> None:
        """Start the adapters' transports where this role reads them
        (:func:`~omnisdk.inbox.transports.placement`): as tasks, or, the exclusive ones (a
        mailbox), as a leader worker run only while this process leads."""
        exclusive: list[tuple[ChannelAdapter, InboundTransport]] = []
        bus = self.settings.bus.enabled
        for adapter in self.adapters.values():
            for transport in adapter.transports():
                where = placement(self.role, is_exclusive(transport), bus=bus)
                if where == "task":
                    self.transports.start(adapter, transport)
                elif where == "leader":
                    exclusive.append((adapter, transport))
                elif self.role == "gateway":
                    log.info("%s: read by the core's leader, not by gateways", transport.name)
        if exclusive:
            self.add_leader_worker(LeaderTransports(self.store, exclusive))

    async def start(self) -> None:
        self.tracing.resolve()  # a tracer provider set after the runtime was made
        await self.store.open()
        if self.role in ("ingress", "gateway"):
            self._start_transports()  # the ingress receives: webhooks and pulled sources
            return  # no engine, no loops: the core process owns them
        if self.role == "core":
            self.processor.poll_interval = 0.01
            self.processor.batch = 32  # hold the store's write lock briefly: the ingress waits on it
        elif self.leadership.shared:  # other processes (a standby's webhooks, an ingress) fill the inbox
            self.processor.poll_interval = 0.05
        self.store.on_inbox = self.processor.wake
        if self.role == "all" or self.settings.bus.enabled:
            self._start_transports()  # the exclusive ones (a mailbox) as a leader worker
        await self.leadership.start()  # leading now, unless another process leads: then standing by

    def add_leader_worker(self, worker: LeaderWorker) -> None:
        """Run ``worker`` only while this process leads its routing domain: ``await
        worker.start()`` after the engine is restored and the processor, timers, outbox and
        webhook deliveries run (at every acquisition of the lease), ``await worker.stop()``
        before they stop (at every loss, and at :meth:`stop`).  Add workers before
        :meth:`start`; one added while leading is started at the next acquisition."""
        self.leader_workers.append(worker)

    async def _on_lead(self) -> None:
        """The lease is ours: rebuild the routing state from the store, start the leader's work."""
        if self.leadership.shared:  # the last leader's in-flight sends: it cannot be running (fenced)
            stale = await self.store.transact(lambda tx: tx.requeue_stale_sending())
            if stale:
                log.warning("%d outbox rows were left 'sending' by the last leader; they will be retried", stale)
        await self.processor.restore()
        await self.subscriptions.reload()
        await self.processor.operate(self.lifecycle.dispatch.drain)  # capacity may have freed while down
        self.processor.start()
        self.outbox.start()
        self.webhooks.start()
        if self.events_publisher is not None:
            self.events_publisher.start()
        for worker in self.leader_workers:
            await worker.start()

    async def _on_lose(self) -> None:
        """The lease is gone (or we stop): stop everything only a leader may run, newest first."""
        for worker in reversed(self.leader_workers):
            try:
                await worker.stop()
            except Exception:
                log.exception("stopping leader worker %r failed", worker)
        await self.processor.stop()
        await self.outbox.stop()
        await self.webhooks.stop()
        if self.events_publisher is not None:
            await self.events_publisher.stop()

    async def stop(self) -> None:
        await self.transports.stop()  # first: nothing more arrives while the rest stops
        if self.role in ("ingress", "gateway"):
            await self.store.close()
            return
        await self.leadership.stop()  # the leader's work stops (on_lose), the lease is given up
        for adapter in self.adapters.values():
            try:
                await adapter.aclose()
            except Exception:
                log.exception("closing adapter %r failed", adapter)
        await self.store.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def check_channels(self, target: Agent | Queue) -> None:
        """Refuse an agent's capacity table or a queue's channel list naming a channel that no
        loaded plugin declares (and the core does not know).

        Raises:
            ValueError: the message names the agent or queue and the channel.
        """
        if isinstance(target, Agent):
            self._check_names(target.capacity, f"agent {target.id!r} capacity")
        else:
            self._check_names(target.channels, f"queue {target.name!r} channels")

    def _check_names(self, names: Any, where: str) -> None:
        unknown = sorted(set(names) - self.channels)
        if unknown:
            raise ValueError(f"{where}: no loaded plugin declares the channel {', '.join(map(repr, unknown))}"
                             f" (known: {', '.join(sorted(self.channels))})")

    def adapter(self, plugin: str, account: str) -> ChannelAdapter | None:
        return self.adapters.get((plugin, account))

    # --- interactions --------------------------------------------------------------------

    async def accept(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """The offered agent accepts: work_in_progress."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.accept(ctx, interaction_id, agent))

    async def assign(self, interaction_id: str, agent: str) -> Interaction:
        """Offer a queued interaction to ``agent`` (CCaaS connectors, supervisors)."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.assign(ctx, interaction_id, agent))

    async def reject(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """The offered agent rejects: back to the queue, offered to someone else."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.reject(ctx, interaction_id, agent))

    async def hold(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """Park (on hold): capacity released, the agent keeps ownership."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.hold(ctx, interaction_id, agent))

    async def resume(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """Unpark: back to work_in_progress with the owner (needs free capacity)."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.resume(ctx, interaction_id, agent))

    async def transfer(self, interaction_id: str, *, to_agent: str | None = None,
                       to_queue: str | None = None, agent: str | None = None) -> Interaction:
        """Transfer to an agent (offered) or a queue (routed); history kept."""
        return await self.processor.operate(
            lambda ctx: self.lifecycle.actions.transfer(ctx, interaction_id, to_agent=to_agent, to_queue=to_queue, agent=agent))

    async def wrap_up(self, interaction_id: str, agent: str | None = None) -> Interaction:
        """Into wrap-up; the default code applies when the wrap-up timeout passes."""
        return await self.processor.operate(lambda ctx: self.lifecycle.actions.wrap_up(ctx, interaction_id, agent))

    async def close_interaction(self, interaction_id: str, wrap_up_code: str | None = None,
                                agent: str | None = None) -> Interaction:
        """Close with a wrap-up code (the default one if None)."""
        return await self.processor.operate(
            lambda ctx: self.lifecycle.actions.close(ctx, interaction_id, wrap_up_code, agent=agent))

    async def create_case(self, interaction_id: str, subject: str | None = None,
                          agent: str | None = None) -> Case:
        """Open a case (``CS0000001`` …) from the interaction and close it with "Task created";
        returns the case.  Raises as :meth:`omnisdk.lifecycle.cases.Cases.create_case`."""
        return await self.processor.operate(lambda ctx: self.lifecycle.cases.create_case(ctx, interaction_id, subject, agent))

    async def link_case(self, interaction_id: str, case_id: str) -> Case:
        """Link the interaction to an existing case (id or number); returns the case after it.

        Raises:
            NotFoundError: unknown interaction or case.
        """
        return await self.processor.operate(lambda ctx: self.lifecycle.cases.link_case(ctx, interaction_id, case_id))

    async def move_case(self, case_id: str, state: str, *, agent: str | None = None,
                        note: str | None = None) -> Case:
        """Move a case (id or number) through its lifecycle (``new → in_progress →
        solution_proposed → resolved → closed``, :mod:`omnisdk.lifecycle.case_states`); the
        customer is told (``[lifecycle] case_update_text``).  Returns the case.

        Raises:
            NotFoundError: unknown case.  StateError: not a state, or not a legal move.
        """
        texts = self.case_texts()
        return await self.processor.operate(
            lambda ctx: move_case(ctx, case_id, state, by=agent or "core", note=note, texts=texts))

    @staticmethod
    def _make_case_links(settings: Settings) -> CaseLinks | None:
        life, gw = settings.lifecycle, settings.gateway
        if life.case_links_secret is None:
            return None
        base = str(gw.public_url) if gw.public_url else f"http://{gw.host}:{gw.port}"
        return CaseLinks(base, life.case_links_secret.get_secret_value(), life.case_link_ttl)

    def case_links(self) -> CaseLinks | None:
        """The signer of case links (``[lifecycle] case_links_secret``), or None when unset.
        Links point at ``[gateway] public_url`` (else the listening host and port)."""
        return self._case_links

    def case_texts(self) -> CaseTexts:
        """What the customer is told when an agent moves a case (``[lifecycle]`` texts)."""
        return texts_of(self.lifecycle.settings, self.case_links())

    async def answer_case_link(self, token: str, score: int | None = None) -> Case:
        """Apply a case link the customer used (accept, reject, survey answer); returns the case.

        Raises:
            LinkError: a forged, expired or malformed token, or links are not configured.
            NotFoundError, StateError, ValueError: see :func:`omnisdk.lifecycle.case_states.answer_link`.
        """
        links = self.case_links()
        if links is None:
            raise LinkError("case links are not enabled here")
        case_id, action = links.read(token)
        texts, closes = self.case_texts(), self.lifecycle.settings.case_accept_closes
        case = await self.processor.operate(lambda ctx: answer_link(ctx, case_id, action, score, texts=texts,
                                                                    closes=closes))
        self.outbox.wake()
        return case

    async def send_case_resolution(self, case_id: str, text: str, *, agent: str, to: str | None = None,
                                   plugin: str | None = None, account: str | None = None,
                                   business: str | None = None) -> tuple[Case, Interaction]:
        """An agent sends the resolution ``text`` of a case (id or number) by email
        (:mod:`omnisdk.lifecycle.case_resolution`): an outbound email interaction to ``to``
        (None: the address the case knows, :func:`~omnisdk.lifecycle.case_resolution.known_address`),
        linked to the case, which moves to ``solution_proposed``; the mail carries the accept
        and reject links.  The account is ``plugin``/``account`` (None: the only account on the
        ``email`` channel), the sender ``business`` (None: its default).  Returns the case and
        the interaction.

        Raises:
            NotFoundError: unknown case, agent or account.
            ValueError: ``to`` is not an email address, none is known, the account is not on
                the email channel, or several are and none is named (HTTP 400).
            StateError: the case's state allows no proposed solution, or the customer's active
                email interaction is someone else's (HTTP 409).
            CapacityError: the agent has no free email capacity (HTTP 409).
        """
        if agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        adapter, biz = self._sender(*self._mail_account(plugin, account), business)
        if to is None:
            case = await self.store.transact(lambda tx: tx.get_case(case_id))
            if case is None:
                raise NotFoundError(f"no case {case_id}")
            found = known_address(case)
            if found is None:
                raise ValueError(f"case {case.number} knows no email address of its customer: name one (to)")
            address = found
        else:
            address = mail_address(to)
        key = conversation_key(adapter.source, adapter.channel, biz, address)
        texts, subject = self.case_texts(), self.lifecycle.settings.case_resolution_subject
        case, inter = await self.processor.operate(lambda ctx: send_resolution(
            ctx, self.lifecycle.actions, case_id, agent=agent, source=adapter.source, channel=adapter.channel,
            business=biz, to=address, key=key, text=text, texts=texts, subject=subject))
        self.outbox.wake()
        return case, inter

    def _mail_account(self, plugin: str | None, account: str | None) -> tuple[str, str]:
        """``(plugin, account)`` of the email account a resolution goes through.

        Raises:
            NotFoundError: no such account.  ValueError: not on the email channel, or several
                email accounts and none named.
        """
        if plugin is not None and account is not None:
            adapter = self.adapter(plugin, account)
            if adapter is None:
                raise NotFoundError(f"no account {account!r} for plugin {plugin!r}")
            if adapter.channel != "email":
                raise ValueError(f"account {plugin}/{account} is on {adapter.channel}, not email")
            return plugin, account
        mail = [(p, acc) for (p, acc), a in self.adapters.items() if a.channel == "email"
                and (plugin is None or p == plugin) and (account is None or acc == account)]
        if not mail:
            raise NotFoundError("no email account is configured here")
        if len(mail) > 1:
            raise ValueError("several email accounts: name the plugin and account")
        return mail[0]

    async def reply(self, interaction_id: str, text: str | None, *, agent: str | None = None,
                    idempotency_key: str | None = None, content: dict[str, Any] | None = None,
                    caller: str | None = None) -> str:
        """Queue an agent's text reply to the customer; returns the idempotency key (made once,
        before any retry; a repeated key sends nothing more).

        Only accepted work takes a reply: the interaction must be ``work_in_progress``,
        ``on_hold`` (a parked conversation may still be written to) or ``wrap_up``; with
        ``agent``, that agent must hold it.

        ``idempotency_key`` is scoped to the interaction and ``caller`` (who asks: the agent
        API passes its principal's ``subject``, so two API clients never share keys): the same
        key on another interaction, or from another caller, is another reply.  On the same interaction, the same key with the same text queues
        nothing more; with another text it is refused.

        Raises:
            NotFoundError: unknown interaction.  StateError: another state (an offer not yet
            accepted, a queued or closed interaction) or another holder.
            IdempotencyConflict (a StateError): ``idempotency_key`` was used on this
            interaction for a different text.
            ValueError: ``content`` (:data:`omnisdk.adapters.RICH_CONTENT` fields: buttons, a
                list, a location …) the interaction's channel cannot send, or neither text nor
                content (HTTP 400; nothing queued).
        """
        key = idempotency_key or new_id()
        if content:
            inter = await self.store.transact(lambda tx: tx.get_interaction(interaction_id))
            if inter is None:
                raise NotFoundError(f"no interaction {interaction_id}")
            plugin, _, account = inter.source.strip("/").partition("/")
            adapter = self.adapters.get((plugin, account))
            message = OutboundMessage.model_validate({"customer": inter.customer, "text": text, **content})
            refused = unsupported_content(message, adapter.outbound_content) if adapter else []
            if refused:
                raise ValueError(f"{plugin} cannot send {', '.join(refused)}")
        elif not text:
            raise ValueError("a reply needs text or content")

        await self.processor.operate(lambda ctx: self.lifecycle.actions.reply(ctx, interaction_id, text, key, agent,
                                                                              content, caller))
        self.outbox.wake()
        return key

    async def start_outbound(self, *, agent: str, plugin: str, account: str, customer: str, text: str | None = None,
                             business: str | None = None, template: dict[str, Any] | None = None,
                             requester: str | None = None) -> Interaction:
        """An agent starts a conversation: an outbound interaction, its first message queued,
        reminders armed (``[lifecycle] reminders``); the interaction the message went into.
        :meth:`open_conversation` with its outcome.

        Raises:
            As :meth:`open_conversation`.
        """
        started = await self.open_conversation(agent=agent, plugin=plugin, account=account, customer=customer,
                                               text=text, business=business, template=template,
                                               requester=requester)
        return started.interaction

    async def open_conversation(self, *, agent: str, plugin: str, account: str, customer: str,
                                text: str | None = None, business: str | None = None,
                                template: dict[str, Any] | None = None, requester: str | None = None,
                                by: str | None = None) -> OutboundStart:
        """An agent starts a conversation; returns the interaction written into and the
        outcome (:data:`omnisdk.lifecycle.agent_initiated.OUTCOMES`).

        ``plugin`` is the provider (``[accounts.<plugin>.<account>]``).  The sender is
        ``business``, which must be one of the account's own addresses
        (:meth:`ChannelAdapter.business_addresses`: on sms, the provider number the agent
        chooses), or the account's default sender (:meth:`ChannelAdapter.default_business`)
        when None.

        The first message is ``text`` or a pre-approved ``template`` (``{"name", "language",
        "components"}``): on a channel with a customer-service window
        (:attr:`~omnisdk.adapters.ChannelAdapter.service_window`) only a template may open a
        conversation with a customer whose window is closed.

        On a channel with messaging profiles (sms), the customer's active interaction on that
        number and ``requester`` (a directory user id: who the agent writes to) decide as
        :mod:`omnisdk.lifecycle.agent_initiated` says; ``by`` (``key:<id>``, ``oidc:<sub>``)
        is recorded on a profile the start links.  ``customer`` must be E.164 there.

        Raises:
            NotFoundError: unknown account, agent, or ``requester``.
            ValueError: ``business`` is not an address the account owns, or it is None and
                the account has no default sender; neither or both of ``text`` and
                ``template``; a customer number that is not E.164 on sms (HTTP 400).
            WindowClosedError: a text to a customer whose window is closed (HTTP 409); nothing
                is created.
            OptedOutError: the customer opted out (HTTP 409).
            InteractionHeldError: another agent holds the customer's active interaction on
                that number (HTTP 409 ``held_by_another_agent``).
        """
        if (text is None) == (template is None):
            raise ValueError("give the first message as text or as a template, not both")
        adapter, biz = self._sender(plugin, account, business)
        if agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        if adapter.channel in PROFILE_CHANNELS:
            check_e164(customer)
        key = conversation_key(adapter.source, adapter.channel, biz, customer)
        started = await self.processor.operate(lambda ctx: self.lifecycle.actions.open_outbound(
            ctx, agent=agent, source=adapter.source, channel=adapter.channel, customer=customer,
            business=biz, key=key, text=text, template=template, requester=requester, by=by))
        self.outbox.wake()
        return started

    async def link_profile(self, profile_id: str, user: str | None, *, by: str) -> MessagingProfile:
        """An agent links a messaging profile to directory user ``user`` (None: anonymous),
        resolving its conflict; ``by`` is the caller (``key:<id>``, ``oidc:<sub>``).  The
        customer's active interactions with that profile get the requester and lose their flag.

        Raises:
            NotFoundError: no such profile or directory user.  StateError: a deactivated profile.
        """
        sources = [a.source for a in self.adapters.values()]
        return await self.processor.operate(lambda ctx: link_profile(ctx, self.host, profile_id, user, by, sources))

    def _sender(self, plugin: str, account: str, business: str | None) -> tuple[ChannelAdapter, str]:
        """The account's adapter and the business address a conversation it starts comes from:
        ``business`` when the account owns it, else its default sender.

        Raises:
            NotFoundError: unknown account.  ValueError: a business address the account does
                not own, or none and no default sender.
        """
        adapter = self.adapter(plugin, account)
        if adapter is None:
            raise NotFoundError(f"no account {account!r} for plugin {plugin!r}")
        if business is None:
            biz = adapter.default_business()
            if biz is None:
                raise ValueError(f"account {plugin}/{account} has no default sender: name the business address")
            return adapter, biz
        if business not in adapter.business_addresses():
            raise ValueError(f"account {plugin}/{account} does not own the business address {business!r}")
        return adapter, business

    async def save_draft(self, *, agent: str, plugin: str, account: str, customer: str, text: str,
                         subject: str | None = None, business: str | None = None,
                         draft_id: str | None = None) -> tuple[Interaction, str]:
        """Keep an agent's draft to a contact (:mod:`omnisdk.lifecycle.drafts`: consolidated per
        customer by default, ownership to the last drafter); returns the drafting interaction
        and the draft id.

        Raises:
            NotFoundError: unknown account or agent.  ValueError: a business address the
            account does not own.  StateError: ``draft_id`` is not this agent's draft there.
        """
        if agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        adapter, biz = self._sender(plugin, account, business)
        key = conversation_key(adapter.source, adapter.channel, biz, customer)
        return await self.processor.operate(lambda ctx: self.lifecycle.drafts.save_draft(
            ctx, agent=agent, source=adapter.source, channel=adapter.channel, customer=customer, business=biz,
            key=key, text=text, subject=subject, draft_id=draft_id))

    async def send_draft(self, interaction_id: str, draft_id: str, *, agent: str) -> Interaction:
        """Send a draft: the interaction goes to ``agent`` (work_in_progress), the text is
        queued, the reminders armed.

        Raises:
            NotFoundError: unknown interaction or agent.  StateError: no such draft, or not a
            drafting interaction.  CapacityError: the agent has no free capacity (HTTP 409).
        """
        if agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        inter = await self.processor.operate(
            lambda ctx: self.lifecycle.drafts.send_draft(ctx, interaction_id, draft_id, agent))
        self.outbox.wake()
        return inter

    async def interactions(self, *, active_only: bool = False) -> list[Interaction]:
        """Interactions, oldest first, at most 1,000 (small deployments and tests; lists that
        must work on a busy day use :meth:`page_interactions`)."""
        return await self.store.transact(lambda tx: tx.list_interactions(active_only=active_only))

    async def page_interactions(self, query: InteractionQuery | None = None, *, limit: int = DEFAULT_LIMIT,
                                cursor: str | None = None) -> Page[Interaction]:
        """One page of interactions matching ``query``, newest first; pass ``next_cursor``
        back for the next page.  Filters run in the store (indexed).

        Raises:
            ValueError: ``limit`` outside 1..500, or a cursor this API did not give out.
        """
        check_limit(limit)
        q = query or InteractionQuery()
        return await self.store.transact(lambda tx: tx.page_interactions(q, limit=limit, cursor=cursor))

    async def window_closes_at(self, interaction: Interaction) -> float | None:
        """When the interaction's customer-service window closes (epoch seconds, UTC; 0.0: the
        customer never wrote to the account), or None when its channel has none."""
        return await self.store.transact(lambda tx: window_closes_at(
            self.processor.windows, tx, interaction.source, interaction.customer))

    async def interaction(self, interaction_id: str) -> tuple[Interaction, list[dict[str, Any]], list[dict[str, Any]]]:
        """The interaction, its history (transitions: ``at``, ``from_state``, ``to_state``,
        ``agent``, ``queue``, ``note``) and its messages (``message_id``, ``direction``, ``kind``,
        ``body``, ``created_at``, ``status``), oldest first.

        Raises:
            NotFoundError (a StateError): unknown id.
        """

        def read(tx: Any) -> Any:
            inter = tx.get_interaction(interaction_id)
            if inter is None:
                raise NotFoundError(f"no interaction {interaction_id}")
            return (inter, [h.to_dict() for h in tx.interaction_history(interaction_id)],
                    [m.to_dict() for m in tx.messages_of(interaction_id)])

        return await self.store.transact(read)

    async def match_interactions(self, fragment: str, *, limit: int = 2) -> list[Interaction]:
        """Interactions whose id starts or ends with ``fragment`` (tables show an id's last 12
        characters), at most ``limit``.  Indexed: as fast with 100,000 interactions as with ten.

        Raises:
            ValueError: ``limit`` outside 1..500.
        """
        check_limit(limit)

        def read(tx: Any) -> list[Interaction]:
            found = (tx.get_interaction(i) for i in tx.find_interactions(fragment, limit=limit))
            return [i for i in found if i is not None]

        return await self.store.transact(read)

    async def page_cases(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Case]:
        """One page of cases, newest (highest number) first; pass ``next_cursor`` back as
        ``cursor`` for the next.

        Raises:
            ValueError: ``limit`` outside 1..500, or a cursor this API did not give out.
        """
        check_limit(limit)
        return await self.store.transact(lambda tx: tx.page_cases(limit=limit, cursor=cursor))

    async def summarize(self, interaction_id: str) -> str:
        """A summary of the interaction's thread (``omnisdk_summarize``, else the core's local
        extractive summary), computed in a worker thread.

        Raises:
            NotFoundError: unknown interaction.
        """
        inter, _, messages = await self.interaction(interaction_id)
        return await asyncio.to_thread(self.host.omnisdk_summarize, inter, messages)

    async def opted_out(self, channel: str, address: str) -> bool:
        """Whether the customer at ``address`` opted out on ``channel`` (SMS STOP) and not in
        again: nothing is sent to them."""
        return await self.store.transact(lambda tx: tx.opted_out(channel, address))

    async def stats(self) -> dict[str, int]:
        return await self.store.transact(lambda tx: tx.counters())

    # --- agents and queues ------------------------------------------------------------------

    async def set_presence(self, agent_id: str, presence: Presence | str) -> None:
        """available / away / offline; becoming available drains the backlog."""
        await self.processor.operate(lambda ctx: self.lifecycle.actions.set_presence(ctx, agent_id, Presence(presence)))

    async def put_agent(self, agent: Agent) -> None:
        """Add or replace an agent (persisted; survives restarts).

        Raises:
            ValueError: its capacity names a channel no loaded plugin declares.
        """
        self.check_channels(agent)

        def op(ctx: Any) -> None:
            self.engine.put_agent(agent)  # lower capacity takes no work away: it applies to new offers
            ctx.tx.save_agent(agent)
            ctx.emitted.append(agent_event(agent, ctx))
            self.lifecycle.dispatch.drain(ctx, agent.id)

        await self.processor.operate(op)

    async def put_queue(self, queue: Queue) -> None:
        """Add or replace a queue (persisted).

        Raises:
            ValueError: it names a channel no loaded plugin declares.
        """
        self.check_channels(queue)

        def op(ctx: Any) -> None:
            self.engine.put_queue(queue)
            ctx.tx.save_queue(queue)
            self.lifecycle.dispatch.drain(ctx)

        await self.processor.operate(op)

    async def agents(self) -> list[dict[str, Any]]:
        """Agents with presence, capacity and live load ``{channel: count}``."""

        def read(tx: Any) -> list[dict[str, Any]]:
            return [
                {**a.model_dump(mode="json"), "load": dict(self.engine.load.get(a.id, {}))}
                for a in self.engine.agents.values()
            ]

        return await self.store.transact(read)

    async def queues(self) -> list[dict[str, Any]]:
        """Queues with the number of interactions waiting in each."""

        def read(tx: Any) -> list[dict[str, Any]]:
            waiting: dict[str, int] = {}
            for queue, _channel, _seq in self.engine.waiting.values():
                waiting[queue] = waiting.get(queue, 0) + 1
            return [{**q.model_dump(mode="json"), "waiting": waiting.get(q.name, 0)} for q in self.engine.queues.values()]

        return await self.store.transact(read)
