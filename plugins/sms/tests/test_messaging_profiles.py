"""Messaging profiles, the user directory and agent-initiated SMS on recorded Twilio webhooks.

The real gateway and the real sms plugin (see test_lifecycle_scenarios.py): recorded form
bodies signed as Twilio signs them, sends to a respx-mocked Messages API.  The customer of
inbound_sms.form is +12065550142 writing to the account's number +14155550100; the account
also owns +14155550199 (its ``numbers``).  The directory is the store's (``omnisdk import
directory`` writes it) or a CRM plugin's answer to ``omnisdk_lookup_requester``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_lifecycle_scenarios import BUSINESS, CUSTOMER, PUBLIC, WEBHOOK, Rig, next_sms

from omnisdk.errors import InteractionHeldError, NotFoundError, OptedOutError, PluginError
from omnisdk.hookspecs import hookimpl
from omnisdk.model import DirectoryUser
from omnisdk.model import InteractionState as S
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_sms import TwilioSmsAdapter

SECOND_NUMBER = "+14155550199"
SETTINGS = {**TwilioSmsAdapter.example_settings(), "numbers": [SECOND_NUMBER]}
ANN = DirectoryUser("u-ann", "Ann Lee", (CUSTOMER,), ("ann@example.com",))
BOB = DirectoryUser("u-bob", "Bob Ray", ("+13125550167",), ())


class ProfileRig(Rig):
    """The lifecycle scenarios' rig with a second business number and a queue of choice."""

    def __init__(self, tmp_path, queue: dict | None = None) -> None:
        KitRuntime.__init__(
            self, lambda: TwilioSmsAdapter("acme", SETTINGS), tmp_path, PUBLIC + WEBHOOK,
            [queue or {"name": "support"}],
            agents=[{"id": "alice", "capacity": {"sms": 2}}, {"id": "bob", "capacity": {"sms": 2}}],
            lifecycle={"wrap_up_timeout": 5}, clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
            loops=False)
        self.answer_sids = []

    async def directory(self, *users: DirectoryUser) -> None:
        await self.rt.store.transact(lambda tx: tx.save_directory_users(list(users)))

    async def profile(self, address: str = CUSTOMER):
        return await self.rt.store.transact(lambda tx: tx.active_profile("sms", address))


@pytest.fixture
async def rig(tmp_path):
    async with ProfileRig(tmp_path) as r:
        yield r


async def close(rig, inter) -> None:
    if inter.state is S.OFFERED:
        await rig.rt.accept(inter.id)
    await rig.rt.close_interaction(inter.id, "Issue resolved")


# --- inbound: the four rules ------------------------------------------------------------------

async def test_a_directory_number_without_a_profile_gets_one_linked_to_its_user(rig, recs):
    await rig.directory(ANN, BOB)
    inter = await rig.customer(recs["inbound_sms"].body)
    assert (inter.requester, inter.profile_conflict, inter.customer_name) == ("u-ann", None, "Ann Lee")
    profile = await rig.profile()
    assert (profile.id, profile.user_id, profile.conflict) == (inter.messaging_profile, "u-ann", None)
    await close(rig, inter)
    again = await rig.customer(next_sms(recs, 2))  # a later conversation: the same profile
    assert again.id != inter.id and (again.requester, again.messaging_profile) == ("u-ann", profile.id)
    stats = await rig.rt.stats()
    assert stats["profiles.directory"] == 2 and "profiles.conflict" not in stats


async def test_a_profile_without_a_directory_match_gives_its_requester(rig, recs):
    from omnisdk.store.rows import MessagingProfile

    kept = MessagingProfile("p-kept", "sms", CUSTOMER, "2026-01-01T00:00:00Z", user_id="u-crm-77")
    await rig.rt.store.transact(lambda tx: tx.save_profile(kept))
    inter = await rig.customer(recs["inbound_sms"].body)  # the directory does not know the number
    assert (inter.requester, inter.messaging_profile, inter.profile_conflict) == ("u-crm-77", "p-kept", None)
    assert (await rig.rt.stats())["profiles.profile"] == 1


async def test_a_number_known_nowhere_gets_a_new_anonymous_profile(rig, recs):
    await rig.directory(BOB)
    inter = await rig.customer(recs["inbound_sms"].body)
    profile = await rig.profile()
    assert inter.requester is None and profile.user_id is None and inter.messaging_profile == profile.id
    assert (await rig.rt.stats())["profiles.new"] == 1
    await close(rig, inter)
    await rig.directory(ANN)  # the number is Ann's since: the anonymous profile is linked to her
    again = await rig.customer(next_sms(recs, 3))
    assert again.requester == "u-ann" and again.messaging_profile == profile.id


async def test_two_directory_users_on_one_number_are_flagged_never_merged(rig, recs):
    twin = DirectoryUser("u-ann-2", "Ann Lee (work)", (CUSTOMER,), ())
    await rig.directory(ANN, twin)
    inter = await rig.customer(recs["inbound_sms"].body)
    assert inter.requester is None
    assert inter.profile_conflict == ("the number is on 2 directory users (u-ann, u-ann-2): link the right one")
    flagged = await rig.rt.store.transact(lambda tx: tx.list_profiles(flagged=True))
    assert [p.id for p in flagged] == [inter.messaging_profile]
    # both users are still there, each with their own phones: nothing was merged
    assert await rig.rt.store.transact(lambda tx: tx.directory_users_with_phone(CUSTOMER)) == [ANN, twin]

    linked = await rig.rt.link_profile(inter.messaging_profile, "u-ann-2", by="key:k-alice")
    assert (linked.user_id, linked.conflict, linked.verified_by) == ("u-ann-2", None, "key:k-alice")
    now = (await rig.rt.interaction(inter.id))[0]
    assert (now.requester, now.profile_conflict) == ("u-ann-2", None)
    await close(rig, now)
    again = await rig.customer(next_sms(recs, 4))  # the agent's choice stands against the directory
    assert (again.requester, again.profile_conflict) == ("u-ann-2", None)


async def test_a_linked_user_whose_directory_phones_dropped_the_number_is_flagged(rig, recs):
    await rig.directory(ANN)
    inter = await rig.customer(recs["inbound_sms"].body)
    await close(rig, inter)
    await rig.directory(DirectoryUser("u-ann", "Ann Lee", ("+12065550199",), ()))  # Ann changed numbers
    again = await rig.customer(next_sms(recs, 5))
    assert again.requester == "u-ann"  # still the profile's user, as ServiceNow keeps it
    assert again.profile_conflict == "directory user u-ann's phones no longer include the number: check it"
    await rig.directory(ANN, DirectoryUser("u-new", "New Owner", (CUSTOMER,), ()))
    await close(rig, again)
    third = await rig.customer(next_sms(recs, 6))  # the directory now says both: still flagged
    assert third.requester == "u-ann" and "the profile says u-ann" in third.profile_conflict


class Crm:
    """A CRM plugin: answers the directory lookup for the numbers it knows."""

    def __init__(self, users: dict[str, list[DirectoryUser]]) -> None:
        self.users = users
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def omnisdk_lookup_requester(self, channel, address):
        self.asked.append((channel, address))
        return self.users.get(address)


async def test_a_crm_plugin_answers_before_the_imported_directory(rig, recs):
    await rig.directory(ANN)
    crm = Crm({CUSTOMER: [DirectoryUser("crm-9", "Ann from the CRM", (CUSTOMER,))]})
    rig.rt.host.register(crm, "crm")
    assert rig.rt.host.omnisdk_lookup_requester("sms", CUSTOMER) == crm.users[CUSTOMER]
    assert rig.rt.host.omnisdk_lookup_requester("sms", "+13125550167") is None  # no answer: the directory's
    inter = await rig.customer(recs["inbound_sms"].body)
    assert (inter.requester, inter.customer_name) == ("crm-9", "Ann from the CRM")
    assert crm.asked[-1] == ("sms", CUSTOMER)


async def test_a_crm_plugin_answering_garbage_is_a_plugin_error_and_loses_no_message(rig, recs):
    class Broken:
        @hookimpl
        def omnisdk_lookup_requester(self, channel, address):
            return {"id": "not a DirectoryUser"}

    rig.rt.host.register(Broken(), "broken-crm")
    with pytest.raises(PluginError, match="list of DirectoryUser"):
        rig.rt.host.omnisdk_lookup_requester("sms", CUSTOMER)
    await rig.directory(ANN)
    inter = await rig.customer(recs["inbound_sms"].body)  # still threaded: the imported directory answers
    assert inter.requester == "u-ann"


# --- agent-initiated SMS ----------------------------------------------------------------------

async def test_the_agent_chooses_one_of_the_accounts_numbers(rig, recs):
    inter = await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer=CUSTOMER,
                                        text="Your parcel is ready.", business=SECOND_NUMBER)
    [form] = await rig.sent()
    assert form["From"] == [SECOND_NUMBER] and form["To"] == [CUSTOMER]
    assert (inter.business, inter.agent, inter.state) == (SECOND_NUMBER, "alice", S.WORK_IN_PROGRESS)
    assert inter.messaging_profile == (await rig.profile()).id
    with pytest.raises(ValueError, match="does not own the business address"):
        await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer=CUSTOMER,
                                    text="From a number of someone else", business="+14155550123")
    with pytest.raises(ValueError, match="E.164"):
        await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer="206-555-0142",
                                    text="hi", business=SECOND_NUMBER)
    assert len(await rig.sent()) == 1


async def test_the_same_agent_writing_again_joins_the_active_interaction(rig, recs):
    inter = await rig.customer(recs["inbound_sms"].body)
    assert inter.state is S.OFFERED
    started = await rig.rt.open_conversation(agent=inter.agent, plugin="sms", account="acme", customer=CUSTOMER,
                                             text="Following up on your order.", business=BUSINESS)
    assert started.outcome == "reused" and started.interaction.id == inter.id
    assert started.interaction.state is S.WORK_IN_PROGRESS  # the offer to that agent is accepted
    [form] = await rig.sent()
    assert form["Body"] == ["Following up on your order."] and form["From"] == [BUSINESS]
    # from the other number it is another conversation
    other = await rig.rt.open_conversation(agent=inter.agent, plugin="sms", account="acme", customer=CUSTOMER,
                                           text="hello", business=SECOND_NUMBER)
    assert other.outcome == "created" and other.interaction.id != inter.id


async def test_another_agents_conversation_is_refused_naming_the_holder(rig, recs):
    inter = await rig.customer(recs["inbound_sms"].body)
    other = "alice" if inter.agent == "bob" else "bob"
    with pytest.raises(InteractionHeldError) as refused:
        await rig.rt.start_outbound(agent=other, plugin="sms", account="acme", customer=CUSTOMER, text="hi",
                                    business=BUSINESS)
    assert (refused.value.holder, refused.value.interaction_id) == (inter.agent, inter.id)
    assert str(refused.value).count(inter.agent) == 1 and await rig.sent() == []
    assert (await rig.rt.interaction(inter.id))[0].agent == inter.agent


async def test_a_virtual_agents_conversation_is_closed_and_a_new_one_goes_to_the_agent(tmp_path, recs):
    async with ProfileRig(tmp_path, {"name": "support", "virtual_agent": "helper"}) as rig:
        bot = await rig.customer(recs["inbound_sms"].body)
        assert bot.virtual_agent == "helper" and bot.agent == "bot:helper"
        started = await rig.rt.open_conversation(agent="alice", plugin="sms", account="acme", customer=CUSTOMER,
                                                 text="Hi, a person here.", business=BUSINESS)
        assert started.outcome == "took_over_virtual_agent" and started.interaction.agent == "alice"
        closed, history, _ = await rig.rt.interaction(bot.id)
        assert closed.state is S.CLOSED and "taken over from virtual agent helper by alice" in history[-1]["note"]
        assert [f["Body"] for f in await rig.sent()] == [["Hi, a person here."]]


async def test_another_requester_on_the_number_retires_the_old_profile(rig, recs):
    await rig.directory(ANN, BOB)
    inter = await rig.customer(recs["inbound_sms"].body)
    old = await rig.profile()
    assert inter.requester == "u-ann"
    started = await rig.rt.open_conversation(agent="alice", plugin="sms", account="acme", customer=CUSTOMER,
                                             text="Hello Bob", business=BUSINESS, requester="u-bob")
    assert started.outcome == "replaced_requester"
    new = await rig.profile()
    assert new.id != old.id and (new.user_id, new.verified_by) == ("u-bob", None)
    assert (started.interaction.requester, started.interaction.messaging_profile) == ("u-bob", new.id)
    retired = await rig.rt.store.transact(lambda tx: tx.get_profile(old.id))
    assert not retired.active and retired.deactivated_at and retired.user_id == "u-ann"
    assert (await rig.rt.interaction(inter.id))[0].state is S.CLOSED
    with pytest.raises(NotFoundError, match="no directory user"):
        await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer=CUSTOMER, text="x",
                                    business=SECOND_NUMBER, requester="u-nobody")


async def test_an_opted_out_customer_is_refused_before_anything_changes(rig, recs):
    await rig.directory(ANN, BOB)
    inter = await rig.customer(recs["inbound_sms"].body)
    await rig.post(recs["inbound_opt_out_stop"].body)
    before = await rig.profile()
    with pytest.raises(OptedOutError):
        await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer=CUSTOMER, text="hi",
                                    business=BUSINESS, requester="u-bob")
    assert await rig.profile() == before and (await rig.rt.interaction(inter.id))[0].state is not S.CLOSED
    assert await rig.sent() == []


# --- system messages and long-running conversations -------------------------------------------

async def test_the_requester_sees_the_case_number_but_not_the_acknowledgement(rig, recs):
    rig.rt.processor.acknowledgement = "We got your message."
    inter = await rig.customer(recs["inbound_sms"].body)
    assert await rig.sent() == []  # the acknowledgement stays internal on sms
    await rig.rt.accept(inter.id)
    case = await rig.rt.create_case(inter.id, "Order #4711 late")
    [form] = await rig.sent()
    assert case.number in form["Body"][0]
    stats = await rig.rt.stats()
    assert stats["outbound.suppressed.system_message"] == 1


async def test_a_parked_sms_conversation_stays_on_the_agents_list_for_weeks(rig, recs):
    from omnisdk.store.queries import InteractionQuery

    inter = await rig.customer(recs["inbound_sms"].body)
    await rig.rt.accept(inter.id)
    await rig.rt.hold(inter.id)
    await rig.tick(20 * 86400)  # three weeks without a word: still the agent's
    page = await rig.rt.page_interactions(InteractionQuery(active=True, agent=inter.agent), limit=10)
    assert [(i.id, i.state) for i in page.items] == [(inter.id, S.ON_HOLD)]
    back = await rig.customer(next_sms(recs, 9))
    assert (back.id, back.state, back.agent) == (inter.id, S.WORK_IN_PROGRESS, inter.agent)



async def test_a_queued_conversation_is_refused_and_a_crm_requester_is_accepted(rig, recs):
    from omnisdk.errors import StateError

    for agent in ("alice", "bob"):
        await rig.rt.set_presence(agent, "away")
    queued = await rig.customer(recs["inbound_sms"].body)
    assert queued.state is S.QUEUED
    with pytest.raises(StateError, match="waiting in queue support"):
        await rig.rt.start_outbound(agent="alice", plugin="sms", account="acme", customer=CUSTOMER, text="hi",
                                    business=BUSINESS)
    # a requester only the CRM knows (not imported) is accepted for a number the CRM answers for
    rig.rt.host.register(Crm({"+13125550167": [BOB]}), "crm")
    started = await rig.rt.open_conversation(agent="alice", plugin="sms", account="acme",
                                             customer="+13125550167", text="Hello Bob", business=BUSINESS,
                                             requester="u-bob", by="key:k-alice")
    assert started.outcome == "created" and started.interaction.requester == "u-bob"
    assert (await rig.profile("+13125550167")).verified_by is None  # the directory's answer: nothing to verify
