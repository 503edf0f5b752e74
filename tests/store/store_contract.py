"""The store contract: what every :class:`omnisdk.store.Store` implementation must do.

Subclass :class:`StoreContract` in a test module and provide a ``store_factory`` fixture: a
callable returning a new, *unopened* store on fresh, empty storage (the SQLite store's is in
``test_sqlite_contract.py``; a PostgreSQL store gives one on a fresh schema).  The assertions use
only the public interface (:class:`~omnisdk.store.base.Store`, the
:class:`~omnisdk.store.protocols.Transaction` protocols and their typed rows): nothing in here
knows which database runs underneath.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omnisdk.errors import NotFoundError, StateError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.model import (
    Case,
    CaseState,
    CaseSurvey,
    CaseTransition,
    CaseUpdate,
    Interaction,
    InteractionState,
    MessageRecord,
    Transition,
)
from omnisdk.routing.model import Agent, Queue
from omnisdk.store import (
    HistoryRow,
    IdempotencyConflict,
    InboxItem,
    InboxResult,
    InteractionQuery,
    LastServed,
    MessageRow,
    Page,
    StoreError,
    TimerRow,
)
from omnisdk.store.rows import (
    ApiKeyRow,
    AuditRow,
    BusEventRow,
    ContactRow,
    DeliveryRow,
    DirectoryUser,
    FeedRow,
    MergeRow,
    MessagingProfile,
    SubscriptionRow,
)

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SOURCE = "/sample/acme"


def event(n: int, source: str = SOURCE) -> Event:
    return Event(id=f"m-{n}", source=source, type=TYPE_MESSAGE_RECEIVED, time="2030-01-02T03:04:05Z",
                 data={"text": f"hello {n}"}, partitionkey=f"sample/acme:chat:biz:+1555010000{n % 10}")


def interaction(n: int, *, state: str = "queued", key: str | None = None, agent: str | None = None,
                queue: str | None = "support", channel: str = "chat", updated: datetime | None = None,
                customer: str | None = None) -> Interaction:
    return Interaction(
        id=f"{n:032x}", channel=channel, direction="inbound", state=state,
        conversation_key=key or f"sample/acme:{channel}:biz:+1555{n:07d}", source=SOURCE,
        customer=customer or f"+1555{n:07d}", business="biz", queue=queue, agent=agent,
        created_at=T0 + timedelta(seconds=n), updated_at=updated or T0 + timedelta(seconds=n),
    )


def _fields(row) -> dict:
    """A frozen row's fields, to build a changed copy (``Row(**{**_fields(r), "state": …})``)."""
    return {name: getattr(row, name) for name in row.__slots__}


class StoreContract:
    """Every test gets a fresh store through the ``store`` fixture (opened, closed after)."""

    @pytest.fixture
    async def store(self, store_factory):
        s = store_factory()
        await s.open()
        try:
            yield s
        finally:
            await s.close()

    # --- inbox ----------------------------------------------------------------------------

    async def test_inbox_dedupes_on_source_and_id(self, store):
        assert await store.append_inbox([event(1), event(2)], "2030-01-02T03:04:05Z") == InboxResult(2, 0)
        assert await store.append_inbox([event(1)], "2030-01-02T03:04:06Z") == InboxResult(0, 1)
        # the same id from another account is another event
        assert await store.append_inbox([event(1, "/sample/other")], "2030-01-02T03:04:06Z") == InboxResult(1, 0)
        counters = await store.transact(lambda tx: tx.counters())
        assert counters["events.accepted"] == 3 and counters["events.deduplicated"] == 1

    async def test_inbox_backlog_counts_up_to_a_bound(self, store):
        await store.append_inbox([event(1), event(2), event(3)], "2030-01-02T03:04:05Z")
        counts = await store.transact(lambda tx: (tx.inbox_backlog(), tx.inbox_backlog(up_to=2),
                                                  tx.inbox_backlog(up_to=10), tx.inbox_backlog(up_to=0)))
        assert counts == (3, 2, 3, 0)
        first, *_ = await store.transact(lambda tx: tx.claim_inbox(1))
        await store.transact(lambda tx: tx.mark_processed_through(first.seq))
        assert await store.transact(lambda tx: tx.inbox_backlog(up_to=2)) == 2  # counted after the cursor

    async def test_inbox_takes_one_received_time_per_event(self, store):
        # the core's bus consumer appends a fetched batch of webhooks, each with its own time
        times = ["2030-01-02T03:04:05.000001Z", "2030-01-02T03:04:07.5Z"]
        assert await store.append_inbox([event(1), event(2)], times) == InboxResult(2, 0)
        assert await store.transact(lambda tx: tx.oldest_unprocessed_at()) == times[0]
        first, _ = await store.transact(lambda tx: tx.claim_inbox(2))
        await store.transact(lambda tx: tx.mark_processed_through(first.seq))
        assert await store.transact(lambda tx: tx.oldest_unprocessed_at()) == times[1]
        with pytest.raises(ValueError, match="2 received times for 1 events"):
            await store.append_inbox([event(3)], times)
        assert await store.transact(lambda tx: tx.inbox_backlog()) == 1  # nothing of the refused call

    async def test_inbox_cursor_gives_each_event_once_in_order(self, store):
        await store.append_inbox([event(1), event(2), event(3)], "2030-01-02T03:04:05Z")
        items = await store.transact(lambda tx: tx.claim_inbox(2))
        assert all(isinstance(i, InboxItem) for i in items)
        assert [i.event.id for i in items] == ["m-1", "m-2"] and items[0].seq < items[1].seq
        assert items[0].event.data == {"text": "hello 1"}
        # not claimed for good until the cursor moves
        assert [i.event.id for i in await store.transact(lambda tx: tx.claim_inbox(2))] == ["m-1", "m-2"]

        def move(tx):
            tx.mark_processed(items[0].seq, "bad data")
            tx.mark_processed_through(items[1].seq)
            return tx.inbox_backlog()

        assert await store.transact(move) == 1
        assert [i.event.id for i in await store.transact(lambda tx: tx.claim_inbox(10))] == ["m-3"]
        assert await store.transact(lambda tx: tx.inbox_failure(SOURCE, "m-1")) == "bad data"
        assert await store.transact(lambda tx: tx.inbox_failure(SOURCE, "m-2")) is None
        # the cursor never moves back
        await store.transact(lambda tx: tx.mark_processed_through(items[0].seq))
        assert [i.event.id for i in await store.transact(lambda tx: tx.claim_inbox(10))] == ["m-3"]

    # --- interactions ---------------------------------------------------------------------

    async def test_one_active_interaction_per_conversation_key(self, store):
        first = interaction(1, key="k")
        await store.transact(lambda tx: tx.save_interaction(first))
        with pytest.raises(StateError):
            await store.transact(lambda tx: tx.save_interaction(interaction(2, key="k")))
        assert (await store.transact(lambda tx: tx.active_interaction("k"))).id == first.id
        closed = first.model_copy(update={"state": InteractionState.CLOSED})
        await store.transact(lambda tx: tx.save_interaction(closed))
        assert await store.transact(lambda tx: tx.active_interaction("k")) is None
        await store.transact(lambda tx: tx.save_interaction(interaction(2, key="k")))
        assert (await store.transact(lambda tx: tx.active_interaction("k"))).id == f"{2:032x}"
        assert (await store.transact(lambda tx: tx.get_interaction(first.id))).state is InteractionState.CLOSED

    async def test_pages_newest_first_with_filters_in_the_store(self, store):
        def fill(tx):
            for n in range(1, 13):
                tx.save_interaction(interaction(
                    n, state="closed" if n % 3 == 0 else "work_in_progress" if n % 3 == 1 else "queued",
                    agent="alice" if n % 3 == 1 else None, queue="billing" if n % 2 else "support",
                    channel="sms" if n > 10 else "chat", updated=T0 + timedelta(hours=n)))

        await store.transact(fill)
        ids = lambda page: [int(i.id, 16) for i in page.items]  # noqa: E731
        seen, cursor = [], None
        while True:
            page = await store.transact(lambda tx, cursor=cursor: tx.page_interactions(InteractionQuery(), limit=5, cursor=cursor))
            assert isinstance(page, Page)
            seen += ids(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == list(range(12, 0, -1))

        async def query(**kw):
            return ids(await store.transact(lambda tx: tx.page_interactions(InteractionQuery(**kw), limit=500)))

        assert await query(states=("closed",)) == [12, 9, 6, 3]
        assert await query(active=False) == [12, 9, 6, 3]
        assert await query(active=True, queue="billing") == [11, 7, 5, 1]
        assert await query(agent="alice") == [10, 7, 4, 1]
        assert await query(channel="sms") == [12, 11]
        assert await query(updated_since=(T0 + timedelta(hours=10)).timestamp()) == [12, 11, 10]
        assert await query(states=("queued", "closed"), channel="chat") == [9, 8, 6, 5, 3, 2]
        # filters and cursor together: a page of two, then the rest
        first = await store.transact(lambda tx: tx.page_interactions(InteractionQuery(active=True), limit=2))
        rest = await store.transact(lambda tx: tx.page_interactions(
            InteractionQuery(active=True), limit=500, cursor=first.next_cursor))
        assert ids(first) + ids(rest) == [11, 10, 8, 7, 5, 4, 2, 1] and rest.next_cursor is None

    async def test_a_cursor_or_limit_the_store_did_not_make_is_refused(self, store):
        for bad in ("nope", "", "aW50ZXJhY3Rpb24", "Y2FzZTpDUzAwMDAwMDE"):  # the last: a case cursor
            with pytest.raises(ValueError):
                await store.transact(lambda tx: tx.page_interactions(InteractionQuery(), limit=5, cursor=bad))  # noqa: B023
        for limit in (0, 501):
            with pytest.raises(ValueError):
                await store.transact(lambda tx: tx.page_interactions(InteractionQuery(), limit=limit))  # noqa: B023

    async def test_find_interactions_by_the_start_or_end_of_the_id(self, store):
        await store.transact(lambda tx: [tx.save_interaction(interaction(n)) for n in (0xABC001, 0xABC002, 0xDEF001)])
        find = lambda fragment, limit=5: store.transact(lambda tx: sorted(tx.find_interactions(fragment, limit)))  # noqa: E731
        assert await find(f"{0xDEF001:032x}"[-6:]) == [f"{0xDEF001:032x}"]
        assert len(await find("c001")) == 1 and len(await find("001")) == 2
        assert len(await find("0000000000000")) == 3  # a prefix all share
        assert len(await find("0000000000000", limit=2)) == 2
        assert await find("zzz") == [] and await find("") == []

    async def test_history_rows_round_trip_in_order(self, store):
        rows = [HistoryRow("i-1", "2030-01-02T03:04:05Z", None, "new", None, None),
                HistoryRow("i-1", "2030-01-02T03:04:06Z", "new", "queued", None, "support", "routed"),
                HistoryRow("i-2", "2030-01-02T03:04:07Z", None, "new", None, None, None)]

        def write(tx):
            tx.log_transitions(rows)
            tx.log_transition("i-1", "2030-01-02T03:04:08Z", "queued", "offered", "alice", "support")

        await store.transact(write)
        plain = ("i-1", "2030-01-02T03:04:09Z", "offered", "work_in_progress", "alice", "support", None)
        with pytest.raises(TypeError, match="HistoryRow"):  # only typed rows, and none of the batch is written
            await store.transact(lambda tx: tx.log_transitions([HistoryRow(*plain), plain]))
        history = await store.transact(lambda tx: tx.interaction_history("i-1"))
        assert all(isinstance(h, HistoryRow) for h in history)
        assert [(h.from_state, h.to_state, h.agent, h.note) for h in history] == [
            (None, "new", None, None), ("new", "queued", None, "routed"), ("queued", "offered", "alice", None)]
        assert history[1].to_dict() == {"at": "2030-01-02T03:04:06Z", "from_state": "new", "to_state": "queued",
                                        "agent": None, "queue": "support", "note": "routed"}

    async def test_last_served_for_affinity(self, store):
        done = interaction(1, state="closed", key="k1").model_copy(
            update={"last_agent": "alice", "closed_at": T0 + timedelta(minutes=5)})
        old = interaction(2, state="closed", key="k2").model_copy(
            update={"last_agent": "bob", "closed_at": T0 - timedelta(days=2)})
        await store.transact(lambda tx: [tx.save_interaction(done), tx.save_interaction(old)])
        served = await store.transact(lambda tx: tx.last_served("2030-01-01T00:00:00Z"))
        assert served == [LastServed("k1", "alice", "2030-01-02T03:09:05Z")]

    # --- messages and delivery statuses ---------------------------------------------------

    async def test_a_message_is_stored_once(self, store):
        kw = dict(source=SOURCE, message_id="m-1", interaction_id="i-1", direction="inbound", kind="text",
                  body={"text": "hi"}, at="2030-01-02T03:04:05Z")
        assert await store.transact(lambda tx: tx.insert_message(**kw)) is True
        assert await store.transact(lambda tx: tx.insert_message(**kw)) is False
        assert await store.transact(lambda tx: tx.messages_of("i-1")) == [
            MessageRow("m-1", "inbound", "text", {"text": "hi"}, "2030-01-02T03:04:05Z", None)]

    async def test_delivery_statuses_only_move_forward(self, store):
        def status(s, mid="out-1"):
            return store.transact(lambda tx: tx.apply_status(source=SOURCE, message_id=mid, status=s,
                                                             provider_status=s, at="2030-01-02T03:04:05Z", error=None))

        await store.transact(lambda tx: tx.insert_message(
            source=SOURCE, message_id="out-1", interaction_id="i-1", direction="outbound", kind="text",
            body={"text": "hello"}, at="2030-01-02T03:04:05Z"))
        assert await status("sent") == "applied"
        assert await status("read") == "applied"
        assert await status("delivered") == "backwards"
        assert await store.transact(lambda tx: tx.message_status(SOURCE, "out-1")) == "read"
        assert await status("failed", "out-2") == "applied"  # before its send was recorded
        assert await status("delivered", "out-2") == "backwards"  # out of failed: never
        await store.transact(lambda tx: tx.insert_message(
            source=SOURCE, message_id="out-2", interaction_id="i-1", direction="outbound", kind="text",
            body={"text": "later"}, at="2030-01-02T03:04:06Z"))
        assert [(m.message_id, m.status, m.body) for m in await store.transact(lambda tx: tx.messages_of("i-1"))] == [
            ("out-1", "read", {"text": "hello"}), ("out-2", "failed", {"text": "later"})]
        await store.transact(lambda tx: tx.insert_message(
            source=SOURCE, message_id="in-1", interaction_id="i-1", direction="inbound", kind="text",
            body={"text": "hi"}, at="2030-01-02T03:04:07Z"))
        assert await status("read", "in-1") == "inbound"

    # --- contacts ---------------------------------------------------------------------------

    async def test_an_address_keeps_its_contact(self, store):
        first = await store.transact(lambda tx: tx.upsert_contact("chat", "+15550100001", "Ann", "2030-01-02T03:04:05Z"))
        again = await store.transact(lambda tx: tx.upsert_contact("chat", "+15550100001", "Ann B", "2030-01-02T03:04:06Z"))
        other = await store.transact(lambda tx: tx.upsert_contact("sms", "+15550100001", None, "2030-01-02T03:04:06Z"))
        assert first == again and other != first

    async def test_a_contact_holds_addresses_on_several_channels_and_merges_undoably(self, store):
        at = "2030-01-02T03:04:05Z"
        ann = await store.transact(lambda tx: tx.upsert_contact("sms", "+15550100001", "Ann", at))
        ann_mail = await store.transact(lambda tx: tx.upsert_contact("email", "ann@example.com", "Ann B", at))
        contact = await store.transact(lambda tx: tx.get_contact(ann))
        assert isinstance(contact, ContactRow) and contact.addresses == (("sms", "+15550100001"),)
        merge = await store.transact(lambda tx: tx.merge_contacts(ann, ann_mail, "2030-01-02T03:05:00Z", "alice"))
        assert isinstance(merge, MergeRow)
        assert (merge.kept, merge.absorbed, merge.addresses, merge.by, merge.undone_at) == (
            ann, ann_mail, (("email", "ann@example.com"),), "alice", None)
        assert set((await store.transact(lambda tx: tx.get_contact(ann))).addresses) == {
            ("sms", "+15550100001"), ("email", "ann@example.com")}
        assert await store.transact(lambda tx: tx.contact_of("email", "ann@example.com")) == ann
        # an address seen again after the merge stays with the kept contact
        assert await store.transact(lambda tx: tx.upsert_contact("email", "ann@example.com", None, at)) == ann
        undone = await store.transact(lambda tx: tx.undo_merge(merge.id, "2030-01-02T03:06:00Z"))
        assert undone.undone_at == "2030-01-02T03:06:00Z" and undone.addresses == merge.addresses
        assert await store.transact(lambda tx: tx.contact_of("email", "ann@example.com")) == ann_mail
        assert (await store.transact(lambda tx: tx.get_contact(ann))).addresses == (("sms", "+15550100001"),)
        with pytest.raises(StateError):
            await store.transact(lambda tx: tx.undo_merge(merge.id, "2030-01-02T03:07:00Z"))
        with pytest.raises(NotFoundError):
            await store.transact(lambda tx: tx.undo_merge("no-such-merge", at))
        with pytest.raises(NotFoundError):
            await store.transact(lambda tx: tx.merge_contacts(ann, "no-such-contact", at, "alice"))
        with pytest.raises(ValueError):
            await store.transact(lambda tx: tx.merge_contacts(ann, ann, at, "alice"))
        assert await store.transact(lambda tx: tx.get_contact("no-such-contact")) is None
        assert await store.transact(lambda tx: tx.contact_of("sms", "+15559999999")) is None

    async def test_interactions_of_addresses_on_any_channel_newest_first(self, store):
        rows = [interaction(1, channel="sms", customer="+15550100001"),
                interaction(2, channel="email", customer="ann@example.com", state="closed", key="k2"),
                interaction(3, channel="sms", customer="+15550100002"),
                interaction(4, channel="email", customer="+15550100001", key="k4")]  # same value, other channel
        await store.transact(lambda tx: [tx.save_interaction(i) for i in rows])
        found = await store.transact(lambda tx: tx.interactions_of_addresses(
            [("sms", "+15550100001"), ("email", "ann@example.com")], 10))
        assert [i.id for i in found] == [rows[1].id, rows[0].id]  # closed ones too
        newest = await store.transact(lambda tx: tx.interactions_of_addresses(
            [("sms", "+15550100001"), ("email", "ann@example.com")], 1))
        assert [i.id for i in newest] == [rows[1].id]  # the newest of both addresses, not of the first
        assert await store.transact(lambda tx: tx.interactions_of_addresses([], 10)) == []

    async def test_recent_of_addresses_summarises_the_same_interactions(self, store):
        rows = [interaction(1, channel="sms", customer="+15550100001"),
                interaction(2, channel="email", customer="ann@example.com", state="closed", key="k2"),
                interaction(3, channel="sms", customer="+15550100002")]
        rows[1] = rows[1].model_copy(update={"wrap_up_code": "Issue resolved", "case_id": "case-7"})
        await store.transact(lambda tx: [tx.save_interaction(i) for i in rows])
        addresses = [("sms", "+15550100001"), ("email", "ann@example.com")]
        whole = await store.transact(lambda tx: tx.interactions_of_addresses(addresses, 10))
        found = await store.transact(lambda tx: tx.recent_of_addresses(addresses, 10))
        assert [s.id for s in found] == [i.id for i in whole] == [rows[1].id, rows[0].id]
        first = found[0]
        assert (first.channel, first.state, first.wrap_up_code, first.case_id) == ("email", "closed", "Issue resolved",
                                                                                  "case-7")
        assert first.created_at.replace("Z", "+00:00") == whole[0].created_at.isoformat()
        assert [s.id for s in await store.transact(lambda tx: tx.recent_of_addresses(addresses, 1))] == [rows[1].id]
        assert await store.transact(lambda tx: tx.recent_of_addresses([], 10)) == []

    async def test_recent_of_addresses_follows_a_later_wrap_up_and_case(self, store):
        # the summary's wrap-up code and case are columns of their own (migration 16): a later
        # save of the same interaction (closed, linked to a case) must reach them
        addresses = [("sms", "+15550100001")]
        row = interaction(1, channel="sms", customer="+15550100001")
        await store.transact(lambda tx: tx.save_interaction(row))
        [first] = await store.transact(lambda tx: tx.recent_of_addresses(addresses, 5))
        assert (first.state, first.wrap_up_code, first.case_id) == ("queued", None, None)
        done = interaction(1, channel="sms", customer="+15550100001", state="closed").model_copy(
            update={"wrap_up_code": "Issue resolved", "case_id": "case-9"})
        await store.transact(lambda tx: tx.save_interaction(done))
        [later] = await store.transact(lambda tx: tx.recent_of_addresses(addresses, 5))
        assert (later.id, later.state, later.wrap_up_code, later.case_id) == (row.id, "closed", "Issue resolved",
                                                                             "case-9")
        reopened = done.model_copy(update={"case_id": None})  # unlinked again: the column follows
        await store.transact(lambda tx: tx.save_interaction(reopened))
        [last] = await store.transact(lambda tx: tx.recent_of_addresses(addresses, 5))
        assert last.case_id is None

    async def test_consent_and_service_windows_per_address(self, store):
        assert await store.transact(lambda tx: tx.opted_out("sms", "+15550100001")) is False
        await store.transact(lambda tx: tx.set_opt_out("sms", "+15550100001", True, "2030-01-02T03:04:05Z"))
        assert await store.transact(lambda tx: tx.opted_out("sms", "+15550100001")) is True
        assert await store.transact(lambda tx: tx.opted_out("whatsapp", "+15550100001")) is False
        await store.transact(lambda tx: tx.set_opt_out("sms", "+15550100001", False, "2030-01-02T03:05:05Z"))
        assert await store.transact(lambda tx: tx.opted_out("sms", "+15550100001")) is False
        assert await store.transact(lambda tx: tx.last_inbound(SOURCE, "+15550100001")) is None
        await store.transact(lambda tx: tx.note_inbound(SOURCE, "+15550100001", 1000.5))
        await store.transact(lambda tx: tx.note_inbound(SOURCE, "+15550100001", 900.0))  # a late redelivery
        assert await store.transact(lambda tx: tx.last_inbound(SOURCE, "+15550100001")) == 1000.5
        await store.transact(lambda tx: tx.note_inbound(SOURCE, "+15550100001", 2000.0))
        assert await store.transact(lambda tx: tx.last_inbound(SOURCE, "+15550100001")) == 2000.0
        assert await store.transact(lambda tx: tx.last_inbound("/sample/other", "+15550100001")) is None
    # --- user directory and messaging profiles ---------------------------------------------

    async def test_the_directory_is_found_by_phone_and_replaced_by_id(self, store):
        ann = DirectoryUser("u-ann", "Ann", ("+15550100001", "+15550100002"), ("ann@example.com",))
        bob = DirectoryUser("u-bob", "Bob", ("+15550100002",), ())
        assert await store.transact(lambda tx: tx.save_directory_users([ann, bob])) == 2
        found = await store.transact(lambda tx: tx.directory_users_with_phone("+15550100002"))
        assert found == [ann, bob]
        moved = DirectoryUser("u-ann", "Ann B", ("+15550100003",), ())
        await store.transact(lambda tx: tx.save_directory_users([moved]))
        assert await store.transact(lambda tx: tx.directory_users_with_phone("+15550100001")) == []
        assert await store.transact(lambda tx: tx.directory_users_with_phone("+15550100002")) == [bob]
        assert await store.transact(lambda tx: tx.get_directory_user("u-ann")) == moved
        assert await store.transact(lambda tx: tx.get_directory_user("u-nobody")) is None

    async def test_one_active_messaging_profile_per_address(self, store):
        first = MessagingProfile("p-1", "sms", "+15550100001", "2030-01-02T03:04:05Z", user_id="u-ann")
        await store.transact(lambda tx: tx.save_profile(first))
        with pytest.raises(StateError):
            await store.transact(lambda tx: tx.save_profile(
                MessagingProfile("p-2", "sms", "+15550100001", "2030-01-02T03:04:06Z")))
        assert await store.transact(lambda tx: tx.active_profile("sms", "+15550100001")) == first
        assert await store.transact(lambda tx: tx.active_profile("whatsapp", "+15550100001")) is None
        old = replace(first, active=False, deactivated_at="2030-01-02T03:04:07Z")
        new = MessagingProfile("p-2", "sms", "+15550100001", "2030-01-02T03:04:07Z", conflict="check me",
                               verified_by="key:k1")

        def swap(tx):
            tx.save_profile(old)
            tx.save_profile(new)

        await store.transact(swap)
        assert await store.transact(lambda tx: tx.active_profile("sms", "+15550100001")) == new
        assert await store.transact(lambda tx: tx.get_profile("p-1")) == old
        assert await store.transact(lambda tx: tx.list_profiles(flagged=True)) == [new]
        listed = await store.transact(lambda tx: tx.list_profiles(channel="sms", address="+15550100001"))
        assert listed == [new, old]
        assert await store.transact(lambda tx: tx.list_profiles(limit=1)) == [new]

    # --- timers -----------------------------------------------------------------------------

    async def test_a_due_timer_is_claimed_exactly_once(self, store):
        def arm(tx):
            tx.schedule_timer("offer:i-1", "offer", 100.0, "i-1", {"seq": 1})
            tx.schedule_timer("wrap_up:i-1", "wrap_up", 200.0, "i-1", {})
            tx.schedule_timer("offer:i-2", "offer", 50.0, "i-2", {})

        await store.transact(arm)
        first = await store.transact(lambda tx: tx.claim_due_timers(150.0, 10))
        assert first == [TimerRow("offer:i-2", "offer", 50.0, "i-2", {}), TimerRow("offer:i-1", "offer", 100.0, "i-1", {"seq": 1})]
        assert await store.transact(lambda tx: tx.claim_due_timers(150.0, 10)) == []
        assert [t.key for t in await store.transact(lambda tx: tx.pending_timers("i-1"))] == ["wrap_up:i-1"]
        # re-armed: pending again, once
        await store.transact(lambda tx: tx.schedule_timer("offer:i-1", "offer", 160.0, "i-1", {"seq": 2}))
        assert [t.data for t in await store.transact(lambda tx: tx.claim_due_timers(170.0, 10))] == [{"seq": 2}]
        assert await store.transact(lambda tx: tx.cancel_timers("i-1", ["offer"])) == 0
        assert await store.transact(lambda tx: tx.cancel_timers("i-1")) == 1
        assert await store.transact(lambda tx: tx.claim_due_timers(1e12, 10)) == []

    async def test_a_claim_rolled_back_is_claimed_again(self, store):
        await store.transact(lambda tx: tx.schedule_timer("t", "offer", 1.0, None, {}))

        def claim_then_fail(tx):
            assert len(tx.claim_due_timers(2.0, 10)) == 1
            raise RuntimeError("crash before the commit")

        with pytest.raises(RuntimeError):
            await store.transact(claim_then_fail)
        assert [t.key for t in await store.transact(lambda tx: tx.claim_due_timers(2.0, 10))] == ["t"]

    # --- outbox -------------------------------------------------------------------------------

    @staticmethod
    def _enqueue(store, key, interaction_id="i-1", text="hello", caller=None):
        return store.transact(lambda tx: tx.enqueue_outbox(
            idempotency_key=key, plugin="sample", account="acme", interaction_id=interaction_id,
            payload={"customer": "+15550100001", "text": text}, now=10.0, caller=caller))

    async def test_outbox_keys_are_scoped_to_the_interaction(self, store):
        assert await self._enqueue(store, "r-1") is True
        assert await self._enqueue(store, "r-1") is False  # a retry of the same request
        assert await self._enqueue(store, "r-1", interaction_id="i-2") is True  # another interaction
        assert await self._enqueue(store, "r-1", caller="svc-b") is True  # another caller
        with pytest.raises(IdempotencyConflict):
            await self._enqueue(store, "r-1", text="something else")
        rows = await store.transact(lambda tx: tx.claim_outbox(10.0, 10))
        assert [(r.interaction_id, r.payload["text"], r.attempts) for r in rows] == [
            ("i-1", "hello", 1), ("i-2", "hello", 1), ("i-1", "hello", 1)]
        keys = [r.idempotency_key for r in rows]
        assert keys[0] == "r-1" and len(set(keys)) == 3  # the provider can tell the sends apart

    async def test_outbox_claims_due_rows_and_retries(self, store):
        await self._enqueue(store, "a")
        assert await store.transact(lambda tx: tx.claim_outbox(5.0, 10)) == []  # not due yet
        [row] = await store.transact(lambda tx: tx.claim_outbox(10.0, 10))
        assert await store.transact(lambda tx: tx.claim_outbox(10.0, 10)) == []  # sending
        await store.transact(lambda tx: tx.finish_outbox(row.id, state="pending", error="503", next_attempt_at=20.0))
        assert await store.transact(lambda tx: tx.claim_outbox(15.0, 10)) == []
        [again] = await store.transact(lambda tx: tx.claim_outbox(20.0, 10))
        assert again.id == row.id and again.idempotency_key == row.idempotency_key and again.attempts == 2
        await store.transact(lambda tx: tx.finish_outbox(again.id, state="sent", provider_message_id="out-1"))
        assert await store.transact(lambda tx: tx.claim_outbox(1e12, 10)) == []
        assert await self._enqueue(store, "a") is False  # sent: the key still guards it

    async def test_rows_left_sending_are_requeued(self, store):
        await self._enqueue(store, "a")
        await store.transact(lambda tx: tx.claim_outbox(10.0, 10))
        assert await store.transact(lambda tx: tx.requeue_stale_sending()) == 1
        assert len(await store.transact(lambda tx: tx.claim_outbox(10.0, 10))) == 1

    # --- bus outbox (events out) -----------------------------------------------------------------

    @staticmethod
    def _bus_event(n: int, at: float = 10.0) -> BusEventRow:
        return BusEventRow(msg_id=f"{n:064x}", event_type="io.omnisdk.interaction.created",
                           payload=b'{"id": "e-%d"}' % n, created_at=at)

    async def test_bus_events_are_queued_once_in_commit_order_and_claimed_once(self, store):
        ev = self._bus_event
        assert await store.transact(lambda tx: tx.enqueue_bus_events([ev(1), ev(2)])) == 2
        assert await store.transact(lambda tx: tx.enqueue_bus_events([ev(2), ev(3)])) == 1  # ev(2) is queued already
        assert await store.transact(lambda tx: tx.claim_bus_events(9.0, 10, 30.0)) == []  # not due before it was queued
        first = await store.transact(lambda tx: tx.claim_bus_events(10.0, 2, 30.0))
        assert [(r.msg_id, r.attempts, r.next_attempt_at, r.payload) for r in first] == [
            (ev(1).msg_id, 1, 40.0, b'{"id": "e-1"}'), (ev(2).msg_id, 1, 40.0, b'{"id": "e-2"}')]
        assert first[0].seq < first[1].seq
        [third] = await store.transact(lambda tx: tx.claim_bus_events(10.0, 10, 30.0))  # the others are leased
        assert third.msg_id == ev(3).msg_id and third.seq > first[1].seq
        assert await store.transact(lambda tx: tx.claim_bus_events(39.0, 10, 30.0)) == []
        assert await store.transact(lambda tx: tx.finish_bus_events([first[0].seq])) == 1
        assert await store.transact(lambda tx: tx.finish_bus_events([first[0].seq])) == 0
        await store.transact(lambda tx: tx.retry_bus_events([first[1].seq], at=20.0, error="TimeoutError"))
        assert await store.transact(lambda tx: tx.claim_bus_events(19.0, 10, 30.0)) == []
        [again] = await store.transact(lambda tx: tx.claim_bus_events(20.0, 10, 30.0))
        assert (again.seq, again.attempts, again.last_error) == (first[1].seq, 2, "TimeoutError")
        assert await store.transact(lambda tx: tx.fail_bus_events([third.seq], error="MaxPayloadError")) == 1
        assert [r.msg_id for r in await store.transact(lambda tx: tx.claim_bus_events(1e12, 10, 30.0))] == [ev(2).msg_id]
        failed = await store.transact(lambda tx: tx.bus_events(state="failed"))
        assert [(r.msg_id, r.state, r.last_error) for r in failed] == [(ev(3).msg_id, "failed", "MaxPayloadError")]
        assert [r.msg_id for r in await store.transact(lambda tx: tx.bus_events())] == [ev(2).msg_id, ev(3).msg_id]
        # once published and deleted, a later event still comes after every queued one
        assert await store.transact(lambda tx: tx.enqueue_bus_events([ev(4)])) == 1
        assert [r.msg_id for r in await store.transact(lambda tx: tx.bus_events(state="pending"))] == [
            ev(2).msg_id, ev(4).msg_id]

    async def test_the_bus_backlog_is_the_pending_rows_and_the_oldest_ones_time(self, store):
        ev = self._bus_event
        assert await store.transact(lambda tx: tx.bus_backlog()) == (0, None)
        await store.transact(lambda tx: tx.enqueue_bus_events([ev(1, at=12.5), ev(2, at=11.0), ev(3, at=14.0)]))
        assert await store.transact(lambda tx: tx.bus_backlog()) == (3, 11.0)
        claimed = await store.transact(lambda tx: tx.claim_bus_events(20.0, 2, 30.0))
        assert await store.transact(lambda tx: tx.bus_backlog()) == (3, 11.0)  # claimed rows still wait
        await store.transact(lambda tx: tx.finish_bus_events([claimed[1].seq]))  # ev(2) published
        assert await store.transact(lambda tx: tx.bus_backlog()) == (2, 12.5)
        await store.transact(lambda tx: tx.fail_bus_events([claimed[0].seq], error="MaxPayloadError"))
        assert await store.transact(lambda tx: tx.bus_backlog()) == (1, 14.0)  # failed rows wait no more
        [last] = await store.transact(lambda tx: tx.claim_bus_events(20.0, 10, 30.0))
        await store.transact(lambda tx: tx.finish_bus_events([last.seq]))
        assert await store.transact(lambda tx: tx.bus_backlog()) == (0, None)

    async def test_a_bus_event_is_written_and_claimed_with_its_transaction_only(self, store):
        def change_then_fail(tx):
            tx.save_interaction(interaction(1))
            tx.enqueue_bus_events([self._bus_event(1)])
            raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await store.transact(change_then_fail)
        assert await store.transact(lambda tx: tx.bus_events()) == []
        await store.transact(lambda tx: tx.enqueue_bus_events([self._bus_event(2)]))

        def claim_then_fail(tx):
            assert len(tx.claim_bus_events(10.0, 10, 30.0)) == 1
            raise RuntimeError("crash before the commit")

        with pytest.raises(RuntimeError):
            await store.transact(claim_then_fail)
        [row] = await store.transact(lambda tx: tx.claim_bus_events(10.0, 10, 30.0))
        assert (row.msg_id, row.attempts) == (self._bus_event(2).msg_id, 1)

    # --- cases, counters, directory ------------------------------------------------------------

    async def test_cases_by_id_and_number_and_pages_with_every_field(self, store):
        def open_cases(tx):
            for _ in range(3):
                n = tx.next_number("case")
                tx.save_case(Case(id=f"c-{n}", number=f"CS{n:07d}", subject=f"s{n}", customer="+1",
                                  interaction_ids=[f"i-{n}"], created_at=T0))

        await store.transact(open_cases)
        assert (await store.transact(lambda tx: tx.get_case("CS0000002"))).id == "c-2"
        case = await store.transact(lambda tx: tx.get_case("c-3"))
        assert isinstance(case, Case) and case.state is CaseState.NEW and case.updates is None
        case = case.model_copy(update={"interaction_ids": [*case.interaction_ids, "i-9"]})
        await store.transact(lambda tx: tx.save_case(case))
        assert (await store.transact(lambda tx: tx.get_case("c-3"))).interaction_ids == ["i-3", "i-9"]
        assert await store.transact(lambda tx: tx.get_case("nope")) is None
        first = await store.transact(lambda tx: tx.page_cases(limit=2))
        rest = await store.transact(lambda tx: tx.page_cases(limit=2, cursor=first.next_cursor))
        assert [c.number for c in first.items + rest.items] == ["CS0000003", "CS0000002", "CS0000001"]
        assert all(isinstance(c, Case) for c in first.items + rest.items) and rest.next_cursor is None
        with pytest.raises(ValueError):
            await store.transact(lambda tx: tx.page_cases(limit=2, cursor="garbage"))
        with pytest.raises(TypeError, match="Case"):  # a plain document is refused, nothing written
            await store.transact(lambda tx: tx.save_case(case.model_dump(mode="json") | {"id": "c-x"}))
        assert await store.transact(lambda tx: tx.get_case("c-x")) is None
        # every field comes back; numbers past seven digits page after the shorter ones
        inter = interaction(1)
        full = Case(
            id="c-full", number="CS9999999", subject="Printer X2 jams", customer="ann@example.test",
            interaction_ids=[inter.id], created_at=T0, state=CaseState.CLOSED, product="Printer X2",
            state_history=[CaseTransition(at=T0, from_state="new", to_state="closed", by="alice", note="done")],
            context=inter,
            history=[MessageRecord(message_id="m-1", direction="inbound", kind="text", body={"text": "It jams."},
                                   created_at="2030-01-02T03:04:05Z")],
            transitions=[Transition(at="2030-01-02T03:04:05Z", from_state=None, to_state="new", note="customer message")],
            updates=[CaseUpdate(at=T0, message_id="r-1@example.test", sender="ann@example.test", counted=False,
                                reason="the receiving MTA says dmarc=fail: kept as a note")],
            survey=CaseSurvey(score=4, at=T0 + timedelta(days=1)),
        )
        wider = Case(id="c-wide", number="CS10000000", subject="s", customer="+1", created_at=T0)
        await store.transact(lambda tx: [tx.save_case(full), tx.save_case(wider)])
        got = await store.transact(lambda tx: tx.get_case("CS9999999"))
        assert got == full and got.updates[0].model_dump(mode="json")["from"] == "ann@example.test"
        first = await store.transact(lambda tx: tx.page_cases(limit=1))
        rest = await store.transact(lambda tx: tx.page_cases(limit=2, cursor=first.next_cursor))
        assert [c.number for c in first.items + rest.items] == ["CS10000000", "CS9999999", "CS0000003"]

    async def test_case_summaries_read_many_cases_by_id_at_once(self, store):
        inter = interaction(1)
        closed = Case(id="c-1", number="CS0000001", subject="Printer X2 jams", customer="ann@example.test",
                      interaction_ids=[inter.id], created_at=T0, state=CaseState.CLOSED,
                      state_history=[CaseTransition(at=T0, from_state="new", to_state="closed", by="alice")],
                      context=inter, history=[MessageRecord(message_id="m-1", direction="inbound", kind="text",
                                                            body={"text": "It jams."}, created_at="2030-01-02T03:04:05Z")])
        fresh = Case(id="c-2", number="CS0000002", subject="Toner", customer="+1", created_at=T0)
        await store.transact(lambda tx: [tx.save_case(closed), tx.save_case(fresh)])
        got = await store.transact(lambda tx: tx.case_summaries(["c-2", "nope", "c-1"]))
        assert sorted((c.id, c.number, c.subject, c.state, c.customer, c.interaction_ids, c.state_history)
                      for c in got) == [
            ("c-1", "CS0000001", "Printer X2 jams", CaseState.CLOSED, "ann@example.test", [inter.id],
             closed.state_history),
            ("c-2", "CS0000002", "Toner", CaseState.NEW, "+1", [], [])]
        assert await store.transact(lambda tx: tx.case_summaries(["CS0000001"])) == []  # ids, not numbers
        assert await store.transact(lambda tx: tx.case_summaries([])) == []

    async def test_counters_add_up_and_roll_back_with_their_transaction(self, store):
        await store.transact(lambda tx: tx.count("x", 2))
        await store.transact(lambda tx: tx.count("x"))

        def count_then_fail(tx):
            tx.count("x", 100)
            raise RuntimeError("no")

        with pytest.raises(RuntimeError):
            await store.transact(count_then_fail)
        assert (await store.transact(lambda tx: tx.counters()))["x"] == 3
        assert [await store.transact(lambda tx: tx.next_number("n")) for _ in range(3)] == [1, 2, 3]

    async def test_a_counter_is_also_a_gauge_and_a_connector_call_is_an_outbox_row(self, store):
        """The connector-call backlog (``connector_calls.backlog``) goes up and down with the
        rows; a call is an outbox row kind (its payload), claimed like any send."""
        await store.transact(lambda tx: [tx.count("g", 2), tx.count("g", -1)])
        await store.transact(lambda tx: tx.count("g", -1))
        assert (await store.transact(lambda tx: tx.counters()))["g"] == 0
        payload = {"connector_call": {"op": "disconnect", "interaction": {"id": "i-1"}}, "interaction_id": "i-1"}
        assert await store.transact(lambda tx: tx.enqueue_outbox(
            idempotency_key="disconnect:i-1:1", plugin="genesys", account="acme", interaction_id="i-1",
            payload=payload, now=10.0))
        [row] = await store.transact(lambda tx: tx.claim_outbox(10.0, 10))
        assert (row.idempotency_key, row.plugin, row.payload, row.attempts) == ("disconnect:i-1:1", "genesys", payload, 1)

    async def test_agents_and_queues_round_trip(self, store):
        alice = Agent(id="alice", capacity={"chat": 2}, skills={"billing": 3})
        await store.transact(lambda tx: [tx.save_agent(alice), tx.save_queue(Queue(name="vip", priority=3)),
                                         tx.save_queue(Queue(name="b"))])
        await store.transact(lambda tx: tx.save_agent(alice.model_copy(update={"capacity": {"chat": 1}})))
        agents = await store.transact(lambda tx: tx.list_agents())
        assert agents == [alice.model_copy(update={"capacity": {"chat": 1}})]
        assert [q.name for q in await store.transact(lambda tx: tx.list_queues())] == ["vip", "b"]
        with pytest.raises(TypeError, match="Agent"):  # only typed rows
            await store.transact(lambda tx: tx.save_agent({"id": "bob", "capacity": {"chat": 1}}))
        with pytest.raises(TypeError, match="Queue"):
            await store.transact(lambda tx: tx.save_queue({"name": "c"}))
        assert len(await store.transact(lambda tx: tx.list_agents())) == 1

    # --- email threading ------------------------------------------------------------------------

    async def test_email_message_ids_find_their_interaction(self, store):
        def index(tx):
            a = tx.index_message_ids("email/acme", "i-1", "email/acme:email:help@acme.test:ann@example.test",
                                     ["<first@mail.example.test>", "<reply-1@acme.test>"], "inbound")
            b = tx.index_message_ids("email/acme", "i-2", "email/acme:email:help@acme.test:bob@example.test",
                                     ["<other@mail.example.test>", "<first@mail.example.test>"], "outbound")
            return a, b

        assert await store.transact(index) == (2, 1)  # an id already indexed keeps its interaction
        links = await store.transact(lambda tx: tx.interactions_for_message_ids("email/acme",
            ["<unknown@x>", "<reply-1@acme.test>", "first@mail.example.test", "<other@mail.example.test>"]))
        assert [(link.message_id, link.interaction_id, link.direction) for link in links] == [
            ("reply-1@acme.test", "i-1", "inbound"), ("first@mail.example.test", "i-1", "inbound"),
            ("other@mail.example.test", "i-2", "outbound")]
        assert links[0].conversation_key.endswith(":ann@example.test")
        assert await store.transact(lambda tx: tx.interactions_for_message_ids("email/acme", [])) == []

    async def test_email_message_ids_are_per_account(self, store):
        # one mail sent to two accounts' addresses threads in each, and neither sees the other's
        def index(tx):
            return (tx.index_message_ids("email/a", "i-a", "email/a:email:x@a.test:ann@example.test",
                                         ["<shared@mail.example.test>"], "inbound"),
                    tx.index_message_ids("email/b", "i-b", "email/b:email:y@b.test:ann@example.test",
                                         ["<shared@mail.example.test>"], "inbound"))

        assert await store.transact(index) == (1, 1)
        for source, iid in (("email/a", "i-a"), ("email/b", "i-b"), ("email/c", None)):
            links = await store.transact(lambda tx, s=source: tx.interactions_for_message_ids(
                s, ["shared@mail.example.test"]))
            assert [link.interaction_id for link in links] == ([iid] if iid else [])

    async def test_active_interactions_of_one_customer(self, store):
        def work(tx):
            for n, (customer, state) in enumerate([("ann", "queued"), ("bob", "queued"), ("ann", "closed"),
                                                    ("ann", "work_in_progress")], start=1):
                tx.save_interaction(interaction(n, customer=customer, state=state))
            return tx.active_interactions_of(interaction(1).source, interaction(1).channel, "ann")

        found = await store.transact(work)
        assert [i.id for i in found] == [interaction(4).id, interaction(1).id]

    # --- atomicity -------------------------------------------------------------------------------

    # --- the agent API: keys and audit, the live feed, outgoing webhooks -----------------------

    async def test_api_keys_round_trip_and_revoke_once(self, store):
        rows = [ApiKeyRow(id=f"k{n}", name=f"tool {n}", role="agent", scopes=("interactions:read",),
                          secret_hash=f"$argon2id$fake{n}", created_at=f"2030-01-02T03:04:0{n}Z", agent="alice",
                          queues=("support",) if n == 2 else None)
                for n in (1, 2)]
        await store.transact(lambda tx: [tx.save_api_key(r) for r in rows])
        assert await store.transact(lambda tx: tx.get_api_key("k2")) == rows[1]
        assert await store.transact(lambda tx: tx.list_api_keys()) == rows
        assert await store.transact(lambda tx: tx.get_api_key("nope")) is None
        assert await store.transact(lambda tx: tx.revoke_api_key("k1", "2030-01-03T00:00:00Z")) is True
        assert await store.transact(lambda tx: tx.revoke_api_key("k1", "2030-01-04T00:00:00Z")) is False
        assert await store.transact(lambda tx: tx.revoke_api_key("nope", "2030-01-04T00:00:00Z")) is False
        assert (await store.transact(lambda tx: tx.get_api_key("k1"))).revoked_at == "2030-01-03T00:00:00Z"
        with pytest.raises(StoreError):  # an id is never reused
            await store.transact(lambda tx: tx.save_api_key(rows[0]))

    async def test_the_audit_log_appends_and_pages_newest_first(self, store):
        def write(tx):
            for n in range(5):
                tx.append_audit(AuditRow(at=f"2030-01-02T03:04:0{n}Z", subject="key:k1", role="agent",
                                         method="POST", path=f"/v1/x/{n}", status=200 + n, remote="127.0.0.1"))

        await store.transact(write)
        first = await store.transact(lambda tx: tx.page_audit(limit=3))
        rest = await store.transact(lambda tx: tx.page_audit(limit=3, cursor=first.next_cursor))
        paths = [r.path for r in first.items + rest.items]
        assert paths == [f"/v1/x/{n}" for n in range(4, -1, -1)] and rest.next_cursor is None
        seqs = [r.seq for r in first.items + rest.items]
        assert all(s > 0 for s in seqs) and seqs == sorted(seqs, reverse=True)
        with pytest.raises(ValueError):
            await store.transact(lambda tx: tx.page_audit(limit=3, cursor="garbage"))

    async def test_the_live_feed_reads_state_changes_and_messages_in_commit_order(self, store):
        assert await store.transact(lambda tx: tx.feed_head()) == (0, 0)
        held = interaction(1, state="offered", agent="alice")

        def write(tx):
            tx.save_interaction(held)
            tx.log_transition(held.id, "2030-01-02T03:04:05Z", None, "new", None, None)
            tx.log_transition(held.id, "2030-01-02T03:04:06Z", "new", "offered", "alice", "support")
            tx.insert_message(source=SOURCE, message_id="m-1", interaction_id=held.id, direction="inbound",
                              kind="text", body={"text": "hi"}, at="2030-01-02T03:04:05Z")

        await store.transact(write)
        state_head, message_head = await store.transact(lambda tx: tx.feed_head())
        assert state_head > 0 and message_head > 0
        rows = await store.transact(lambda tx: tx.feed_after(0, 0))
        assert all(isinstance(r, FeedRow) for r in rows)
        states = [r for r in rows if r.kind == "state"]
        messages = [r for r in rows if r.kind == "message"]
        assert [r.data["to_state"] for r in states] == ["new", "offered"]
        assert states[0].seq < states[1].seq == state_head
        assert (states[1].agent, states[1].queue) == ("alice", "support")
        assert [(m.interaction_id, m.data["message_id"], m.data["text"], m.agent) for m in messages] == [
            (held.id, "m-1", "hi", "alice")]
        assert await store.transact(lambda tx: tx.feed_after(state_head, message_head)) == []
        upto = await store.transact(lambda tx: tx.feed_after(0, 0, state_upto=states[0].seq, message_upto=0))
        assert [(r.kind, r.seq) for r in upto] == [("state", states[0].seq)]
        assert len(await store.transact(lambda tx: tx.feed_after(0, 0, limit=1))) == 2  # one of each kind

    async def test_webhook_subscriptions_and_deliveries(self, store):
        sub = SubscriptionRow(id="s1", url="https://crm.example/hook", event_types=("io.omnisdk.interaction.*",),
                              secret="whsec_dGVzdA==", created_at="2030-01-02T03:04:05Z", description="crm")
        await store.transact(lambda tx: tx.save_subscription(sub))
        assert await store.transact(lambda tx: tx.get_subscription("s1")) == sub
        assert await store.transact(lambda tx: tx.list_subscriptions()) == [sub]

        def delivery(n: int, event: str) -> DeliveryRow:
            return DeliveryRow(id=f"d{n}", subscription_id="s1", event_id=event, event_type="io.omnisdk.interaction.created",
                               payload=b'{"id": "%s"}' % event.encode(), created_at="2030-01-02T03:04:05Z",
                               next_attempt_at=10.0)

        await store.transact(lambda tx: tx.enqueue_deliveries([delivery(1, "e1"), delivery(2, "e2")]))
        await store.transact(lambda tx: tx.enqueue_deliveries([delivery(3, "e1")]))  # e1 already queued for s1
        assert await store.transact(lambda tx: tx.claim_deliveries(5.0, 10)) == []  # not due yet
        claimed = await store.transact(lambda tx: tx.claim_deliveries(10.0, 10))
        assert sorted(d.event_id for d in claimed) == ["e1", "e2"]
        assert claimed[0].payload.startswith(b'{"id"')
        assert await store.transact(lambda tx: tx.claim_deliveries(10.0, 10)) == []  # leased: no second taker
        done = {d.event_id: d for d in claimed}
        await store.transact(lambda tx: tx.finish_delivery(DeliveryRow(
            **{**_fields(done["e1"]), "state": "delivered", "attempts": 1, "last_status": 200,
               "delivered_at": "2030-01-02T03:04:06Z"})))
        await store.transact(lambda tx: tx.finish_delivery(DeliveryRow(
            **{**_fields(done["e2"]), "state": "failed", "attempts": 6, "last_status": 500, "last_error": "HTTP 500"})))
        failed = await store.transact(lambda tx: tx.list_deliveries("s1", state="failed"))
        assert [(d.event_id, d.attempts, d.last_error) for d in failed] == [("e2", 6, "HTTP 500")]
        assert len(await store.transact(lambda tx: tx.list_deliveries("s1"))) == 2
        assert await store.transact(lambda tx: tx.requeue_deliveries("s1")) == 1
        (again,) = await store.transact(lambda tx: tx.claim_deliveries(10.0, 10))
        assert (again.event_id, again.attempts, again.state) == ("e2", 0, "pending")
        # a disabled subscription's deliveries are not claimed
        await store.transact(lambda tx: tx.requeue_deliveries("s1", again.id))
        await store.transact(lambda tx: tx.save_subscription(SubscriptionRow(
            **{**_fields(sub), "state": "disabled", "disabled_reason": "410 Gone"})))
        await store.transact(lambda tx: tx.finish_delivery(DeliveryRow(**{**_fields(again), "next_attempt_at": 0.0})))
        assert await store.transact(lambda tx: tx.claim_deliveries(1e12, 10)) == []
        assert await store.transact(lambda tx: tx.delete_subscription("s1")) is True
        assert await store.transact(lambda tx: tx.delete_subscription("s1")) is False
        assert await store.transact(lambda tx: tx.list_deliveries("s1")) == []

    async def test_a_savepoint_rolls_back_only_its_own_writes(self, store):
        def work(tx):
            tx.save_interaction(interaction(1))
            before = tx.writes()
            with pytest.raises(RuntimeError), tx.savepoint("inner"):
                tx.save_interaction(interaction(2))
                tx.count("inner")
                raise RuntimeError("undo")
            assert tx.writes() >= before  # never goes down
            unchanged = tx.writes()
            with tx.savepoint():
                pass
            assert tx.writes() == unchanged
            with tx.savepoint("kept"):
                tx.count("kept")
            assert tx.writes() > unchanged

        await store.transact(work)
        assert await store.transact(lambda tx: tx.get_interaction(f"{2:032x}")) is None
        assert await store.transact(lambda tx: tx.get_interaction(f"{1:032x}")) is not None
        counters = await store.transact(lambda tx: tx.counters())
        assert "inner" not in counters and counters["kept"] == 1
        with pytest.raises(ValueError):
            await store.transact(lambda tx: tx.savepoint("not an identifier").__enter__())

    async def test_a_failing_transaction_leaves_nothing(self, store):
        def work(tx):
            tx.save_interaction(interaction(1))
            tx.schedule_timer("t", "offer", 1.0, None, {})
            raise RuntimeError("no")

        with pytest.raises(RuntimeError):
            await store.transact(work)
        assert await store.transact(lambda tx: tx.get_interaction(f"{1:032x}")) is None
        assert await store.transact(lambda tx: tx.pending_timers()) == []

    async def test_data_survives_a_reopen(self, store_factory):
        s = store_factory()
        await s.open()
        await s.append_inbox([event(1)], "2030-01-02T03:04:05Z")
        await s.transact(lambda tx: tx.save_interaction(interaction(1)))
        await s.close()
        s = store_factory()
        await s.open()
        try:
            assert await s.append_inbox([event(1)], "2030-01-02T03:04:06Z") == InboxResult(0, 1)
            assert (await s.transact(lambda tx: tx.get_interaction(f"{1:032x}"))).customer == "+15550000001"
        finally:
            await s.close()
