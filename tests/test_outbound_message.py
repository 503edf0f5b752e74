"""Outbound messages refuse unknown fields (issue 8, B10): ``interactive={…}`` used to be dropped
silently and the message sent as plain text."""

from __future__ import annotations

import pytest
import respx
from pydantic import ValidationError
from sample_wire import ingest, message_event

from omnisdk.adapters import OutboundMedia, OutboundMessage, Template

BUTTONS = {"type": "button", "body": {"text": "Pick one"},
           "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}


def _only_error(info: pytest.ExceptionInfo[ValidationError]) -> dict:
    [error] = info.value.errors()
    assert error["type"] == "extra_forbidden"
    return error


def test_an_unknown_field_on_a_message_is_refused_and_named():
    with pytest.raises(ValidationError) as info:
        OutboundMessage(customer="+15550100001", text="Pick one", interactive=BUTTONS)
    assert _only_error(info)["loc"] == ("interactive",)
    assert "interactive" in str(info.value)


@pytest.mark.parametrize("payload, loc", [
    ({"customer": "+1555", "media": [{"media_type": "image", "link": "https://x.test/a.jpg"}]},
     ("media", 0, "link")),
    ({"customer": "+1555", "template": {"name": "hello", "language": "en_US", "parameters": []}},
     ("template", "parameters")),
    ({"customer": "+1555", "text": "hi", "from": "+15550100009"}, ("from",)),
])
def test_unknown_fields_are_refused_at_every_level(payload, loc):
    with pytest.raises(ValidationError) as info:
        OutboundMessage.model_validate(payload)
    assert _only_error(info)["loc"] == loc


def test_media_and_template_refuse_unknown_fields_on_their_own():
    with pytest.raises(ValidationError) as info:
        OutboundMedia(media_type="image", url="https://x.test/a.jpg", thumbnail="t.jpg")
    assert _only_error(info)["loc"] == ("thumbnail",)
    with pytest.raises(ValidationError) as info:
        Template(name="hello", language="en_US", namespace="x")
    assert _only_error(info)["loc"] == ("namespace",)


async def test_what_the_outbox_stores_still_validates_and_is_sent(runtime):
    await ingest(runtime, message_event(1))
    [inter] = await runtime.interactions()
    await runtime.accept(inter.id)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        await runtime.reply(inter.id, "On its way", idempotency_key="r-1")
        assert await runtime.outbox.run_once() == 1
    assert route.call_count == 1
    await runtime.store.transact(lambda tx: None)
    stats = await runtime.stats()
    assert stats.get("outbound.sent") == 1 and "outbound.failed" not in stats


async def test_an_outbox_row_with_an_unknown_field_fails_and_is_never_sent_as_text(runtime):
    await ingest(runtime, message_event(1))
    [inter] = await runtime.interactions()
    payload = {"customer": inter.customer, "business": inter.business, "text": "Pick one",
               "interactive": BUTTONS, "interaction_id": inter.id}
    await runtime.store.transact(lambda tx: tx.enqueue_outbox(
        idempotency_key="x-1", plugin="sample", account="acme", interaction_id=inter.id,
        payload=payload, now=0.0))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        assert await runtime.outbox.run_once() == 1
    assert route.call_count == 0, "the interactive message must not go out as plain text"
    await runtime.store.transact(lambda tx: None)
    stats = await runtime.stats()
    assert stats.get("outbound.failed") == 1 and "outbound.sent" not in stats
