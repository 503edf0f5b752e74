"""Helpers of the ccaas_genesys tests: settings on a named region, an interaction the connector
routes, a Genesys conversation answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk.model import Channel, Direction, Interaction, RoutingSource
from omnisdk.model import InteractionState as S

REGION = "mypurecloud.de"
API = f"https://api.{REGION}"
LOGIN = f"https://login.{REGION}/oauth/token"
CONVERSATION = "3f6c9a2e-5b1d-4e8f-a7c3-2d9e0b4f6a81"


def settings(**over: Any) -> dict[str, Any]:
    base = {k: v for k, v in GenesysCloudConnector.example_settings().items()}
    base["region"] = REGION
    return {**base, **over}


def interaction(channel: str = Channel.EMAIL, state: S = S.WORK_IN_PROGRESS, **over: Any) -> Interaction:
    now = datetime(2026, 12, 3, 9, 50, tzinfo=UTC)
    fields: dict[str, Any] = dict(
        id="0190b3c4d5e6f70000000000000e4a11", channel=channel, direction=Direction.INBOUND, state=state,
        conversation_key="k", source="/email/acme", customer="ana.lopez@example.net",
        business="support@example.com", queue="billing", agent="alice", routing_source=RoutingSource.EXTERNAL,
        context={"external_id": CONVERSATION, "subject": "Invoice 4471 charged twice"}, created_at=now, updated_at=now)
    fields.update(over)
    return Interaction(**fields)


def conversation(user_id: str = "0b3e5f7a-9c1d-4e2f-8a4b-6c8d0e2f4a6b") -> dict[str, Any]:
    """An EmailConversation answer: the customer and a connected agent participant."""
    return {"id": CONVERSATION, "participants": [
        {"id": "cust-1", "purpose": "customer", "state": "connected"},
        {"id": "agent-old", "purpose": "agent", "state": "disconnected", "userId": "someone-else"},
        {"id": "agent-1", "purpose": "agent", "state": "connected", "userId": user_id}]}
