"""Sample connectors for the test kit's own tests: a correct CCaaS connector and a correct CTI
connector, and one subclass per seeded defect.  Their wire formats are invented (see
``connector_recordings/SOURCES.md``).

**Kit CC** (CCaaS).  Webhooks: JSON ``{"eventId", "eventType", "timestamp", "task": {"id",
"externalRef"}, "worker": {"id"}, "wrapUpCode", "reason"}`` signed like Genesys Cloud Open
Messaging (``X-Hub-Signature-256: sha256=`` + base64 HMAC-SHA256 of the body).  Event types:
``task.assigned``, ``task.accepted``, ``task.completed``, ``task.abandoned``, ``ping``.  API:
``POST /tasks`` (route), ``POST /tasks/{ref}/transfer`` then ``/release``, ``/wrapup``,
``/disconnect``; answers ``{"id": ...}``.

**Kit Voice** (CTI).  Webhooks: JSON ``{"eventId", "callSid", "status", "from", "to",
"direction", "agent", "timestamp", "transferTo"}`` signed with ``X-Kit-Voice-Signature`` (hex
HMAC-SHA256).  API: ``POST /calls`` → ``{"callId", "status"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from omnisdk import payloads
from omnisdk.adapters import AccountSettings, WebhookRequest, secret_value
from omnisdk.connectors import (
    CALL_TRANSITIONS,
    CallState,
    CCaaSConnector,
    CCaaSSettings,
    CTIConnector,
    OutboundCall,
    PlacedCall,
)
from omnisdk.errors import PayloadError, SignatureError
from omnisdk.events import TYPE_PROVIDER_NOTICE, Event, epoch_to_rfc3339
from omnisdk.model import Interaction
from omnisdk.outbound import OutboundError, ProviderClient

RECORDINGS = Path(__file__).parent / "connector_recordings"
_MALFORMED = (ValueError, KeyError, TypeError, AttributeError, OverflowError)


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


# --- CCaaS ---------------------------------------------------------------------------------


class KitCCSettings(CCaaSSettings):
    webhook_secret: SecretStr


class KitCC(CCaaSConnector):
    """Keeps every promise the CCaaS suite checks."""

    name = "kitcc"
    Settings = KitCCSettings
    recordings = RECORDINGS / "ccaas"
    settings: KitCCSettings

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {
            "api_base_url": "https://api.kitcc.invalid/v1", "token_url": "https://login.kitcc.invalid/oauth/token",
            "client_id": "kit-cc-client", "client_secret": "kit-cc-client-secret-0042",
            "webhook_secret": "kit-cc-webhook-secret-0042",
            "queue_map": {"billing": "q-7f1e-billing", "support": "q-22aa-support"},
            "agent_map": {"alice": "u-0a1b-alice", "bob": "u-0c2d-bob"},
            "wrap_up_map": {"Issue resolved": "wu-resolved", "Task created": "wu-task-created"},
        }

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        return {"id": f"task-{n:04d}"}

    # webhooks

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        digest = hmac.new(secret_value(self.settings.webhook_secret).encode(), body, hashlib.sha256).digest()
        return {"X-Hub-Signature-256": "sha256=" + base64.b64encode(digest).decode()}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get("x-hub-signature-256")
        if not got:
            raise SignatureError("missing X-Hub-Signature-256")
        if not got.isascii() or not got.startswith("sha256=") or len(got) != 51:
            raise SignatureError("malformed X-Hub-Signature-256")
        want = self.sign(request.url, request.body, "")["X-Hub-Signature-256"]
        if not hmac.compare_digest(got.encode(), want.encode()):
            raise SignatureError("signature does not match")

    def parse(self, request: WebhookRequest) -> list[Event]:
        try:
            return self._parse(request)
        except _MALFORMED as exc:
            raise PayloadError(f"malformed kitcc body: {type(exc).__name__}") from None

    def _parse(self, request: WebhookRequest) -> list[Event]:
        doc = payloads.loads(request.body)  # size and depth limits first
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        kind = _str(doc["eventType"])
        if kind == "ping":
            return []
        eid, at = _str(doc["eventId"]), epoch_to_rfc3339(doc["timestamp"])
        if kind not in ("task.assigned", "task.accepted", "task.completed", "task.abandoned"):
            return [Event(id=eid, source=self.source, type=TYPE_PROVIDER_NOTICE, time=at,
                          data={"kind": kind, "raw": doc})]
        task = doc["task"]
        ref, tid = _str(task["externalRef"]), _str(task["id"])
        if kind == "task.assigned":
            return [self.assigned_event(event_id=eid, interaction_id=ref, agent=_str(doc["worker"]["id"]),
                                        time=at, external_id=tid)]
        if kind == "task.accepted":
            return [self.accepted_event(event_id=eid, interaction_id=ref, agent=_str(doc["worker"]["id"]), time=at)]
        code = doc.get("wrapUpCode")
        if code is not None:
            code = _str(code)
        return [self.ended_event(event_id=eid, interaction_id=ref, time=at, reason=_str(doc.get("reason", kind)),
                                 wrap_up_code=code)]

    # platform calls

    def _their_agent(self, agent: str | None) -> str | None:
        return self.settings.agent_map.get(agent, agent) if agent else None

    async def route(self, interaction: Interaction, queue: str) -> None:
        body = {"queueId": self.map_queue(queue), "externalRef": interaction.id,
                "channel": interaction.channel, "customer": interaction.customer}
        await self.api("POST", "/tasks", op="route", json=body, idempotency_key=f"route-{interaction.id}")

    async def transfer(self, interaction: Interaction, to_agent: str | None = None, to_queue: str | None = None) -> None:
        agent, queue = self.transfer_target(to_agent, to_queue)
        ref = self.conversation_ref(interaction)
        await self.api("POST", f"/tasks/{ref}/transfer", op="transfer",
                       json={"workerId": agent} if agent else {"queueId": queue})
        await self.release(interaction, ref)

    async def release(self, interaction: Interaction, ref: str) -> None:
        await self.api("POST", f"/tasks/{ref}/release", op="release",
                       json={"workerId": self._their_agent(interaction.agent)})

    async def wrap_up(self, interaction: Interaction, code: str) -> None:
        their = self.map_wrap_up(code)
        await self.api("POST", f"/tasks/{self.conversation_ref(interaction)}/wrapup", op="wrap_up", json={"code": their})

    async def disconnect(self, interaction: Interaction) -> None:
        await self.api("POST", f"/tasks/{self.conversation_ref(interaction)}/disconnect", op="disconnect",
                       json={"reason": "routing returned to omnisdk"})


class NoTokenRefresh(KitCC):
    """Defect: gives up on a 401 (no new token, no retry)."""

    async def api(self, method: str, path: str, *, op: Any, headers: Any = None, **kwargs: Any) -> Any:
        token = await self.access_token()
        return await self.http().request(method, path, headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                                         **kwargs)


class TransfersToUnmappedQueue(KitCC):
    """Defect: an unmapped queue goes to the CCaaS under our own name."""

    def map_queue(self, queue: str) -> str:
        return self.settings.queue_map.get(queue, queue)


class WrongWrapUpCode(KitCC):
    """Defect: checks the mapping, then sends our own code."""

    async def wrap_up(self, interaction: Interaction, code: str) -> None:
        self.map_wrap_up(code)
        await self.api("POST", f"/tasks/{self.conversation_ref(interaction)}/wrapup", op="wrap_up", json={"code": code})


class NoDisconnect(KitCC):
    """Defect: disconnect() tells the CCaaS nothing."""

    async def disconnect(self, interaction: Interaction) -> None:
        return None


class NoRelease(KitCC):
    """Defect: a transfer leaves the agent's capacity taken in the CCaaS."""

    async def release(self, interaction: Interaction, ref: str) -> None:
        return None


class SignsBodyAndNewline(KitCC):
    """Defect: signs the body followed by a newline; verify() compares with sign(), so the two
    agree and only the platform's own signed request (the provider vector) is refused."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return super().sign(url, body + b"\n", content_type)  # verify() checks against sign()


# --- CTI -----------------------------------------------------------------------------------

STATES = {"ringing": CallState.RINGING, "in-progress": CallState.ANSWERED, "on-hold": CallState.HELD,
          "off-hold": CallState.RESUMED, "transferred": CallState.TRANSFERRED, "completed": CallState.ENDED,
          "busy": CallState.ENDED, "no-answer": CallState.ENDED, "failed": CallState.ENDED,
          "canceled": CallState.ENDED}


class KitVoiceSettings(AccountSettings):
    secret: SecretStr
    api_key: SecretStr


class KitVoice(CTIConnector):
    """Keeps every promise the CTI suite checks."""

    name = "kitvoice"
    Settings = KitVoiceSettings
    recordings = RECORDINGS / "cti"
    settings: KitVoiceSettings

    def __init__(self, account: str, settings: KitVoiceSettings) -> None:
        super().__init__(account, settings)
        self._client: ProviderClient | None = None

    @classmethod
    def example_settings(cls) -> dict[str, Any]:
        return {"secret": "kit-voice-webhook-secret", "api_key": "kit-voice-api-key-0042"}

    @classmethod
    def sandbox_reply(cls, n: int) -> dict[str, Any]:
        return {"callId": f"CA{n:032x}", "status": "queued"}

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return {"X-Kit-Voice-Signature": hmac.new(secret_value(self.settings.secret).encode(), body,
                                                  hashlib.sha256).hexdigest()}

    def verify(self, request: WebhookRequest) -> None:
        got = request.headers.get("x-kit-voice-signature")
        if not got:
            raise SignatureError("missing X-Kit-Voice-Signature")
        if len(got) != 64 or not got.isascii():
            raise SignatureError("malformed X-Kit-Voice-Signature")
        if not hmac.compare_digest(got.encode(), self.sign(request.url, request.body, "")["X-Kit-Voice-Signature"].encode()):
            raise SignatureError("signature does not match")

    def parse(self, request: WebhookRequest) -> list[Event]:
        try:
            doc = payloads.loads(request.body)  # size and depth limits first
            if not isinstance(doc, dict):
                raise TypeError("not an object")
            status = _str(doc["status"])
            state = STATES[status]
            reason = status if state is CallState.ENDED else doc.get("transferTo") if state is CallState.TRANSFERRED else None
            agent = doc.get("agent")
            if agent is not None:
                agent = _str(agent)
            event = self.call_event(state, event_id=_str(doc["eventId"]), call_id=_str(doc["callSid"]),
                                    from_=_str(doc["from"]), to=_str(doc["to"]), direction=_str(doc["direction"]),
                                    at=epoch_to_rfc3339(doc["timestamp"]), agent=agent,
                                    reason=_str(reason) if reason is not None else None)
            self._check(event)
            return [event]
        except _MALFORMED as exc:
            raise PayloadError(f"malformed kitvoice body: {type(exc).__name__}") from None

    @staticmethod
    def _check(event: Event) -> None:
        from omnisdk.catalog import CallEventData

        CallEventData.model_validate(event.data)  # E.164 numbers, direction (ValidationError is a ValueError)

    def _http(self) -> ProviderClient:
        if self._client is None:
            self._client = ProviderClient(provider=self.name, base_url=self.settings.api_base_url or "https://api.kitvoice.invalid",
                                          headers={"Authorization": f"Bearer {secret_value(self.settings.api_key)}"})
        return self._client

    def call_body(self, call: OutboundCall) -> dict[str, Any]:
        return {"to": call.to, "from": call.from_, "agent": call.agent, "timeout": call.timeout,
                "reference": call.interaction_id}

    async def dial(self, call: OutboundCall) -> PlacedCall:
        resp = await self._http().request("POST", "/calls", json=self.call_body(call),
                                          idempotency_key=f"call-{call.interaction_id}" if call.interaction_id else None)
        try:
            doc = resp.json()
            return PlacedCall(call_id=_str(doc["callId"]), status=str(doc.get("status", "queued")))
        except _MALFORMED:
            raise OutboundError("kitvoice: answer without a callId", provider=self.name) from None

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class AcceptsRingingToHeld(KitVoice):
    """Defect: its call tracker lets a ringing call go on hold."""

    call_transitions = {**CALL_TRANSITIONS, CallState.RINGING: CALL_TRANSITIONS[CallState.RINGING] | {CallState.HELD}}


class NationalNumbers(KitVoice):
    """Defect: dials numbers without their + (not E.164)."""

    def call_body(self, call: OutboundCall) -> dict[str, Any]:
        return {**super().call_body(call), "to": call.to.lstrip("+"), "from": call.from_.lstrip("+")}


class SignsUrlAndBody(KitVoice):
    """Defect: signs the URL followed by the body, where the platform signs the body alone;
    verify() compares with sign(), so only the provider vector is refused."""

    def sign(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        return super().sign(url, url.encode() + body, content_type)  # verify() checks against sign()
