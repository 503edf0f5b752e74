"""The contracts of contact-centre (CCaaS) and telephony (CTI) connectors.

**Why both subclass** :class:`~omnisdk.adapters.ChannelAdapter`.  A connector receives its
platform's webhooks exactly as a channel does: the gateway's ``/webhooks/{name}/{account}``,
``verify()`` and a pure ``parse()`` into CloudEvents, the inbox's dedupe, ``[accounts.<name>.
<account>]`` settings, ``omnisdk_adapters`` registration, fault-isolated loading and the test
kit's signature, parse and redelivery checks.  Subclassing keeps all of that unchanged; what
differs is what the events are (``io.omnisdk.routing.*``, ``io.omnisdk.call.*``, never messages)
and the outbound side (routing calls, placing calls), which these classes add.

**CCaaS** (:class:`CCaaSConnector`): a platform that routes some of our interactions (queues
with ``routing_source = "external"`` and ``connector = "<name>"`` or ``"<name>/<account>"``).

- settings (:class:`CCaaSSettings`) carry OAuth2 client credentials and three mapping tables:
  ``queue_map`` (our queue → theirs), ``agent_map`` (our agent id ↔ theirs, one-to-one) and
  ``wrap_up_map`` (our wrap-up code ↔ theirs, one-to-one);
- ``route``, ``transfer``, ``wrap_up``, ``disconnect`` (async, abstract) make the platform calls,
  each through :meth:`CCaaSConnector.api`, which labels the call (``op``), adds the bearer token
  and, on a 401, refreshes the token **once** and retries the call **once**;
- a target, agent or code missing from its table raises :class:`MappingError` before any I/O;
- ``transfer`` must also free the transferring agent's capacity in the CCaaS: one of its calls
  is labelled ``release`` (alone, or with ``transfer`` when one provider call does both);
- webhooks parse into ``io.omnisdk.routing.assigned`` / ``accepted`` / ``ended`` (built with
  :meth:`CCaaSConnector.assigned_event` and friends, which map agents and codes back), which
  the core applies (:mod:`omnisdk.lifecycle.external`).  They must name *our* interaction id,
  which ``route`` hands the platform as the task's external reference (``parse`` is pure: it
  cannot look ids up).

**Durable calls** (:mod:`omnisdk.outbound.connector_calls`).  The lifecycle writes each CCaaS
call (route, transfer, close = wrap-up then disconnect, disconnect) as an outbox row **in the
transaction of the decision** that causes it, for the connector account :class:`ConnectorBridge`
(registered by :func:`attach_connectors`) finds for the queue; the outbox worker makes the call
after the commit, retried with the outbox's backoff on a retryable failure, with the row's
idempotency reference in :data:`CALL_KEY` (sent by :meth:`CCaaSConnector.api`).  A crash after
the commit neither loses nor repeats a call.  The ``omnisdk_external_*`` hooks are still called
after the commit, for other plugins; the bridge no longer implements them.

**CTI** (:class:`CTIConnector`, channel voice): webhooks parse into ``io.omnisdk.call.*``
(:meth:`CTIConnector.call_event`) whose order per call follows :data:`CALL_TRANSITIONS`;
:class:`CallTracker` refuses an illegal order; ``place_call(OutboundCall)`` validates the call
(E.164 numbers) before any I/O and hands it to ``dial()``.  The core turns call events into
voice interactions (:mod:`omnisdk.voice.calls`) and asks the connector to act on a call with a
:class:`CallCommand` (:meth:`CTIConnector.control`): a plain, JSON-serializable request with an
idempotency key, written to the outbox in the transaction of the decision that causes it
(:func:`omnisdk.outbound.connector_calls.queue_command`) and sent after the commit.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from omnisdk import events as ev
from omnisdk.adapters import AccountSettings, ChannelAdapter, secret_value
from omnisdk.errors import OmniError, StateError
from omnisdk.events import Event
from omnisdk.model import Channel, Direction, Interaction, PhoneNumber, RoutingSource
from omnisdk.outbound.errors import AuthenticationError, OutboundError
from omnisdk.outbound.http import ProviderClient

if TYPE_CHECKING:
    from omnisdk.plugins import PluginHost
    from omnisdk.routing.model import Queue

log = logging.getLogger("omnisdk.connectors")

CALL_KEY: ContextVar[str | None] = ContextVar("omnisdk_connector_call_key", default=None)
"""The idempotency reference of the outbox row whose connector call is running (None outside
one): :meth:`CCaaSConnector.api` sends it when the connector passes no key of its own, and a
connector may read it (``CALL_KEY.get()``) for a provider field of its own (an external id)."""


class MappingError(OmniError, ValueError):
    """A queue, agent or wrap-up code has no entry in the connector's mapping tables.  Raised
    before any I/O; the message names the table and our key (never a credential)."""


# --- CCaaS ------------------------------------------------------------------------------------

Op = Literal["route", "transfer", "release", "wrap_up", "disconnect", "other"]
"""What a CCaaS call does, for :meth:`CCaaSConnector.api` (the test kit checks the labels)."""
OPS: frozenset[str] = frozenset(get_args(Op))


class CCaaSSettings(AccountSettings):
    """Settings of one CCaaS account (organisation).

    ``agent_map`` and ``wrap_up_map`` must be one-to-one, so that the platform's agents and codes
    in its webhooks map back to ours.
    """

    api_base_url: str = Field(description="The CCaaS API root (often region-specific).")
    token_url: str = Field(description="OAuth2 token endpoint (client-credentials grant).")
    client_id: str
    client_secret: SecretStr
    scope: str | None = Field(None, description="OAuth2 scope to ask for, if the platform needs one.")
    queue_map: dict[str, str] = Field(default_factory=dict, description="Our queue name → the CCaaS queue id.")
    agent_map: dict[str, str] = Field(default_factory=dict, description="Our agent id → the CCaaS agent (user) id.")
    wrap_up_map: dict[str, str] = Field(default_factory=dict, description="Our wrap-up code → the CCaaS wrap-up code id.")

    @model_validator(mode="after")
    def _one_to_one(self) -> CCaaSSettings:
        for name in ("agent_map", "wrap_up_map"):
            values = list(getattr(self, name).values())
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must be one-to-one: a CCaaS value appears twice, "
                                 "so its webhooks could not be mapped back")
        return self


class CCaaSConnector(ChannelAdapter):
    """Base of CCaaS connectors (see the module docstring).

    Class attributes a subclass sets: ``name``, ``Settings`` (a :class:`CCaaSSettings`
    subclass), ``recordings``; ``channel`` is only what listings show (routing events carry no
    messages).  Instance attribute ``clock`` (monotonic seconds) times the token's expiry;
    tests may replace it.
    """

    channel: ClassVar[str] = Channel.CHAT
    Settings: ClassVar[type[AccountSettings]] = CCaaSSettings
    settings: CCaaSSettings

    def __init__(self, account: str, settings: AccountSettings) -> None:
        super().__init__(account, settings)
        self.clock: Callable[[], float] = time.monotonic
        self._client: ProviderClient | None = None
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()
        self._agents_back = {v: k for k, v in self.settings.agent_map.items()}
        self._codes_back = {v: k for k, v in self.settings.wrap_up_map.items()}

    # --- mapping (pure) ------------------------------------------------------------------

    def _mapped(self, table: str, key: str) -> str:
        found = getattr(self.settings, table).get(key)
        if not isinstance(found, str):
            raise MappingError(f"{self.name}/{self.account}: {key!r} is not in {table}")
        return found

    def map_queue(self, queue: str) -> str:
        """The CCaaS queue id of our queue.  Raises MappingError."""
        return self._mapped("queue_map", queue)

    def map_agent(self, agent: str) -> str:
        """The CCaaS agent id of our agent.  Raises MappingError."""
        return self._mapped("agent_map", agent)

    def map_wrap_up(self, code: str) -> str:
        """The CCaaS wrap-up code of ours.  Raises MappingError."""
        return self._mapped("wrap_up_map", code)

    def agent_from(self, theirs: str) -> str:
        """Our agent id for a CCaaS agent id (the CCaaS's own id when it is not mapped)."""
        return self._agents_back.get(theirs, theirs)

    def wrap_up_from(self, theirs: str | None) -> str | None:
        """Our wrap-up code for a CCaaS code, or None when it is not mapped."""
        return self._codes_back.get(theirs) if theirs is not None else None

    def transfer_target(self, to_agent: str | None, to_queue: str | None) -> tuple[str | None, str | None]:
        """``(their agent id, None)`` or ``(None, their queue id)`` for a transfer.

        Raises:
            ValueError: not exactly one target.  MappingError: the target is not mapped.
        """
        if (to_agent is None) == (to_queue is None):
            raise ValueError("a transfer needs exactly one of to_agent or to_queue")
        if to_agent is not None:
            return self.map_agent(to_agent), None
        return None, self.map_queue(to_queue)  # type: ignore[arg-type]

    @staticmethod
    def conversation_ref(interaction: Interaction) -> str:
        """How the CCaaS knows the interaction: its conversation id once ``routing.assigned``
        reported one (``interaction.context["external_id"]``), else our interaction id."""
        ref = interaction.context.get("external_id")
        return ref if isinstance(ref, str) and ref else interaction.id

    # --- routing events (for parse) --------------------------------------------------------

    def _routing(self, kind: str, event_id: str, interaction_id: str, time: str, data: dict[str, Any]) -> Event:
        return Event(id=event_id, source=self.source, type=kind, subject=interaction_id, time=time,
                     correlationid=interaction_id, data={"interaction_id": interaction_id, **data})

    def assigned_event(self, *, event_id: str, interaction_id: str, agent: str, time: str,
                       external_id: str | None = None) -> Event:
        """``io.omnisdk.routing.assigned``; ``agent`` is the CCaaS's id (mapped back here)."""
        return self._routing(ev.TYPE_ROUTING_ASSIGNED, event_id, interaction_id, time,
                             {"agent": self.agent_from(agent), "external_id": external_id})

    def accepted_event(self, *, event_id: str, interaction_id: str, time: str, agent: str | None = None,
                       external_id: str | None = None) -> Event:
        """``io.omnisdk.routing.accepted``; ``agent`` is the CCaaS's id (mapped back here);
        ``external_id`` the CCaaS conversation the event names (checked by the core)."""
        data: dict[str, Any] = {"agent": self.agent_from(agent) if agent is not None else None}
        if external_id is not None:
            data["external_id"] = external_id
        return self._routing(ev.TYPE_ROUTING_ACCEPTED, event_id, interaction_id, time, data)

    def ended_event(self, *, event_id: str, interaction_id: str, time: str, reason: str,
                    wrap_up_code: str | None = None, external_id: str | None = None) -> Event:
        """``io.omnisdk.routing.ended``; ``wrap_up_code`` is the CCaaS's code (mapped back here);
        ``external_id`` the CCaaS conversation the event names (checked by the core)."""
        data: dict[str, Any] = {"wrap_up_code": self.wrap_up_from(wrap_up_code),
                                "provider_wrap_up_code": wrap_up_code, "reason": reason}
        if external_id is not None:
            data["external_id"] = external_id
        return self._routing(ev.TYPE_ROUTING_ENDED, event_id, interaction_id, time, data)

    # --- HTTP and the token --------------------------------------------------------------

    def client_options(self) -> dict[str, Any]:
        """Extra :class:`ProviderClient` arguments (``request_id_headers``, ``error_code`` …)."""
        return {}

    def http(self) -> ProviderClient:
        """The connector's HTTP client (made on first use, closed by :meth:`aclose`)."""
        if self._client is None:
            self._client = ProviderClient(provider=self.name, base_url=self.settings.api_base_url,
                                          **self.client_options())
        return self._client

    async def fetch_token(self) -> tuple[str, float]:
        """Ask the token endpoint for a new access token: ``(token, lifetime in seconds)``.

        OAuth2 client-credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication
        (§2.3.1).  Override for a platform that does it differently.

        Raises:
            OutboundError: the endpoint failed or answered without ``access_token``.
        """
        s = self.settings
        basic = base64.b64encode(
            f"{quote(s.client_id, safe='')}:{quote(secret_value(s.client_secret), safe='')}".encode()).decode()
        form = {"grant_type": "client_credentials", **({"scope": s.scope} if s.scope else {})}
        resp = await self.http().request("POST", s.token_url, data=form,
                                         headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
        try:
            doc = resp.json()
            token, lifetime = doc["access_token"], float(doc.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token:
            raise OutboundError(f"{self.name}: the token endpoint answered without an access_token", provider=self.name)
        return token, lifetime

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached access token, fetched when missing or expired (60 s early, or a tenth of
        its lifetime for short ones).  ``stale``: a token the API refused; it is dropped unless
        another call already replaced it (so concurrent 401s refresh once)."""
        async with self._token_lock:
            if stale is not None and self._token == stale:
                self._token = None
            if self._token is None or self.clock() >= self._token_expires_at:
                token, lifetime = await self.fetch_token()
                self._token = token
                self._token_expires_at = self.clock() + max(0.0, lifetime - min(60.0, lifetime / 10))
            return self._token

    async def api(self, method: str, path: str, *, op: Op | tuple[Op, ...], json: Any = None,
                  data: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                  headers: Mapping[str, str] | None = None, idempotency_key: str | None = None) -> httpx.Response:
        """One CCaaS API call with the bearer token: on a 401 the token is refreshed once and the
        call retried once (a second 401 raises).  ``op`` labels what the call does (:data:`Op`).

        Raises:
            ValueError: an unknown ``op``.  OutboundError: as :meth:`ProviderClient.request`.
        """
        ops = op if isinstance(op, tuple) else (op,)
        if idempotency_key is None:  # the outbox row's reference, during a durable call
            idempotency_key = CALL_KEY.get()
        if not ops or not set(ops) <= OPS:
            raise ValueError(f"op must be one or more of {sorted(OPS)}")

        async def call(token: str) -> httpx.Response:
            return await self.http().request(
                method, path, json=json, data=data, params=params, idempotency_key=idempotency_key,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"})

        token = await self.access_token()
        try:
            return await call(token)
        except AuthenticationError:
            log.info("%s: %s %s (%s) answered 401: new token, one retry", self.name, method, path, "+".join(ops))
            return await call(await self.access_token(stale=token))

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # --- the platform calls --------------------------------------------------------------

    @abstractmethod
    async def route(self, interaction: Interaction, queue: str) -> None:
        """Create the conversation (task) in the CCaaS on ``map_queue(queue)``, carrying
        ``interaction.id`` as its external reference (webhooks name it).  Label: ``route``.

        Raises:
            MappingError: before any I/O.  OutboundError: the call failed.
        """

    @abstractmethod
    async def transfer(self, interaction: Interaction, to_agent: str | None = None,
                       to_queue: str | None = None) -> None:
        """Move the conversation to the mapped agent or queue (``transfer_target``) and free the
        transferring agent's capacity in the CCaaS.  Labels: ``transfer`` and ``release``.

        Raises:
            MappingError: an unmapped target, before any I/O.  OutboundError: a call failed.
        """

    @abstractmethod
    async def wrap_up(self, interaction: Interaction, code: str) -> None:
        """Set ``map_wrap_up(code)`` on the conversation.  Label: ``wrap_up``.

        Raises:
            MappingError: before any I/O.  OutboundError: the call failed.
        """

    @abstractmethod
    async def disconnect(self, interaction: Interaction) -> None:
        """Hand routing control back: end the conversation in the CCaaS (which then sends
        ``routing.ended``).  Label: ``disconnect``.

        Raises:
            OutboundError: the call failed.
        """

    async def park(self, interaction: Interaction) -> None:
        """Optional: park the conversation in the CCaaS (our agent put it ``on_hold``).  The core
        queues a ``park`` call only for a connector that overrides this method.

        Raises:
            OutboundError: the call failed.
        """
        raise NotImplementedError(f"{self.name} does not park conversations")

    async def unpark(self, interaction: Interaction) -> None:
        """Optional: take the conversation out of park (the agent resumed it, or the customer
        wrote).  Queued only for a connector that overrides :meth:`park`.

        Raises:
            OutboundError: the call failed.
        """
        raise NotImplementedError(f"{self.name} does not park conversations")

    @property
    def parks(self) -> bool:
        """True when the connector overrides :meth:`park` (the core then queues park / unpark)."""
        return type(self).park is not CCaaSConnector.park


# --- the hook bridge ------------------------------------------------------------------------

BRIDGE_NAME = "omnisdk.connectors"


class ConnectorBridge:
    """The runtime's CCaaS connector accounts, and which one routes a queue.

    The lifecycle asks it (:meth:`connector_for`) in the decision's transaction and writes the
    call to the outbox (:mod:`omnisdk.outbound.connector_calls`):

    - route → ``connector.route(interaction, queue.name)``;
    - transfer → ``connector.transfer(...)`` when the target stays with the same connector,
      else ``connector.disconnect(...)`` (routing control leaves it);
    - close by the core → ``connector.wrap_up(interaction, code)`` then ``disconnect`` (also when
      the wrap-up fails, e.g. an unmapped code).

    The connector is the one ``queue.connector`` names (``"<name>"`` when it has one account,
    else ``"<name>/<account>"``).
    """

    def __init__(self, connectors: Mapping[tuple[str, str], CCaaSConnector] | None = None) -> None:
        self.connectors: dict[tuple[str, str], CCaaSConnector] = dict(connectors or {})

    def connector_for(self, queue: Queue | None) -> CCaaSConnector | None:
        """The connector account routing ``queue``, or None."""
        if queue is None or queue.routing_source is not RoutingSource.EXTERNAL or not queue.connector:
            return None
        name, _, account = queue.connector.partition("/")
        found = [c for (n, a), c in self.connectors.items() if n == name and (not account or a == account)]
        if len(found) > 1:
            log.error("queue %s: connector %r has %d accounts; name one as %s/<account>",
                      queue.name, queue.connector, len(found), name)
            return None
        return found[0] if found else None

    def check_transfer(self, interaction: Interaction, to_agent: str | None, to_queue: str | None,
                       queue: Queue | None, target_queue: Queue | None) -> None:
        """Refuse, before the transfer is committed, a target the connector routing ``queue``
        has not mapped (``transfer_target``, pure).  Nothing to check when no connector routes
        ``queue``, or when the target queue is not routed by the same connector (routing
        control leaves it: ``disconnect``).

        Raises:
            MappingError: the target agent or queue is not in the connector's tables (HTTP 409
                ``unmapped_target`` over the agent API).
        """
        connector = self.connector_for(queue)
        if connector is None or (to_queue is not None and self.connector_for(target_queue) is not connector):
            return
        connector.transfer_target(to_agent, to_queue)


def attach_connectors(host: PluginHost, adapters: Mapping[tuple[str, str], ChannelAdapter]) -> ConnectorBridge | None:
    """Register a :class:`ConnectorBridge` for the CCaaS connectors among ``adapters`` with
    ``host`` (once per host; a later call re-points it at the new adapters).  None when there
    are no connectors and no bridge yet."""
    found = {key: a for key, a in adapters.items() if isinstance(a, CCaaSConnector)}
    existing = host.pm.get_plugin(BRIDGE_NAME)
    if isinstance(existing, ConnectorBridge):
        existing.connectors = found
        return existing
    if not found:
        return None
    return host.attach(ConnectorBridge(found), BRIDGE_NAME)  # type: ignore[no-any-return]


# --- CTI ------------------------------------------------------------------------------------


class CallState(StrEnum):
    """The state of one call leg, as ``io.omnisdk.call.<state>`` events report it."""

    RINGING = "ringing"
    ANSWERED = "answered"
    HELD = "held"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"
    ENDED = "ended"

    @property
    def event_type(self) -> str:
        return f"io.omnisdk.call.{self.value}"


CALL_EVENT_TYPES: frozenset[str] = frozenset(s.event_type for s in CallState)
_S = CallState
CALL_TRANSITIONS: Mapping[CallState | None, frozenset[CallState]] = MappingProxyType({
    None: frozenset({_S.RINGING}),
    _S.RINGING: frozenset({_S.ANSWERED, _S.ENDED}),
    _S.ANSWERED: frozenset({_S.HELD, _S.TRANSFERRED, _S.ENDED}),
    _S.HELD: frozenset({_S.RESUMED, _S.ENDED}),
    _S.RESUMED: frozenset({_S.HELD, _S.TRANSFERRED, _S.ENDED}),
    _S.TRANSFERRED: frozenset({_S.ENDED}),
    _S.ENDED: frozenset(),
})
"""The legal order of one call's events (``None`` = before its first event):

======================  =====================================
from                    to
======================  =====================================
(first event)           ringing
ringing                 answered, ended (missed, busy, no answer)
answered                held, transferred, ended
held                    resumed, ended
resumed                 held, transferred, ended
transferred             ended (the transferred leg hangs up)
ended                   nothing
======================  =====================================
"""


class CallStateError(StateError):
    """A call event that does not follow :data:`CALL_TRANSITIONS`."""


class CallTracker:
    """Follows call legs through their events and refuses an illegal order.

    Args:
        transitions: the table to enforce (a connector's ``call_transitions``).
    """

    def __init__(self, transitions: Mapping[CallState | None, frozenset[CallState]] = CALL_TRANSITIONS) -> None:
        self.transitions = transitions
        self.states: dict[str, CallState] = {}

    def apply(self, event: Event) -> CallState:
        """The call's new state after ``event``.

        Raises:
            CallStateError: not a call event, no ``call_id``, or an illegal transition.
        """
        if event.type not in CALL_EVENT_TYPES:
            raise CallStateError(f"{event.type} is not an io.omnisdk.call.* event")
        call_id = (event.data or {}).get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise CallStateError(f"event {event.id} has no call_id")
        new = CallState(event.type.rsplit(".", 1)[1])
        previous = self.states.get(call_id)
        if new not in self.transitions.get(previous, frozenset()):
            raise CallStateError(f"call {call_id}: {previous.value if previous else '(start)'} → {new.value} "
                                 "is not a legal transition")
        self.states[call_id] = new
        return new


class OutboundCall(BaseModel):
    """A call to place: ``to`` and ``from`` in E.164 (checked with phonenumbers)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    to: PhoneNumber = Field(description="The customer's number, E.164.")
    from_: PhoneNumber = Field(alias="from", description="Our caller id, E.164.")
    agent: str = Field(min_length=1, description="The CTI's id of the agent who places the call.")
    interaction_id: str | None = Field(None, description="Our interaction the call belongs to.")
    timeout: int = Field(30, ge=1, le=600, description="Seconds to ring before giving up.")


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """What the CTI answered to a placed call: its call id and initial status."""

    call_id: str
    status: str = "queued"
    request_id: str | None = None


class CallAction(StrEnum):
    """What a :class:`CallCommand` asks the CTI to do with a call."""

    CONNECT = "connect"
    """Connect the caller to ``agent``'s softphone (answer, resume, a warm transfer's end)."""
    HOLD = "hold"
    """Play the hold music to the caller; the agent leaves the call."""
    RESUME = "resume"
    """Take the caller off hold: connect them to ``agent`` again."""
    TRANSFER = "transfer"
    """Hand the caller to ``agent``, ``queue`` or ``number`` (``mode`` cold or warm)."""
    HANG_UP = "hang_up"
    """End the call."""
    LEAVE = "leave"
    """Take ``agent`` out of a warm transfer's conference: the caller stays with the number
    they were transferred to (the agent hung up, or the number answered)."""


class CallCommand(BaseModel):
    """One request to the CTI about one call (see the module docstring: outbox-ready).

    ``report`` says whether the CTI should report the change back as an ``io.omnisdk.call.*``
    event: False once the call has been transferred (:data:`CALL_TRANSITIONS` then allows only
    ``ended``), so later controls change the call without a state event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: CallAction
    call_id: str = Field(min_length=1, max_length=128, description="The CTI's id of the call.")
    interaction_id: str = Field(min_length=1, max_length=64, description="Our interaction.")
    key: str = Field(min_length=1, max_length=200, description="Idempotency key: one per decision, the same on a retry.")
    seq: int = Field(0, ge=0, description="The interaction's call-control counter (distinct event ids per change).")
    agent: str | None = Field(None, min_length=1, max_length=128, description="CONNECT, RESUME, TRANSFER to an agent.")
    queue: str | None = Field(None, min_length=1, max_length=128, description="TRANSFER to a queue.")
    number: PhoneNumber | None = Field(None, description="TRANSFER to a number, E.164.")
    mode: Literal["cold", "warm"] = Field("cold", description="TRANSFER: cold hands the caller over at once; warm "
                                          "holds them until the target answers (to a number: the agent, the caller "
                                          "and the number in one conference, the agent leaving when it answers).")
    consulting: str | None = Field(None, min_length=1, max_length=128, description="TRANSFER warm to a number: the "
                                   "agent who stays on the call until the number answers.")
    report: bool = True

    @model_validator(mode="after")
    def _targets(self) -> CallCommand:
        targets = [t for t in (self.agent, self.queue, self.number) if t is not None]
        if self.action is CallAction.TRANSFER and len(targets) != 1:
            raise ValueError("a transfer needs exactly one of agent, queue or number")
        if self.action in (CallAction.CONNECT, CallAction.RESUME) and (self.agent is None or self.queue or self.number):
            raise ValueError(f"{self.action.value} needs an agent (and nothing else)")
        if self.action in (CallAction.HOLD, CallAction.HANG_UP) and targets:
            raise ValueError(f"{self.action.value} takes no target")
        if self.action is CallAction.LEAVE and (self.agent is None or self.queue or self.number):
            raise ValueError("leave needs the agent who leaves (and nothing else)")
        warm_number = self.action is CallAction.TRANSFER and self.mode == "warm" and self.number is not None
        if warm_number and self.consulting is None:
            raise ValueError("a warm transfer to a number needs the consulting agent")
        if self.consulting is not None and not warm_number:
            raise ValueError("consulting is only for a warm transfer to a number")
        return self


class CTIConnector(ChannelAdapter):
    """Base of CTI (telephony) connectors (see the module docstring).

    Subclasses implement ``verify``, ``parse`` (building events with :meth:`call_event`) and,
    to place calls, :meth:`dial`.  ``call_transitions`` is the table :meth:`tracker` enforces;
    keep :data:`CALL_TRANSITIONS` (the test kit refuses a wider one).
    """

    channel: ClassVar[str] = Channel.VOICE
    call_transitions: ClassVar[Mapping[CallState | None, frozenset[CallState]]] = CALL_TRANSITIONS

    def tracker(self) -> CallTracker:
        """A :class:`CallTracker` for this connector's calls."""
        return CallTracker(self.call_transitions)

    def call_event(self, state: CallState, *, event_id: str, call_id: str, from_: str, to: str,
                   direction: Direction | str, at: str, agent: str | None = None,
                   reason: str | None = None, interaction_id: str | None = None,
                   business: str | None = None) -> Event:
        """An ``io.omnisdk.call.<state>`` event (``subject`` the call id, ``time`` ``at``).
        ``business`` is our number on the call (the gateway refuses an event naming a number
        the account does not own); it is only added to ``data`` when given."""
        data: dict[str, Any] = {"call_id": call_id, "from": from_, "to": to, "direction": Direction(direction).value,
                                "agent": agent, "at": at, "reason": reason, "interaction_id": interaction_id}
        if business is not None:
            data["business"] = business
        return Event(id=event_id, source=self.source, type=CallState(state).event_type, subject=call_id,
                     time=at, correlationid=interaction_id, data=data)

    async def place_call(self, call: OutboundCall) -> PlacedCall:
        """Validate ``call`` again (a model built without validation is caught here, before any
        I/O) and place it with :meth:`dial`.

        Raises:
            ValueError: (pydantic ValidationError) a number is not E.164, or another field is
                invalid.  OutboundError: from dial().
        """
        checked = OutboundCall.model_validate(call.model_dump(by_alias=True))
        return await self.dial(checked)

    def check_call(self, call: OutboundCall) -> None:
        """Refuse, before anything is written, a call :meth:`dial` would refuse without I/O
        (the click-to-dial control calls it before it opens the interaction and queues the
        dial).  The default accepts every call.

        Raises:
            ValueError: the connector cannot place ``call`` (a bad agent identity, no callback
                URL configured …).
        """

    async def dial(self, call: OutboundCall) -> PlacedCall:
        """Ask the CTI to place ``call`` (already validated); return its call id.

        Raises:
            OutboundError: the call failed.
        """
        raise NotImplementedError(f"{self.name} does not place calls")

    async def control(self, command: CallCommand) -> None:
        """Carry out ``command`` on its call (hold, resume, transfer, hang up, connect).

        Raises:
            NotImplementedError: the connector has no call control.  OutboundError: the call
                to the CTI failed.
        """
        raise NotImplementedError(f"{self.name} has no call control")

    def softphone_token(self, agent: str, *, ttl: int | None = None, now: float | None = None) -> str:
        """A short-lived access token with which ``agent``'s browser softphone registers with
        the CTI (``ttl`` seconds, default the connector's; ``now`` epoch seconds, default the
        clock).

        Raises:
            NotImplementedError: the connector issues no softphone tokens.  ValueError: a bad
                agent id or ttl.
        """
        raise NotImplementedError(f"{self.name} issues no softphone tokens")


__all__ = [
    "BRIDGE_NAME", "CALL_EVENT_TYPES", "CALL_KEY", "CALL_TRANSITIONS", "CCaaSConnector", "CCaaSSettings", "CTIConnector",
    "CallAction", "CallCommand", "CallState", "CallStateError", "CallTracker", "ConnectorBridge", "MappingError", "OPS", "Op",
    "OutboundCall", "PlacedCall", "attach_connectors",
]
