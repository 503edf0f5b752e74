"""Account ownership of business addresses: a webhook acts only for its own account.

An account (``[accounts.<provider>.<account>]``) owns its business addresses
(:meth:`omnisdk.adapters.ChannelAdapter.business_addresses`).  A body signed with account B's
secret proves only that B's secret holder wrote it, so it may not name account A's business
address: the gateway checks every parsed event after ``parse()`` and before the inbox commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnisdk.adapters import ChannelAdapter
from omnisdk.errors import WebhookError
from omnisdk.events import Event


class ForeignAddressError(WebhookError):
    """An event names a business address the receiving account does not own (HTTP 403,
    reason ``foreign_business_address``; nothing of the webhook is stored)."""

    status = 403
    reason = "foreign_business_address"


def check_ownership(adapter: ChannelAdapter, events: Sequence[Event]) -> None:
    """Refuse ``events`` if any names a business address ``adapter``'s account does not own.

    An event names one when its ``data`` is a mapping with a ``business`` value that is not
    None (``io.omnisdk.message.received``, ``…message.status`` and any plugin event shaped
    alike).  Events without one pass.

    Raises:
        ForeignAddressError: the first event naming a foreign (or non-string) business
            address; the message names the event id, never a secret.
    """
    owned: frozenset[str] | None = None
    for event in events:
        data = event.data
        if not isinstance(data, dict):
            continue
        business = data.get("business")
        if business is None:
            continue
        if owned is None:
            owned = adapter.business_addresses()
        if not isinstance(business, str) or business not in owned:
            raise ForeignAddressError(
                f"event {event.id[:80]!r} names a business address account "
                f"{adapter.account!r} does not own"
            )
