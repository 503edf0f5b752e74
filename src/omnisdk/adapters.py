"""The adapter contract that channel plugins implement.

A plugin registers adapter *classes* through the ``omnisdk_adapters`` hook (see
:mod:`omnisdk.hookspecs`).  The core makes one adapter object per configured account::

    adapter = MyAdapter(account="acme", settings=MyAdapter.Settings(**toml_table))

``verify`` and ``parse`` are synchronous and pure: bytes and headers in, CloudEvents out, no
I/O and no clock (the gateway stamps ``received_at``).  ``send`` is async and goes through
the core's :class:`omnisdk.outbound.ProviderClient`.

Errors: ``verify`` raises :class:`omnisdk.errors.SignatureError`; ``parse`` raises
:class:`omnisdk.errors.PayloadError` — never another exception type, whatever the bytes.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr, field_validator

from omnisdk.events import Event
from omnisdk.model.email import OutboundEmail
from omnisdk.urls import check_http_url

# --- pull-based inbound transports (the contract; the runner is omnisdk.inbox.transports) ---

Deliver = Callable[[list[Event], str], Awaitable[None]]
"""``await deliver(events, received_at)``: make the events of one source item durable
(deduplicated on ``source`` + ``id``) and wake the processor; returns only after the inbox
commit.  ``received_at`` is the RFC 3339 UTC time the item was read.

Raises:
    omnisdk.errors.WebhookError: the events are refused for good (an event names a business
        address the account does not own, ``foreign_business_address``): nothing was stored;
        the transport sets the item aside (it would be refused again).
    Exception: any other error means the commit did not happen (the store is unavailable):
        leave the item unacknowledged and retry later.
"""

Count = Callable[[str], None]
"""``count(what)``: add one to the counter ``transport.<name>.<what>`` (written with the next
store commit, shown by ``omnisdk stats``).  ``what`` is a fixed word, never a value from the
source or a secret."""


@runtime_checkable
class InboundTransport(Protocol):
    """A pull-based inbound source of one account.

    Attributes:
        name: a short name for stats and logs, unique within the process and free of secrets
            (``"imap:support"``): the counters are ``transport.<name>.<what>``.
        exclusive: True when the source must be read by one process at a time: reading it
            changes it (an IMAP mailbox: mail is fetched, flagged and moved), so two readers
            would take each other's items.  In a process that may stand by (role ``all``) an
            exclusive transport runs only while the process leads its routing domain (a leader
            worker, :meth:`omnisdk.runtime.Runtime.add_leader_worker`): started when it takes
            the lease, stopped when it loses it.  False: any number of processes may read it at
            once (a queue with competing consumers).  A transport without the attribute (one
            written before it) is taken as exclusive.
    """

    name: str
    exclusive: bool

    async def run(self, deliver: Deliver, stop: asyncio.Event, count: Count) -> None:
        """Pull from the source until ``stop`` is set, then return (promptly: the runtime
        waits a few seconds on shutdown, then cancels).

        For each item: read it, turn it into events (the adapter's pure ``parse()``), ``await
        deliver(events, received_at)``, and only then acknowledge it at the source.  An item
        that can never be parsed is set aside at the source (a quarantine) and counted, and the
        rest go on.  Errors of the source (an outage, a refused login) are retried with
        backoff and counted; ``run`` should not raise.  If it does anyway, the runtime logs it,
        counts ``transport.<name>.crashed`` and runs it again after a backoff.
        """
        ...



@runtime_checkable
class RouteContext(Protocol):
    """What the gateway hands :meth:`ChannelAdapter.routes`: the inbox commit of the account's
    own adapter, so a plugin's routes (a web chat's WebSocket, its long-poll fallback) store
    what they receive exactly as a webhook is stored.

    Attributes:
        adapter: the adapter object of the account the routes serve.
        deliver: ``await deliver(events, received_at)``, the :data:`Deliver` contract: refuses
            events naming a business address the account does not own
            (:class:`~omnisdk.errors.WebhookError`, reason ``foreign_business_address``, nothing
            stored), else appends them to the inbox (deduplicated on ``source`` + ``id``) and
            returns only after the commit.  Any other exception means nothing was stored.
        role: the runtime's role (``all`` or ``ingress``: routes are mounted only where
            webhooks are received).
        refused: ``refused(reason, status)`` counts a request the routes refused (a reason
            code of :data:`omnisdk.errors.WEBHOOK_REASONS` or the plugin's own, and the HTTP
            status answered, or the one a WebSocket close code stands for).
    """

    adapter: ChannelAdapter
    deliver: Deliver
    role: str
    refused: Callable[[str, int], None]


@dataclass(slots=True, frozen=True)
class WebhookRequest:
    """One provider webhook request as the gateway received it.

    Attributes:
        method: ``"POST"`` or ``"GET"``.
        url: the full public URL the provider called (scheme, host, port, path, query), as
            configured by ``public_url`` when the gateway runs behind a proxy.  Signatures
            such as Twilio's are computed over it.
        headers: header names lower-cased.
        query: query parameters (the last value of a repeated name).
        body: the raw body bytes, unchanged.
        received_at: RFC 3339 UTC time the gateway received the request.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    received_at: str = "1970-01-01T00:00:00Z"


@dataclass(slots=True, frozen=True)
class WebhookReply:
    """What the gateway answers the provider with (status, content type, body bytes)."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b'{"status":"accepted"}'


class AccountSettings(BaseModel):
    """Base of every plugin's per-account settings.

    Declare credentials as :class:`pydantic.SecretStr` so they are masked in reprs, logs and
    errors.  Checks every subclass inherits, so a plugin cannot forget them:

    - unknown keys are refused (a typo in the TOML is a start-up error), and defaults are
      validated like given values;
    - every :class:`~pydantic.SecretStr` / :class:`~pydantic.SecretBytes` field (also inside
      a list or a dict) must be non-empty and not only whitespace: an empty HMAC key would
      make every body "signed" by anyone who knows the key is empty;
    - ``api_base_url``, when set (also when a subclass redefines the field with its own
      default), must be an absolute http(s) URL (:func:`omnisdk.urls.check_http_url`).

    Raises:
        pydantic.ValidationError: on construction; its locations name the field, never the
            value (secrets stay masked).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, hide_input_in_errors=True)
    # hide_input_in_errors: pydantic prints the refused input beside each error, and for a
    # secret the input is the secret itself (a too-short key, a key without its prefix)

    api_base_url: str | None = Field(
        None, description="Override of the provider API's base URL (tests, proxies, the demo)."
    )

    @field_validator("*", mode="after")
    @classmethod
    def _secrets_not_empty(cls, value: Any) -> Any:
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else (value,)
        for item in items:
            if isinstance(item, SecretStr | SecretBytes) and not item.get_secret_value().strip():
                raise ValueError("is a secret and must not be empty (nor only whitespace)")
        return value

    @field_validator("api_base_url", mode="after")
    @classmethod
    def _api_base_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


_STRICT = ConfigDict(extra="forbid")
"""Outbound models refuse unknown fields: a field the core does not carry (``interactive=…``)
must fail loudly, not be dropped and sent as something else."""


class OutboundMessage(BaseModel):
    """A message to send to a customer.

    Exactly one of ``text``, ``media`` or ``template`` carries the content (``text`` may go with
    ``media`` as its caption/body where the provider allows it).

    Raises:
        pydantic.ValidationError: on construction, for a field of the wrong type or a field
            this model does not have (``extra_forbidden``, naming the field): unknown content
            such as ``interactive`` is refused, never silently dropped.
    """

    model_config = _STRICT

    customer: str = Field(description="Recipient address value (E.164 for phone channels).")
    business: str | None = Field(None, description="Sender address; the account default if None.")
    text: str | None = None
    media: list[OutboundMedia] = Field(default_factory=list)
    template: Template | None = None
    reply_to: str | None = Field(None, description="Provider id of the message being answered.")
    interaction_id: str | None = None
    customer_last_wrote_at: float | None = Field(None, description=(
        "When the customer last wrote on this account (epoch seconds, UTC), set by the outbox for "
        "adapters with a service window: the provider's messaging type may depend on it "
        "(Messenger's HUMAN_AGENT tag)."))
    email: OutboundEmail | None = Field(None, description="Channel email: the headers the core fixed "
                                        "(Message-ID, subject, In-Reply-To, References).")
    buttons: list[ReplyButton] = Field(default_factory=list, description=(
        "Quick-reply buttons under ``text`` (WhatsApp interactive reply buttons: 1 to 3)."))
    list_menu: ListMenu | None = Field(None, description="A menu of choices under ``text`` (WhatsApp list message).")
    location: Location | None = Field(None, description="A place to show on a map.")
    reaction: Reaction | None = Field(None, description="An emoji on one of the customer's messages.")
    contacts: list[ContactCard] = Field(default_factory=list, description="Contact cards to share.")
    preview_url: bool = Field(False, description="Render a preview of the first URL in ``text``.")


class OutboundMedia(BaseModel):
    """A media item to send, by public URL or provider media id.

    Raises:
        pydantic.ValidationError: a field of the wrong type or an unknown field.
    """

    model_config = _STRICT

    media_type: str = Field(description="image, video, audio, document or sticker.")
    url: str | None = None
    media_id: str | None = None
    caption: str | None = None
    filename: str | None = None


class Template(BaseModel):
    """A pre-approved template message (WhatsApp message templates).

    Raises:
        pydantic.ValidationError: a field of the wrong type or an unknown field.
    """

    model_config = _STRICT

    name: str
    language: str = Field(description="Locale code, e.g. en_US.")
    components: list[dict[str, Any]] = Field(default_factory=list)


class ReplyButton(BaseModel):
    """One quick-reply button: the customer's tap comes back as a message carrying ``id``.

    Raises:
        pydantic.ValidationError: a field of the wrong type or an unknown field.
    """

    model_config = _STRICT

    id: str = Field(min_length=1, max_length=256, description="What comes back when it is tapped.")
    title: str = Field(min_length=1, max_length=20, description="The button's label.")


class ListRow(BaseModel):
    """One choice of a list menu (raises pydantic.ValidationError on bad or unknown fields)."""

    model_config = _STRICT

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(None, max_length=72)


class ListSection(BaseModel):
    """A titled group of rows (raises pydantic.ValidationError on bad or unknown fields)."""

    model_config = _STRICT

    title: str | None = Field(None, max_length=24)
    rows: list[ListRow] = Field(min_length=1, max_length=10)


class ListMenu(BaseModel):
    """A menu opened by one button (raises pydantic.ValidationError on bad or unknown fields)."""

    model_config = _STRICT

    button: str = Field(min_length=1, max_length=20, description="The label of the button that opens it.")
    sections: list[ListSection] = Field(min_length=1, max_length=10)


class Location(BaseModel):
    """A place (WGS 84 degrees; raises pydantic.ValidationError on bad or unknown fields)."""

    model_config = _STRICT

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, max_length=1000)
    address: str | None = Field(None, max_length=1000)


class Reaction(BaseModel):
    """An emoji on a message (an empty emoji removes ours; raises pydantic.ValidationError)."""

    model_config = _STRICT

    message_id: str = Field(min_length=1, description="The provider id of the message reacted to.")
    emoji: str = Field(max_length=16, description="One emoji; empty: remove the reaction.")


class ContactCard(BaseModel):
    """A contact to share (raises pydantic.ValidationError on bad or unknown fields)."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200, description="The name as it should show.")
    phones: list[str] = Field(default_factory=list, max_length=20, description="E.164 numbers.")
    emails: list[str] = Field(default_factory=list, max_length=20)


RICH_CONTENT = ("buttons", "list_menu", "location", "reaction", "contacts", "preview_url")
"""The :class:`OutboundMessage` fields beyond text, media and template: an adapter that does not
list one in :attr:`ChannelAdapter.outbound_content` never receives a message using it."""


def unsupported_content(message: OutboundMessage, supported: frozenset[str]) -> list[str]:
    """The content fields ``message`` uses that ``supported`` does not list."""
    used = [f for f in RICH_CONTENT if getattr(message, f)]
    if message.template is not None:
        used.append("template")
    if message.media:
        used.append("media")
    return [f for f in used if f not in supported]


OutboundMessage.model_rebuild()


@dataclass(slots=True, frozen=True)
class SendResult:
    """What the provider answered to a send.

    Attributes:
        message_id: the provider's id for the new message (wamid…, SM…).
        status: the provider's initial status word (``accepted``, ``queued`` …).
        request_id: the provider's request id header, for support tickets.
    """

    message_id: str
    status: str = "accepted"
    request_id: str | None = None


class ChannelAdapter(ABC):
    """Base class of channel adapters: verify and parse webhooks, send messages.

    Class attributes a subclass sets:
        name: the *provider*: the plugin name, also the URL segment
            ``/webhooks/{name}/{account}`` and the configuration table
            ``[accounts.<name>.<account>]``.  Not the channel: two providers may serve one
            channel.
        channel: the channel its messages belong to: a name :func:`~omnisdk.model.check_channel`
            accepts, one of :class:`~omnisdk.model.Channel`'s constants or a new one (``"telegram"``).
        Settings: its :class:`AccountSettings` subclass.
        max_body_bytes: webhook bodies above this are refused with 413.
        webhook_methods: the HTTP methods the provider's webhooks use (default ``POST``).  A
            ``GET`` that is no handshake (:meth:`handshake` returns None) is verified and
            parsed like a POST when ``"GET"`` is listed (body empty, the query carries the
            parameters, as Twilio's GET webhooks do); otherwise it is answered 405.
        recordings: folder of recorded provider payloads shipped with the plugin (package
            data), used by its tests, ``omnisdk demo`` and the test kit; see
            :mod:`omnisdk.recordings` for the file formats.
    """

    name: ClassVar[str]
    channel: ClassVar[str]
    Settings: ClassVar[type[AccountSettings]] = AccountSettings
    max_body_bytes: ClassVar[int] = 1 << 20
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    recordings: ClassVar[Path | None] = None
    outbound_content: ClassVar[frozenset[str]] = frozenset({"text", "media", "template"})
    """The :class:`OutboundMessage` content fields :meth:`send` can carry (beside ``text``:
    ``media``, ``template`` and :data:`RICH_CONTENT`'s).  The core refuses, before any I/O, a
    message using another one, so no content is ever dropped silently."""
    route_prefix: ClassVar[str | None] = None
    """The first path segment of the adapter's own routes (:meth:`routes`), mounted by the
    gateway at ``/{route_prefix}/{account}/…`` for every account; None: the adapter has none.
    A lower-case word (letters, digits, ``_``, ``-``) no core route uses (``webhooks``, ``v1``,
    ``links``, ``healthz``, ``readyz``, ``metrics``, ``docs``, ``openapi.json``) and no other
    loaded adapter declares; the gateway refuses others at start
    (:class:`~omnisdk.errors.ConfigError`)."""
    service_window: float | None = None
    """Seconds after the customer's last message during which the business may send free-form
    messages (a WhatsApp or Messenger customer-service window); None: no window.  Outside it
    the core refuses a text before any I/O (:class:`~omnisdk.errors.WindowClosedError`) and
    only a template may go.  An instance may set its own from its settings."""
    read_receipts: ClassVar[bool] = False
    """Whether :meth:`mark_read` tells the provider that the business read the customer's
    messages (WhatsApp's blue ticks).  When True, and ``[lifecycle] read_receipts`` is on, the
    core queues one in the outbox when an agent accepts a conversation and when they reply."""

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Settings with obviously fake credentials, for the demo, docs and scaffolds."""
        return {}

    def __init__(self, account: str, settings: AccountSettings) -> None:
        self.account = account
        self.settings = settings
        self.source = f"/{self.name}/{account}"

    def __repr__(self) -> str:  # settings repr masks SecretStr fields
        return f"{type(self).__name__}(account={self.account!r})"

    def business_addresses(self) -> frozenset[str]:
        """The business addresses this account owns: the values its events carry in
        ``data["business"]`` and its sends may use as sender (a WhatsApp phone number id, a
        Twilio number in E.164 …), read from the account's settings.

        The gateway refuses a webhook whose events name a business address outside this set
        (403 ``foreign_business_address``, nothing stored), and
        :meth:`omnisdk.runtime.Runtime.start_outbound` refuses to send from one (ValueError).
        The default owns nothing, so an adapter whose events carry ``business`` must override
        it.  Called on every webhook: compute the set once (settings are frozen).
        """
        return frozenset()

    def default_business(self) -> str | None:
        """The sender of an outbound conversation that names none: one of
        :meth:`business_addresses`, or None when the account has no fixed sender (the caller
        must then name one)."""
        return None

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Authenticate the request (signature, token).  Pure, constant-time comparison.

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[Event]:
        """Translate a verified request into CloudEvents, one fact each.  Pure.

        Returns an empty list for payloads that carry no fact (a console "verify" ping).

        Raises:
            PayloadError: malformed, truncated or undocumented body.
        """

    def handshake(self, request: WebhookRequest) -> WebhookReply | None:
        """Answer a provider's GET verification handshake, or None if the plugin has none.

        Raises:
            SignatureError: the handshake's token is wrong.
            PayloadError: the handshake's parameters are malformed.
        """
        return None

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """What the provider API answers to the ``n``-th successful send, as JSON.

        Used by the demo's stand-in provider API and the test kit, so they need no provider
        knowledge of their own.
        """
        return {"id": f"sandbox-{n}"}

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """The headers the provider would add to sign this request (replay, demo, tests).

        Raises:
            NotImplementedError: the plugin cannot sign (e.g. asymmetric provider keys).
        """
        raise NotImplementedError(f"{self.name} cannot sign requests")

    def acknowledge(self, events: Sequence[Event]) -> WebhookReply:
        """The reply sent once the events are durable (override for TwiML and the like)."""
        return WebhookReply()

    async def send(self, message: OutboundMessage, *, idempotency_key: str) -> SendResult:
        """Send one message through the provider API.

        ``idempotency_key`` is made once per outbox row and is the same on every retry.

        Raises:
            omnisdk.outbound.OutboundError: or a subclass, with the provider's request id.
        """
        raise NotImplementedError(f"{self.name} does not send messages")

    async def mark_read(self, message_id: str, *, customer: str, business: str | None = None) -> None:
        """Tell the provider that the business read the customer's message ``message_id`` (the
        provider's id, as the inbound event carried it) and the ones before it; ``customer`` is
        the customer's address on the channel (some providers mark a conversation read, not a
        message), ``business`` the business address (the account's default when None).  Only called when
        :attr:`read_receipts` is True; sent through the outbox, so it is retried like a send.

        Raises:
            ValueError: no message id, or a ``business`` this account does not own (no I/O).
            omnisdk.outbound.OutboundError: or a subclass, as :meth:`send`.
        """
        raise NotImplementedError(f"{self.name} sends no read receipts")

    def routes(self, context: RouteContext) -> Sequence[Any]:
        """The adapter's own HTTP and WebSocket routes (Starlette ``Route`` /
        ``WebSocketRoute`` objects, paths relative to the mount), served at
        ``/{route_prefix}/{account}/…`` in the processes that receive webhooks (roles ``all``
        and ``ingress``), before the agent API.  For channels whose customers talk to the
        gateway itself (a web chat widget) rather than through a provider's webhooks.

        What they receive enters the inbox through ``context.deliver`` (the webhook commit:
        durable before it is acknowledged); they must answer bad input with a 4xx (or a typed
        WebSocket close code), never a 500.  Called once per account, when the app is built;
        the default has none.
        """
        return ()

    def socket_message_limit(self) -> int | None:
        """The largest WebSocket message, in bytes, the adapter's :meth:`routes` accept; None:
        they hold no WebSocket.  ``omnisdk serve`` sets uvicorn's ``ws_max_size`` to the largest
        of every adapter's, so a bigger message is refused (close 1009) before it is buffered
        whole."""
        return None

    def transports(self) -> Sequence[InboundTransport]:
        """The pull-based inbound sources of this account (an IMAP mailbox …), run by the
        runtime next to the webhook endpoint (in the process that receives webhooks; an
        exclusive one, in a core that may stand by, only while it leads) until shutdown; see
        :class:`InboundTransport` and :mod:`omnisdk.inbox.transports` (acknowledge at the
        source only after the inbox commit).  The default has none.  Called once, at start."""
        return ()

    async def aclose(self) -> None:
        """Release the adapter's HTTP client and other resources."""


def secret_value(secret: SecretStr | None) -> str:
    """The plain value of a SecretStr (empty string for None)."""
    return secret.get_secret_value() if secret is not None else ""
