"""The Genesys Cloud Platform API requests the connector makes: paths and bodies (pure).

Each body follows the published schema of its endpoint (Platform API explorer,
https://developer.genesys.cloud/devapps/api-explorer, and the generated models of the
official SDKs, e.g. ``platform-client-sdk-python/build/docs/<Model>.md``).  Only fields the
schema defines are sent; optional ones are left out rather than sent empty.

================================================  ============================  =================================
call                                              endpoint                      body schema
================================================  ============================  =================================
route an email                                    POST /api/v2/conversations/   ``CreateEmailRequest``
                                                  emails
route a messaging interaction                     POST /api/v2/conversations/   ``OpenInboundNormalizedMessage``
                                                  messages/{integrationId}/
                                                  inbound/open/message
find the agent participant                        GET /api/v2/conversations/    (``EmailConversation`` /
                                                  {conversationId}              ``Conversation`` answer)
transfer (unattended: frees the agent)            POST /api/v2/conversations/   ``TransferRequest``
                                                  {media}/{conversationId}/
                                                  participants/{participantId}/
                                                  replace
wrap-up, park, unpark, disconnect the agent       PATCH /api/v2/conversations/  ``MediaParticipantRequest``
                                                  {media}/{conversationId}/
                                                  participants/{participantId}
================================================  ============================  =================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from omnisdk_ccaas_genesys.settings import INTERACTION_ATTRIBUTE

API = "/api/v2/conversations"


def seg(value: str) -> str:
    """One path segment, percent-encoded (an id can never add a path level)."""
    return quote(value, safe="")


def create_email(*, queue_id: str, provider: str, interaction_id: str, customer: str, business: str,
                 subject: str | None) -> dict[str, Any]:
    """``CreateEmailRequest`` for ``POST /api/v2/conversations/emails``: an INBOUND (external)
    email conversation routed on ``queueId``, our interaction id in the customer participant's
    ``attributes`` (``dict(str, str)``).  Fields: ``queueId``, ``provider`` (required; not
    ``PureCloud Email``), ``attributes``, ``fromAddress``, ``toAddress``, ``subject``,
    ``direction`` (``INBOUND`` creates an external conversation)."""
    body: dict[str, Any] = {"queueId": queue_id, "provider": provider, "direction": "INBOUND",
                            "attributes": {INTERACTION_ATTRIBUTE: interaction_id},
                            "fromAddress": customer, "toAddress": business}
    if subject:
        body["subject"] = subject[:998]
    return body


def inbound_open_message(*, queue_id: str, interaction_id: str, customer: str, integration_id: str,
                         text: str, time: str) -> dict[str, Any]:
    """``OpenInboundNormalizedMessage`` for ``POST /api/v2/conversations/messages/{integrationId}
    /inbound/open/message`` (https://developer.genesys.cloud/commdigital/digital/openmessaging/
    inboundMessages): ``channel`` (``messageId`` unique per message, ``to.id`` the integration,
    ``from.id`` the customer with ``idType`` ``Opaque``, ``time``, ``metadata.customAttributes``
    which the integration's Inbound Message flow reads: our interaction id and the queue to
    transfer to), ``text``, ``direction`` ``Inbound``."""
    return {
        "channel": {
            "messageId": f"omnisdk-{interaction_id}",
            "to": {"id": integration_id},
            "from": {"id": customer, "idType": "Opaque"},
            "time": time,
            "metadata": {"customAttributes": {INTERACTION_ATTRIBUTE: interaction_id, "omnisdk_queue_id": queue_id}},
        },
        "text": text or "(conversation routed by omnisdk)",
        "direction": "Inbound",
    }


def transfer(*, user_id: str | None, queue_id: str | None) -> dict[str, Any]:
    """``TransferRequest`` for ``…/participants/{participantId}/replace``: exactly one of
    ``userId`` / ``queueId``, ``transferType`` ``Unattended`` (the initiating agent leaves at
    once, so Genesys Cloud frees their capacity).

    Raises:
        ValueError: not exactly one target.
    """
    if (user_id is None) == (queue_id is None):
        raise ValueError("a transfer needs exactly one of user_id or queue_id")
    target = {"userId": user_id} if user_id is not None else {"queueId": queue_id}
    return {"transferType": "Unattended", **target}


def wrap_up(code_id: str) -> dict[str, Any]:
    """``MediaParticipantRequest`` with ``wrapup`` (``WrapupInput.code``: the wrap-up code id)."""
    return {"wrapup": {"code": code_id}}


def participant_state(state: str) -> dict[str, Any]:
    """``MediaParticipantRequest`` with ``state``: ``parked`` (park), ``connected`` (unpark) or
    ``disconnected`` (the agent leaves; routing goes back to Genesys Cloud).

    Raises:
        ValueError: another state.
    """
    if state not in ("parked", "connected", "disconnected"):
        raise ValueError(f"unsupported participant state {state!r}")
    return {"state": state}


def media_path(channel: str) -> str:
    """The media segment of the conversation endpoints: ``emails`` for email, else ``messages``."""
    return "emails" if channel == "email" else "messages"


def agent_participant(conversation: Any, user_id: str | None) -> str | None:
    """The id of the agent participant (``purpose`` ``agent``, not disconnected) in a
    ``Conversation`` answer, preferring ``user_id``'s; None when there is none."""
    parts = conversation.get("participants") if isinstance(conversation, dict) else None
    if not isinstance(parts, list):
        return None
    agents = [p for p in parts if isinstance(p, dict) and p.get("purpose") == "agent"
              and isinstance(p.get("id"), str) and p.get("state") != "disconnected"]
    if user_id is not None:
        mine = [p for p in agents if p.get("userId") == user_id]
        agents = mine or agents
    return agents[-1]["id"] if agents else None
