"""The ``cti_twilio`` connector: Twilio Programmable Voice calls as omnisdk call events, TwiML
answers, and call control through the Calls REST API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
from omnisdk_twilio_common import signature
from omnisdk_twilio_common.forms import decode_form

from omnisdk.adapters import WebhookReply, WebhookRequest, secret_value
from omnisdk.connectors import (
    CALL_KEY,
    CallAction,
    CallCommand,
    CallState,
    CTIConnector,
    OutboundCall,
    PlacedCall,
)
from omnisdk.errors import PayloadError
from omnisdk.events import Event
from omnisdk.outbound import OutboundError, ProviderClient, RetryPolicy
from omnisdk_cti_twilio import token, translate, twiml
from omnisdk_cti_twilio.settings import TwilioVoiceSettings

PROVIDER = "twilio"
REQUEST_ID_HEADER = "Twilio-Request-Id"
STATUS_EVENTS = ("initiated", "ringing", "completed")
"""``StatusCallbackEvent`` of the calls we place (twilio.com/docs/voice/api/call-resource):
``answered`` comes from the ``Url`` Twilio fetches when the customer answers (it names the
agent), so it is not asked for twice."""
TWIML = "text/xml"


def twilio_error_code(body: Any) -> str | None:
    """The ``code`` of a Twilio REST error body (twilio.com/docs/usage/twilios-response)."""
    if isinstance(body, dict) and body.get("code") is not None:
        return str(body["code"])
    return None


class TwilioVoiceConnector(CTIConnector):
    """Verify and translate Twilio voice webhooks, answer them with TwiML, place and control
    calls with the Calls resource (twilio.com/docs/voice/api/call-resource).

    Webhooks: ``POST /webhooks/cti_twilio/{account}`` as the number's "A call comes in" URL and
    its "Call status changes" URL, and as the ``Url`` / ``StatusCallback`` /
    ``recordingStatusCallback`` of the calls we place and record.

    Args:
        account: the account name in the configuration.
        settings: :class:`TwilioVoiceSettings` (or a dict of them).
        transport, sleep, retry: for the REST client (tests).
    """

    name: ClassVar[str] = "cti_twilio"
    Settings: ClassVar[type[TwilioVoiceSettings]] = TwilioVoiceSettings
    max_body_bytes: ClassVar[int] = 64 * 1024
    recordings: ClassVar[Path | None] = Path(__file__).parent / "recordings"

    settings: TwilioVoiceSettings

    def __init__(self, account: str, settings: TwilioVoiceSettings | dict[str, Any], *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None, retry: RetryPolicy | None = None) -> None:
        if not isinstance(settings, TwilioVoiceSettings):
            settings = TwilioVoiceSettings.model_validate(settings)
        super().__init__(account, settings)
        self._owned = frozenset(settings.numbers)
        self._transport, self._sleep, self._retry = transport, sleep, retry
        self._client: ProviderClient | None = None
        self._last_form: tuple[bytes, list[tuple[str, str]]] | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        """Obviously fake but valid settings (demo, docs, test kit); the number is the
        recordings' business number (``recordings/SOURCES.md``)."""
        return {
            "account_sid": "AC" + "0123456789abcdef" * 2,
            "auth_token": "example-voice-auth-token",
            "numbers": ["+14155550100"],
            "webhook_url": "https://omnisdk.example.com/webhooks/cti_twilio/acme",
            "api_key_sid": "SK" + "fedcba9876543210" * 2,
            "api_key_secret": "example-api-key-secret-0123456789",
            "twiml_app_sid": "AP" + "00112233445566778899aabbccddeeff",
        }

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A Calls API answer (create or update, twilio.com/docs/voice/api/call-resource)."""
        return {"sid": f"CA{n:032x}", "status": "queued", "account_sid": cls.example_settings()["account_sid"]}

    def business_addresses(self) -> frozenset[str]:
        """The account's voice numbers (E.164)."""
        return self._owned

    def default_business(self) -> str | None:
        """The first configured number: the caller id of calls we place."""
        return self.settings.numbers[0]

    # --- inbound --------------------------------------------------------------------------

    def _decode(self, body: bytes) -> list[tuple[str, str]]:
        last = self._last_form  # verify then parse of one request decode it once (a pure cache)
        if last is not None and last[0] is body:
            return last[1]
        pairs = decode_form(body)
        self._last_form = (body, pairs)
        return pairs

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` (:mod:`omnisdk_twilio_common.signature`, shared with
        the SMS plugin).

        Raises:
            SignatureError: missing, malformed or wrong signature.
        """
        signature.verify(secret_value(self.settings.auth_token), request.url, request.body,
                         request.headers.get(signature.HEADER_LOWER), method=request.method, decode=self._decode)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """The call events of one webhook (:mod:`omnisdk_cti_twilio.translate`).

        Raises:
            PayloadError: a malformed body or an undocumented value.
        """
        params = dict(self._decode(request.body))
        query = request.query
        if not query and "?" in request.url:
            try:
                query = dict(decode_form(urlsplit(request.url).query))
            except ValueError:
                raise PayloadError("webhook URL is not parseable", reason="malformed_payload") from None
        return translate.to_events(self, params, query, request.received_at)

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        """``{"X-Twilio-Signature": ...}`` as Twilio would send it."""
        return {signature.HEADER: signature.sign(secret_value(self.settings.auth_token), url, body, content_type)}

    def acknowledge(self, events: Sequence[Event]) -> WebhookReply:
        """TwiML: an incoming call (``call.ringing`` inbound) waits in ``queue_name``
        (``<Enqueue>``) until an agent answers; a call we placed that the customer answered
        (``call.answered`` naming the agent) dials the agent's softphone (``<Dial><Client>``);
        every other webhook gets an empty ``<Response/>``."""
        body: bytes | None = None  # the last event that has TwiML of its own decides; one document built
        for event in events:
            data = event.data or {}
            if event.type == CallState.RINGING.event_type and data.get("direction") == "inbound":
                body = twiml.enqueue(self.settings.queue_name, self.settings.wait_url)
            elif event.type == CallState.ANSWERED.event_type and data.get("agent"):
                body = twiml.dial_client(str(data["agent"]), record=self.settings.record,
                                         recording_callback=self._callback(data.get("interaction_id")))
        return WebhookReply(status=200, content_type=TWIML, body=twiml.empty() if body is None else body)

    # --- REST -----------------------------------------------------------------------------

    def _api(self) -> ProviderClient:
        if self._client is None:
            extra: dict[str, Any] = {}
            if self._sleep is not None:
                extra["sleep"] = self._sleep
            if self._retry is not None:
                extra["retry"] = self._retry
            self._client = ProviderClient(
                provider=PROVIDER, base_url=self.settings.rest_base_url(),
                auth=(self.settings.account_sid, secret_value(self.settings.auth_token)),
                request_id_headers=(REQUEST_ID_HEADER,), error_code=twilio_error_code,
                transport=self._transport, **extra)
        return self._client

    def _callback(self, interaction_id: Any = None, **more: str) -> str | None:
        """``webhook_url`` with our query parameters (covered by Twilio's signature)."""
        base = self.settings.webhook_url
        if base is None:
            return None
        query = {**({translate.INTERACTION_PARAM: str(interaction_id)} if interaction_id else {}), **more}
        if not query:
            return base
        return base + ("&" if "?" in base else "?") + urlencode(query)

    def _calls_path(self, call_id: str | None = None) -> str:
        root = f"/2010-04-01/Accounts/{self.settings.account_sid}/Calls"
        return f"{root}/{call_id}.json" if call_id else f"{root}.json"

    def call_form(self, call: OutboundCall) -> dict[str, str | list[str]]:
        """The form of "Create a Call" (twilio.com/docs/voice/api/call-resource#create-a-call-resource):
        ``To`` (the customer), ``From`` (our number), ``Url`` (our webhook, fetched when the
        customer answers; its query names the agent, whose softphone is then dialled),
        ``StatusCallback`` + ``StatusCallbackEvent`` + ``StatusCallbackMethod``, ``Timeout``.

        Raises:
            ValueError: no ``webhook_url`` configured, the agent is no valid client identity,
                or ``from`` is not one of the account's numbers.
        """
        if self.settings.webhook_url is None:
            raise ValueError("cti_twilio: set webhook_url to place calls (Twilio calls it back)")
        if not token.IDENTITY.fullmatch(call.agent):
            raise ValueError("agent must be 1-121 characters of letters, digits, _ . @ -")
        if call.from_ not in self._owned:
            raise ValueError("from must be one of the account's numbers")
        connect = self._callback(call.interaction_id, **{translate.AGENT_PARAM: call.agent})
        return {"To": call.to, "From": call.from_, "Url": connect or "", "Method": "POST",
                "StatusCallback": self._callback(call.interaction_id) or "", "StatusCallbackMethod": "POST",
                "StatusCallbackEvent": list(STATUS_EVENTS), "Timeout": str(call.timeout)}

    def check_call(self, call: OutboundCall) -> None:
        """What :meth:`call_form` refuses, before the core writes anything (click-to-dial).

        Raises:
            ValueError: see :meth:`call_form`.
        """
        self.call_form(call)

    async def dial(self, call: OutboundCall) -> PlacedCall:
        """Create the call (click-to-dial): the customer's phone rings; when they answer, Twilio
        fetches ``Url`` and our TwiML dials the agent's softphone.

        Raises:
            ValueError: see :meth:`call_form` (before any I/O).
            OutboundError: or a subclass, with Twilio's error code and request id.
        """
        form = self.call_form(call)
        api = self._api()
        key = CALL_KEY.get() or (f"dial:{call.interaction_id}" if call.interaction_id else None)
        resp = await api.request("POST", self._calls_path(), data=form, idempotency_key=key)
        request_id = api.request_id(resp)
        try:
            doc = resp.json()
            sid = str(doc["sid"])
        except (ValueError, KeyError, TypeError):
            raise OutboundError(f"{PROVIDER}: Calls.json answered {resp.status_code} without a call sid",
                                provider=PROVIDER, request_id=request_id) from None
        return PlacedCall(call_id=sid, status=str(doc.get("status") or "queued"), request_id=request_id)

    def command_form(self, command: CallCommand) -> dict[str, str]:
        """The form of "Update a Call" (twilio.com/docs/voice/api/call-resource#update-a-call-resource)
        for ``command``: ``Twiml`` (new instructions, run at once: connect = ``<Dial><Client>``,
        hold = ``<Play loop="0">`` the hold music, transfer = ``<Dial><Client>`` /
        ``<Enqueue>`` / ``<Dial><Number>`` cold, or the hold music while a warm transfer's target
        answers), or ``Status=completed`` to hang up.

        Raises:
            ValueError: an agent that is no valid client identity.
        """
        s = self.settings
        caller_id = s.numbers[0]
        recording = self._callback(command.interaction_id)
        if command.action is CallAction.HANG_UP:
            return {"Status": "completed"}
        if command.action is CallAction.HOLD or (command.action is CallAction.TRANSFER and command.mode == "warm"):
            return {"Twiml": twiml.hold(s.hold_music_url).decode("utf-8")}
        if command.action is CallAction.TRANSFER and command.queue is not None:
            return {"Twiml": twiml.enqueue(command.queue, s.wait_url).decode("utf-8")}
        if command.action is CallAction.TRANSFER and command.number is not None:
            return {"Twiml": twiml.dial_number(command.number, caller_id=caller_id).decode("utf-8")}
        agent = command.agent or ""
        if not token.IDENTITY.fullmatch(agent):
            raise ValueError("agent must be 1-121 characters of letters, digits, _ . @ -")
        return {"Twiml": twiml.dial_client(agent, record=s.record, recording_callback=recording).decode("utf-8")}

    async def control(self, command: CallCommand) -> None:
        """Carry out ``command``: one "Update a Call" request (:meth:`command_form`); a warm
        transfer to a number is a conference (:meth:`consult`), and LEAVE takes the consulting
        agent out of it (:meth:`leave`).

        Raises:
            ValueError: before any I/O (see :meth:`command_form`).
            OutboundError: or a subclass (Twilio's 404 for an unknown or finished call is a
                ``NotFoundError``-like ``BadRequestError`` with code ``20404``).
        """
        if command.action is CallAction.TRANSFER and command.mode == "warm" and command.number is not None:
            await self.consult(command)
            return
        if command.action is CallAction.LEAVE:
            await self.leave(command)
            return
        form = self.command_form(command)
        await self._api().request("POST", self._calls_path(command.call_id), data=form, idempotency_key=command.key)

    # --- a warm transfer to a number: a conference --------------------------------------

    @staticmethod
    def conference_name(interaction_id: str) -> str:
        """The conference of one interaction's warm transfer: ``omnisdk-{interaction id}``."""
        return f"omnisdk-{interaction_id}"

    def _conferences_path(self, conference: str | None = None) -> str:
        root = f"/2010-04-01/Accounts/{self.settings.account_sid}/Conferences"
        return f"{root}/{quote(conference, safe='')}/Participants.json" if conference else f"{root}.json"

    def consult_requests(self, command: CallCommand) -> list[tuple[str, dict[str, str]]]:
        """The three requests of a warm transfer to ``command.number``, in order, as
        ``(path, form)`` (Twilio's conference-based warm transfer: the caller and the agent in a
        named conference, the number dialled into it):

        1. "Update a Call" on the caller's call (twilio.com/docs/voice/api/call-resource#update-a-call-resource):
           ``Twiml`` = :func:`~omnisdk_cti_twilio.twiml.conference` (``endConferenceOnExit``: the
           conference ends with the caller).  The caller's ``<Dial><Client>`` leg to the agent
           ends there;
        2. "Create a Participant" (twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource),
           path ``Conferences/{FriendlyName}/Participants.json`` (a friendly name creates the
           conference if it has not started): the agent's softphone, ``To=client:{agent}``,
           ``Label=agent`` (the label later removes them), ``EndConferenceOnExit=false``;
        3. the same for the number: ``To`` the number, ``From`` our first number,
           ``Label=transfer``, and ``StatusCallback`` our webhook with
           ``omnisdk_leg=transfer`` and ``omnisdk_call={the caller's CallSid}`` in its query
           (signed by Twilio like every callback), ``StatusCallbackEvent=answered completed``:
           its ``answered`` callback is the ``call.transferred`` event that completes the
           transfer (:mod:`omnisdk_cti_twilio.translate`).

        Raises:
            ValueError: no ``webhook_url``, or a consulting agent that is no client identity.
        """
        s = self.settings
        agent = command.consulting or ""
        if not token.IDENTITY.fullmatch(agent):
            raise ValueError("agent must be 1-121 characters of letters, digits, _ . @ -")
        callback = self._callback(command.interaction_id, **{translate.LEG_PARAM: translate.TRANSFER_LEG,
                                                            translate.CALL_PARAM: command.call_id})
        if callback is None:
            raise ValueError("cti_twilio: set webhook_url for a warm transfer to a number (Twilio calls it back)")
        room = self.conference_name(command.interaction_id)
        participants = self._conferences_path(room)
        caller_id = s.numbers[0]
        return [
            (self._calls_path(command.call_id),
             {"Twiml": twiml.conference(room, end_on_exit=True, wait_url=s.wait_url).decode("utf-8")}),
            (participants, {"From": caller_id, "To": f"client:{agent}", "Label": "agent", "Beep": "false",
                            "EndConferenceOnExit": "false", "EarlyMedia": "false"}),
            (participants, {"From": caller_id, "To": str(command.number), "Label": "transfer", "Beep": "false",
                            "EndConferenceOnExit": "false", "StatusCallback": callback,
                            "StatusCallbackMethod": "POST", "StatusCallbackEvent": "answered completed"}),
        ]

    async def consult(self, command: CallCommand) -> None:
        """Make the requests of :meth:`consult_requests` in order, each with its own
        idempotency key (``{command key}:{n}``).  A retry after a partial failure sends the
        caller's update again (harmless: the same TwiML) and then the participants; Twilio
        documents no idempotency for the Participants API, so a crash between a participant's
        creation and its record may add that participant twice.

        Raises:
            ValueError: before any I/O.  OutboundError: a request failed.
        """
        api = self._api()
        for n, (path, form) in enumerate(self.consult_requests(command), 1):
            await api.request("POST", path, data=form, idempotency_key=f"{command.key}:{n}")

    async def leave(self, command: CallCommand) -> None:
        """Take the consulting agent out of the warm transfer's conference: find the
        conference by its friendly name ("Read multiple Conference resources", ``FriendlyName``
        and ``Status=in-progress``: twilio.com/docs/voice/api/conference-resource#read-multiple-conference-resources),
        then "Delete a Participant" by its label ``agent``
        (twilio.com/docs/voice/api/conference-participant-resource#delete-a-participant-resource).
        No conference in progress, or no such participant (404): the agent is gone already,
        and nothing more is done.

        Raises:
            OutboundError: Twilio refused or could not be reached.
        """
        api = self._api()
        resp = await api.request("GET", self._conferences_path(), params={
            "FriendlyName": self.conference_name(command.interaction_id), "Status": "in-progress"})
        try:
            rooms = [str(c["sid"]) for c in resp.json().get("conferences", []) if c.get("sid")]
        except (ValueError, AttributeError, TypeError, KeyError):
            raise OutboundError(f"{PROVIDER}: Conferences.json answered without a conference list",
                                provider=PROVIDER, request_id=api.request_id(resp)) from None
        for room in rooms:
            path = f"/2010-04-01/Accounts/{self.settings.account_sid}/Conferences/{room}/Participants/agent.json"
            try:
                await api.request("DELETE", path, idempotency_key=command.key)
            except OutboundError as exc:
                if getattr(exc, "status_code", None) != 404:  # 404: the agent left already
                    raise

    def softphone_token(self, agent: str, *, ttl: int | None = None, now: float | None = None) -> str:
        """A Voice-grant access token for ``agent``'s softphone (:mod:`omnisdk_cti_twilio.token`),
        valid ``ttl`` seconds (default ``token_ttl``).

        Raises:
            NotImplementedError: no API key configured.  ValueError: a bad identity or ttl.
        """
        s = self.settings
        if s.api_key_sid is None or s.api_key_secret is None:
            raise NotImplementedError("cti_twilio: set api_key_sid and api_key_secret to issue softphone tokens")
        return token.voice_token(account_sid=s.account_sid, api_key_sid=s.api_key_sid,
                                 api_key_secret=secret_value(s.api_key_secret), identity=agent,
                                 ttl=ttl if ttl is not None else s.token_ttl, application_sid=s.twiml_app_sid, now=now)

    async def aclose(self) -> None:
        """Close the REST client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
