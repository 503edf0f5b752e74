"""The inbox commit every inbound path shares (webhooks, pull-based transports), and account
ownership of business addresses: an inbound body acts only for its own account.

An account (``[accounts.<provider>.<account>]``) owns its business addresses
(:meth:`omnisdk.adapters.ChannelAdapter.business_addresses`).  A body signed with account B's
secret proves only that B's secret holder wrote it, so it may not name account A's business
address: every parsed event is checked after ``parse()`` and before the inbox commit
(:func:`commit_inbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnisdk.adapters import ChannelAdapter
from omnisdk.errors import WebhookError
from omnisdk.events import Event
from omnisdk.store.base import InboxResult

if TYPE_CHECKING:
    from omnisdk.store import Store


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


async def commit_inbox(store: Store, adapter: ChannelAdapter, events: Sequence[Event],
                       received_at: str) -> InboxResult:
    """The commit step every inbound path shares (the gateway's webhooks and the transports):
    refuse events naming a business address ``adapter``'s account does not own, then append
    them to the inbox (deduplicated on ``source`` + ``id``); returns after the commit.  The
    store's ``on_inbox`` callback (set by the runtime) wakes the processor.

    Raises:
        ForeignAddressError: an event names a foreign business
            address (nothing stored).
        TypeError: an event's data is not JSON-serializable (a plugin bug; nothing stored).
        Exception: the store could not commit (nothing stored).
    """
    check_ownership(adapter, events)
    if not events:
        return InboxResult(0, 0)
    return await store.append_inbox(events, received_at)
