"""``GenesysCloudConnector``: Genesys Cloud CX routes our email and messaging interactions.

The calls (paths and bodies: :mod:`omnisdk_ccaas_genesys.requests`), all through
:meth:`~omnisdk.connectors.CCaaSConnector.api` (bearer token from ``login.{region}``,
refreshed once on a 401):

- ``route``: create the conversation on the mapped queue, our interaction id in its
  participant attributes (email: ``POST /api/v2/conversations/emails``; messaging: the Open
  Messaging inbound message);
- ``transfer``: ``GET`` the conversation for the agent participant, then ``POST …/replace``
  (unattended: the transferring agent leaves, Genesys Cloud frees their capacity);
- ``wrap_up``: ``PATCH`` the agent participant's ``wrapup.code`` (the mapped code id);
- ``park`` / ``unpark``: ``PATCH`` its ``state`` ``parked`` / ``connected`` (our on-hold parks
  the Genesys interaction; the customer's reply, which takes it back to work, unparks it:
  the core queues both as durable connector calls, :mod:`omnisdk.outbound.connector_calls`);
- ``disconnect``: ``PATCH`` its ``state`` ``disconnected``: the agent leaves and routing
  control is Genesys Cloud's again (its ``acw`` / ``acd.end`` event then ends ours).

A target, agent or code missing from the mappings raises
:class:`~omnisdk.connectors.MappingError` before any I/O.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from omnisdk.adapters import AccountSettings, WebhookRequest, secret_value
from omnisdk.connectors import CCaaSConnector
from omnisdk.events import TYPE_PROVIDER_NOTICE, Event
from omnisdk.model import Channel, Interaction
from omnisdk.outbound.errors import OutboundError
from omnisdk_ccaas_genesys import events, requests
from omnisdk_ccaas_genesys.settings import GenesysSettings

log = logging.getLogger("omnisdk_ccaas_genesys")
RECORDINGS = Path(__file__).parent / "recordings"


class GenesysCloudConnector(CCaaSConnector):
    """Genesys Cloud CX as the router of external queues (``connector = "ccaas_genesys"``).

    Settings: :class:`~omnisdk_ccaas_genesys.settings.GenesysSettings`.  Webhooks:
    :mod:`omnisdk_ccaas_genesys.events`.  Instances register themselves so that the plugin's
    event observer can park and unpark (:func:`live`).
    """

    name: ClassVar[str] = "ccaas_genesys"
    channel: ClassVar[str] = Channel.EMAIL
    Settings: ClassVar[type[AccountSettings]] = GenesysSettings
    recordings = RECORDINGS
    settings: GenesysSettings

    def __init__(self, account: str, settings: AccountSettings | dict[str, Any]) -> None:
        if not isinstance(settings, GenesysSettings):
            settings = GenesysSettings.model_validate(settings if isinstance(settings, dict) else settings.model_dump())
        super().__init__(account, settings)

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {
            "region": "mypurecloud.com",
            "client_id": "6f8e1a52-4c1d-4b7e-9d0a-3b5c2e7f9a10",
            "client_secret": "genesys-example-client-secret-0042",
            "webhook_secret": "genesys-example-webhook-secret-0042",
            "open_messaging_integration_id": "0e7f4d39-1c2b-4a5d-8e6f-7a8b9c0d1e2f",
            "queue_map": {"billing": "5c1f0b2e-8a3d-4f6e-9b7c-1d2e3f4a5b6c",
                          "support": "9d2a7e41-3b5c-4d6e-8f90-a1b2c3d4e5f6"},
            "agent_map": {"alice": "0b3e5f7a-9c1d-4e2f-8a4b-6c8d0e2f4a6b",
                          "bob": "7f41c3d5-e7f9-4a1b-9c3d-5e7f9a1b3c5d"},
            "wrap_up_map": {"Issue resolved": "a1c2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                            "Task created": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"},
            # the recordings are replayed at the test kit's fixed arrival times (2030, 2031),
            # years after their eventTime: no age limit here (the default is 3600 s)
            "max_event_age": 0,
        }

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        """A Platform API answer for the test kit's mocked platform: a conversation (the
        ``Conversation`` answer shape: ``id``, ``participants`` with ``purpose``, ``userId``,
        ``state``), usable both as the create answer and as the GET the transfer makes."""
        return {"id": f"8a5e2c1d-0000-4000-8000-{n:012d}",
                "participants": [
                    {"id": f"cust-{n:04d}", "purpose": "customer", "state": "connected"},
                    {"id": f"agent-{n:04d}", "purpose": "agent", "state": "connected",
                     "userId": "0b3e5f7a-9c1d-4e2f-8a4b-6c8d0e2f4a6b"}]}

    def client_options(self) -> dict[str, Any]:
        # Genesys Cloud answers with ININ-Correlation-Id (Platform API: "Troubleshooting")
        return {"request_id_headers": ("inin-correlation-id",)}

    # --- webhooks ----------------------------------------------------------------------

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {events.SIGNATURE_HEADER: events.signature(secret_value(self.settings.webhook_secret), body)}

    def verify(self, request: WebhookRequest) -> None:
        events.verify(secret_value(self.settings.webhook_secret), request.headers, request.body)

    def parse(self, request: WebhookRequest) -> list[Event]:
        """The routing event of one Genesys notification (:mod:`omnisdk_ccaas_genesys.events`).
        Every routing event carries the notification's ``conversationId`` as ``external_id``:
        the core refuses it when the interaction is bound to another conversation.

        Raises:
            PayloadError: a malformed body.  StaleEventError (a PayloadError, 400): its
                ``eventTime`` is older than ``max_event_age`` seconds.
        """
        n = events.read(request.body)
        events.check_age(n.event_ms, request.received_at, self.settings.max_event_age)
        conversation = n.conversation
        if n.kind == "user.start" and n.agent is not None:
            return [self.assigned_event(event_id=n.event_id, interaction_id=n.interaction, agent=n.agent,
                                        time=n.time, external_id=conversation)]
        if n.kind == "acd.end" and n.outcome == "ANSWERED":
            return [self.accepted_event(event_id=n.event_id, interaction_id=n.interaction, time=n.time,
                                        agent=n.agent, external_id=conversation)]
        if n.kind == "acd.end" and n.outcome is not None:
            return [self.ended_event(event_id=n.event_id, interaction_id=n.interaction, time=n.time,
                                     reason=n.outcome.lower(), external_id=conversation)]
        if n.kind == "wrapup":
            return [self.ended_event(event_id=n.event_id, interaction_id=n.interaction, time=n.time,
                                     reason="wrap-up", wrap_up_code=n.code, external_id=conversation)]
        return [Event(id=n.event_id, source=self.source, type=TYPE_PROVIDER_NOTICE, time=n.time,
                      subject=n.interaction, correlationid=n.interaction,
                      data={"kind": f"genesys.{n.kind}", "raw": n.raw})]

    # --- platform calls ----------------------------------------------------------------

    def _media(self, interaction: Interaction) -> str:
        return requests.media_path(str(interaction.channel))

    async def route(self, interaction: Interaction, queue: str) -> None:
        """Create the conversation on ``map_queue(queue)`` with our interaction id.

        Raises:
            MappingError: an unmapped queue.  ValueError: a messaging interaction without
                ``open_messaging_integration_id`` (both before any I/O).  OutboundError.
        """
        queue_id = self.map_queue(queue)
        key = f"route-{interaction.id}"
        if interaction.channel == Channel.EMAIL:
            subject = interaction.context.get("subject")
            body = requests.create_email(queue_id=queue_id, provider=self.settings.email_provider,
                                         interaction_id=interaction.id, customer=interaction.customer,
                                         business=interaction.business,
                                         subject=subject if isinstance(subject, str) else None)
            await self.api("POST", f"{requests.API}/emails", op="route", json=body, idempotency_key=key)
            return
        integration = self.settings.open_messaging_integration_id
        if integration is None:
            raise ValueError(f"{self.name}/{self.account}: routing {interaction.channel} needs "
                             "open_messaging_integration_id")
        body = requests.inbound_open_message(
            queue_id=queue_id, interaction_id=interaction.id, customer=interaction.customer,
            integration_id=integration, text=str(interaction.context.get("preview") or ""),
            time=interaction.created_at.isoformat().replace("+00:00", "Z"))
        await self.api("POST", f"{requests.API}/messages/{requests.seg(integration)}/inbound/open/message",
                       op="route", json=body, idempotency_key=key)

    async def _agent_participant(self, interaction: Interaction, ref: str) -> str:
        """The agent participant of the conversation (one GET).

        Raises:
            OutboundError: the GET failed, or the conversation has no agent participant.
        """
        resp = await self.api("GET", f"{requests.API}/{self._media(interaction)}/{requests.seg(ref)}", op="other")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        user = self.settings.agent_map.get(interaction.agent) if interaction.agent else None
        found = requests.agent_participant(doc, user)
        if found is None:
            raise OutboundError(f"{self.name}: conversation {ref} has no connected agent participant",
                                provider=self.name)
        return found

    async def _patch_agent(self, interaction: Interaction, op: Any, body: dict[str, Any]) -> None:
        ref = self.conversation_ref(interaction)
        participant = await self._agent_participant(interaction, ref)
        await self.api("PATCH", f"{requests.API}/{self._media(interaction)}/{requests.seg(ref)}/participants/"
                       f"{requests.seg(participant)}", op=op, json=body)

    async def transfer(self, interaction: Interaction, to_agent: str | None = None,
                       to_queue: str | None = None) -> None:
        user_id, queue_id = self.transfer_target(to_agent, to_queue)  # MappingError before any I/O
        ref = self.conversation_ref(interaction)
        participant = await self._agent_participant(interaction, ref)
        await self.api("POST", f"{requests.API}/{self._media(interaction)}/{requests.seg(ref)}/participants/"
                       f"{requests.seg(participant)}/replace", op=("transfer", "release"),
                       json=requests.transfer(user_id=user_id, queue_id=queue_id))

    async def wrap_up(self, interaction: Interaction, code: str) -> None:
        await self._patch_agent(interaction, "wrap_up", requests.wrap_up(self.map_wrap_up(code)))

    async def disconnect(self, interaction: Interaction) -> None:
        await self._patch_agent(interaction, "disconnect", requests.participant_state("disconnected"))

    async def park(self, interaction: Interaction) -> None:
        """Park the agent's communication (our ``on_hold``).  Raises: OutboundError."""
        await self._patch_agent(interaction, "other", requests.participant_state("parked"))

    async def unpark(self, interaction: Interaction) -> None:
        """Take it back (our ``on_hold → work_in_progress``).  Raises: OutboundError."""
        await self._patch_agent(interaction, "other", requests.participant_state("connected"))
