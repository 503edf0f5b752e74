"""Threading on the recorded mails, end to end: the real gateway and the real email plugin
(recordings signed with the adapter's Standard Webhooks ``sign()`` and POSTed to
``/webhooks/email/acme``), the core's threader and store; agents work through the runtime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnisdk import recordings
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_email import EmailAdapter

CUSTOMER = "maria@customer.example"


@pytest.fixture
def recs():
    return {r.name: r for r in recordings.load(EmailAdapter.recordings)}


def rig(tmp_path) -> KitRuntime:
    return KitRuntime(lambda: EmailAdapter("acme", EmailAdapter.example_settings()), tmp_path,
                      "https://hooks.example.com/webhooks/email/acme", [{"name": "support"}],
                      agents=[{"id": "erin", "capacity": {"email": 3}}],
                      clock=ManualClock(datetime(2025, 11, 24, 9, 0, tzinfo=UTC)), loops=False)


async def _thread(kit, message_id):
    for inter in await kit.runtime.interactions():
        _, _, messages = await kit.runtime.interaction(inter.id)
        for m in messages:
            if m["message_id"] == message_id:
                return inter, m["body"]["threading"]
    return None, None


async def test_a_reply_threads_by_references_and_a_case_token_by_the_case(tmp_path, recs):
    async with rig(tmp_path) as kit:
        assert (await kit.deliver(recs["thread_new_question"])).status_code == 200
        (first,) = await kit.runtime.interactions()
        assert first.customer == CUSTOMER and first.channel == "email"
        # In-Reply-To names a reply of ours this store never sent; References also name the question
        assert (await kit.deliver(recs["thread_reply_by_headers"])).status_code == 200
        inter, decision = await _thread(kit, "q-4711-2@mail.customer.example")
        assert inter.id == first.id and decision["rule"] == "references"
        assert decision["detail"] == f"References <q-4711-1@mail.customer.example> → {first.id}"
        # the case the subject token names: CS0000011 (ten numbers taken before)
        await kit.runtime.store.transact(lambda tx: [tx.next_number("case") for _ in range(10)])
        await kit.runtime.accept(first.id, "erin")
        case = await kit.runtime.create_case(first.id, "Order 4711 arrived damaged")
        assert case.number == "CS0000011"
        assert (await kit.deliver(recs["thread_reply_subject_token"])).status_code == 200
        inter, decision = await _thread(kit, "q-4711-3@mail.customer.example")
        assert decision["rule"] == "subject_token" and inter.case_id == case.id and inter.id != first.id


async def test_an_auto_reply_and_a_bounce_never_open_an_interaction(tmp_path, recs):
    async with rig(tmp_path) as kit:
        for name in ("thread_auto_reply", "thread_bounce_of_reply"):
            assert (await kit.deliver(recs[name])).status_code == 200
        assert await kit.runtime.interactions() == []
        stats = await kit.runtime.stats()
        assert stats["email.threaded.automatic_ignored"] == 1
        # the bounce is a failed status of our out-3, kept for when that send is known
        status = await kit.runtime.store.transact(
            lambda tx: tx.message_status("/email/acme", "out-3@support.example.com"))
        assert status == "failed"


async def test_a_sent_draft_starts_a_mail_thread_that_the_customers_reply_joins(tmp_path, recs):
    import orjson

    from omnisdk.model.subjects import interaction_token

    async with rig(tmp_path) as kit:
        inter, draft = await kit.runtime.save_draft(agent="erin", plugin="email", account="acme", customer=CUSTOMER,
                                                    text="Your replacement ships today.", subject="Order 4711")
        await kit.runtime.send_draft(inter.id, draft, agent="erin")
        (payload,) = await kit.runtime.store.transact(lambda tx: tx.c.execute(
            "SELECT payload FROM outbox WHERE idempotency_key LIKE ?", (f"%draft:{draft}",)).fetchone())
        mail = orjson.loads(payload)["email"]
        assert mail["subject"] == f"Order 4711 {interaction_token(inter.id)}" and mail["in_reply_to"] is None
        reply = recs["thread_reply_by_headers"].body.replace(b"<out-1@support.example.com>",
                                                            f"<{mail['message_id']}>".encode())
        assert (await kit.deliver_body(reply, "message/rfc822")).status_code == 200
        joined, decision = await _thread(kit, "q-4711-2@mail.customer.example")
        assert joined.id == inter.id and decision["rule"] == "in_reply_to"
