"""``io.omnisdk.conversation.closed``: the customer ended the conversation (Apple's ``close``)."""

from __future__ import annotations

from sample_wire import ingest, message_event

from omnisdk.events import TYPE_CONVERSATION_CLOSED, Event
from omnisdk.model import InteractionState, WrapUpCode
from omnisdk.model.addresses import conversation_key


def closed_event(i, customer="+15550100001", business="biz", data=None):
    return Event(
        id=f"c-{i}", source="/sample/acme", type=TYPE_CONVERSATION_CLOSED, time="2026-01-01T00:00:05Z",
        partitionkey=conversation_key("/sample/acme", "chat", business, customer),
        data=data if data is not None else {"channel": "chat", "customer": customer, "business": business,
                                            "at": "2026-01-01T00:00:05Z"},
    )


async def test_the_customer_closing_closes_the_interaction_with_its_wrap_up_code(runtime):
    await ingest(runtime, message_event(1), message_event(2, customer="+15550100002"))
    await ingest(runtime, closed_event(1))
    items = {i.conversation_key.rsplit(":", 1)[1]: i for i in await runtime.interactions()}
    closed, other = items["+15550100001"], items["+15550100002"]
    assert closed.state is InteractionState.CLOSED
    assert closed.wrap_up_code == WrapUpCode.CLOSED_BY_CUSTOMER.value == "Closed by customer"
    assert other.state is not InteractionState.CLOSED  # another conversation is untouched
    await ingest(runtime, message_event(3))  # the customer comes back: a new interaction
    assert sum(1 for i in await runtime.interactions() if i.state.active) == 2


async def test_a_close_without_an_open_interaction_changes_nothing(runtime):
    await ingest(runtime, closed_event(1, customer="+15550100009"))
    assert await runtime.interactions() == []
    counters = await runtime.stats()
    assert counters.get("conversations.closed_none") == 1


async def test_a_malformed_close_is_kept_failed_and_leaves_the_interaction_open(runtime):
    await ingest(runtime, message_event(1))
    await ingest(runtime, closed_event(1, data={"channel": "chat"}))
    [inter] = await runtime.interactions()
    assert inter.state.active
    assert (await runtime.stats()).get("events.failed") == 1
