"""Email threading in the core (omnisdk.threading.email): the rule and score of every
decision, on mail events shaped as the email plugin emits them (``data.email``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sample_wire import ingest

from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.model import Interaction
from omnisdk.model.subjects import case_token, interaction_token, normalized, tokens
from omnisdk.threading.email import MATCH_THRESHOLD, score

SOURCE = "/sample/acme"
SUPPORT = "support@acme.test"


def mail(mid, *, sender="ann@example.test", subject="Order 42 arrived broken", text="The box was crushed.",
         in_reply_to=(), references=(), auto=None, source=SOURCE, at="2026-01-01T00:00:00Z"):
    return Event(
        id=mid, source=source, type=TYPE_MESSAGE_RECEIVED, time=at,
        partitionkey=f"{source.lstrip('/')}:email:{SUPPORT}:{sender}",
        data={"message_id": mid, "channel": "email", "customer": sender, "business": SUPPORT,
              "kind": "text", "text": text,
              "email": {"message_id": mid, "subject": subject, "in_reply_to": list(in_reply_to),
                        "references": list(references), "auto": auto,
                        "auto_header": "Auto-Submitted: auto-replied" if auto else None}},
    )


async def decisions(rt):
    out = {}
    for inter in await rt.interactions():
        _, _, messages = await rt.interaction(inter.id)
        for m in messages:
            out[m["message_id"]] = (inter.id, m["body"]["threading"])
    return out


async def test_a_reply_by_in_reply_to_joins_its_thread_and_says_so(runtime):
    await ingest(runtime, mail("q1@example.test"), mail("r1@example.test", subject="Re: Order 42 arrived broken",
                                                        in_reply_to=["q1@example.test"]))
    (inter,) = await runtime.interactions()
    assert inter.message_count == 2 and inter.conversation_key.endswith(f"{SUPPORT}:ann@example.test#q1@example.test")
    got = await decisions(runtime)
    assert got["q1@example.test"][1]["rule"] == "new"
    assert got["r1@example.test"][1] == {"rule": "in_reply_to", "score": 1.0, "interaction_id": inter.id,
                                         "case_id": None, "detail": f"In-Reply-To <q1@example.test> → {inter.id}"}
    stats = await runtime.stats()
    assert stats["email.threaded.new"] == 1 and stats["email.threaded.in_reply_to"] == 1


async def test_a_client_that_keeps_only_references_still_threads(runtime):
    await ingest(runtime, mail("q1@example.test"),
                 mail("r2@example.test", subject="AW: something else", references=["x@nowhere", "q1@example.test"]))
    assert len(await runtime.interactions()) == 1
    assert (await decisions(runtime))["r2@example.test"][1]["rule"] == "references"


async def test_unrelated_mail_from_the_same_contact_opens_a_second_interaction(runtime):
    await ingest(runtime, mail("q1@example.test"),
                 mail("q2@example.test", subject="Invoice address change", text="Please bill our new office."))
    assert len(await runtime.interactions()) == 2
    decision = (await decisions(runtime))["q2@example.test"][1]
    assert decision["rule"] == "new" and 0 < decision["score"] < MATCH_THRESHOLD
    assert "best" in decision["detail"]


async def test_the_same_subject_without_headers_is_a_scored_match(runtime):
    await ingest(runtime, mail("q1@example.test"),
                 mail("q3@example.test", subject="RE: Order 42 arrived broken", text="Any news on the crushed box?"))
    assert len(await runtime.interactions()) == 1
    decision = (await decisions(runtime))["q3@example.test"][1]
    assert decision["rule"] == "scored" and decision["score"] >= MATCH_THRESHOLD


async def test_another_contact_on_the_same_subject_is_never_merged(runtime):
    await ingest(runtime, mail("q1@example.test"), mail("b1@example.test", sender="bob@example.test"))
    assert len(await runtime.interactions()) == 2
    assert (await decisions(runtime))["b1@example.test"][1]["detail"].endswith("no open interaction of the contact")


async def test_an_interaction_token_threads_only_its_own_contacts_mail(runtime):
    await ingest(runtime, mail("q1@example.test"))
    (inter,) = await runtime.interactions()
    token = interaction_token(inter.id)
    await ingest(runtime, mail("q4@example.test", subject=f"Photos {token}", text="attached"),
                 mail("m1@example.test", sender="mallory@example.test", subject=f"Photos {token}"))
    got = await decisions(runtime)
    assert got["q4@example.test"] == (inter.id, {"rule": "subject_token", "score": 0.9, "interaction_id": inter.id,
                                                 "case_id": None,
                                                 "detail": f"subject token {token} → {inter.id}"})
    mallory = got["m1@example.test"]
    assert mallory[0] != inter.id and mallory[1]["rule"] == "new"
    assert mallory[1]["detail"].startswith(f"{token} names no interaction of mallory@example.test")


async def test_a_case_token_opens_an_interaction_linked_to_the_case(runtime):
    await ingest(runtime, mail("q1@example.test"))
    (inter,) = await runtime.interactions()
    case = await runtime.create_case(inter.id, "Broken box")
    await ingest(runtime, mail("q5@example.test", subject=f"Re: Broken box {case_token(case.number)}",
                               text="Here is the courier's reference."))
    new = [i for i in await runtime.interactions() if i.id != inter.id]
    assert len(new) == 1 and new[0].case_id == case.id
    decision = (await decisions(runtime))["q5@example.test"][1]
    assert decision["rule"] == "subject_token" and decision["case_id"] == case.id
    assert new[0].id in (await runtime.store.transact(lambda tx: tx.get_case(case.id))).interaction_ids


async def test_a_reply_to_a_closed_interaction_joins_the_contacts_open_one(runtime):
    await ingest(runtime, mail("q1@example.test"))
    (first,) = await runtime.interactions()
    await runtime.close_interaction(first.id)
    await ingest(runtime, mail("q6@example.test", subject="New question", text="Do you ship abroad?"),
                 mail("r3@example.test", subject="Re: Order 42 arrived broken", in_reply_to=["q1@example.test"]))
    open_ = [i for i in await runtime.interactions() if i.state.active]
    assert len(open_) == 1 and open_[0].message_count == 2
    decision = (await decisions(runtime))["r3@example.test"][1]
    assert decision["rule"] == "in_reply_to" and decision["interaction_id"] == open_[0].id
    assert "closed: joined the contact's open" in decision["detail"]


async def test_automatic_mail_never_opens_an_interaction(runtime):
    await ingest(runtime, mail("auto1@example.test", subject="Out of office", auto="auto-replied"))
    assert await runtime.interactions() == []
    assert (await runtime.stats())["email.threaded.automatic_ignored"] == 1
    await ingest(runtime, mail("q1@example.test"),
                 mail("auto2@example.test", subject="Automatic reply: Order 42", auto="auto-replied",
                      in_reply_to=["q1@example.test"]))
    (inter,) = await runtime.interactions()
    assert inter.message_count == 1  # kept on the thread, not counted as a customer message
    assert (await decisions(runtime))["auto2@example.test"][1]["rule"] == "in_reply_to"


async def test_message_ids_of_one_account_never_thread_anothers_mail(runtime):
    await ingest(runtime, mail("q1@example.test"),
                 mail("r9@example.test", source="/sample/other", in_reply_to=["q1@example.test"]))
    items = await runtime.interactions()
    assert len(items) == 2 and {i.source for i in items} == {"/sample/acme", "/sample/other"}


@pytest.mark.parametrize("subject, expected", [
    ("Re: AW: [acme] Order 42 [Case:CS0000011]", "order 42"),
    ("Fwd: RE[2]:  Order   42", "order 42"),
    ("SV: Vs: Order 42", "order 42"),
    ("Order 42", "order 42"),
    ("Re:", ""),
])
def test_subjects_are_normalized_without_prefixes_tags_and_tokens(subject, expected):
    assert normalized(subject) == expected


def test_tokens_are_found_in_any_case_and_spacing():
    found = tokens("re: help [ case : cs0000011 ] and [Ref:IN0123456789]")
    assert (found.case_number, found.interaction_suffix) == ("CS0000011", "0123456789")
    assert tokens("nothing here") == tokens("")


def test_the_score_weighs_subject_content_and_recency():
    now = datetime(2026, 1, 8, tzinfo=UTC)
    inter = Interaction(id="0" * 32, channel="email", direction="inbound", state="queued", conversation_key="k",
                        source=SOURCE, customer="ann@example.test", business=SUPPORT,
                        created_at=now - timedelta(days=7), updated_at=now - timedelta(days=7))
    same = score("Re: Order 42", "box crushed", "Order 42", ["box crushed"], inter, now)
    assert same == pytest.approx(0.45 + 0.35 + 0.10)  # recency halves after a week
    assert score("Invoice", "new office", "Order 42", ["box crushed"], inter, now) == pytest.approx(0.10)


# --- our replies: the headers the core fixes, and replies to them ---------------------------

async def _accepted_mail(runtime):
    from omnisdk.routing.model import Agent

    await runtime.put_agent(Agent(id="erin", capacity={"email": 2}))
    await ingest(runtime, mail("q1@example.test", references=["root@example.test"]))
    (inter,) = await runtime.interactions()
    return await runtime.accept(inter.id, "erin")


async def _outbox(runtime):
    rows = await runtime.store.transact(lambda tx: tx.claim_outbox(1e12, 10))
    return {r.idempotency_key: r.payload for r in rows}


async def test_an_agent_reply_answers_the_customers_mail_with_fixed_headers(runtime):
    inter = await _accepted_mail(runtime)
    await runtime.reply(inter.id, "Sorry about the box, a new one is on its way.", agent="erin", idempotency_key="r-1")
    mail_ = (await _outbox(runtime))["r-1"]["email"]
    assert mail_["in_reply_to"] == "q1@example.test"
    assert mail_["references"] == ["root@example.test", "q1@example.test"]
    assert mail_["subject"] == f"Re: Order 42 arrived broken {interaction_token(inter.id)}"
    assert mail_["automatic"] is False
    assert mail_["message_id"].startswith("omnisdk.") and mail_["message_id"].endswith("@acme.test")
    # the same request again makes the same payload: nothing more is queued, no conflict
    await runtime.reply(inter.id, "Sorry about the box, a new one is on its way.", agent="erin", idempotency_key="r-1")


async def test_a_reply_to_our_mail_threads_by_its_message_id_before_the_send_is_confirmed(runtime):
    inter = await _accepted_mail(runtime)
    await runtime.reply(inter.id, "Could you send a photo?", agent="erin", idempotency_key="r-1")
    ours = (await _outbox(runtime))["r-1"]["email"]["message_id"]
    await ingest(runtime, mail("q2@example.test", subject="photo", text="here", in_reply_to=[ours]))
    assert len(await runtime.interactions()) == 1
    decision = (await decisions(runtime))["q2@example.test"][1]
    assert (decision["rule"], decision["detail"]) == ("in_reply_to", f"In-Reply-To <{ours}> → {inter.id}")


async def test_a_case_notification_is_automatic_and_carries_the_case_token(runtime):
    inter = await _accepted_mail(runtime)
    case = await runtime.create_case(inter.id, "Broken box")
    (payload,) = [p for k, p in (await _outbox(runtime)).items() if k.startswith("case:")]
    assert payload["email"]["automatic"] is True
    assert payload["email"]["subject"] == f"Re: Order 42 arrived broken {case_token(case.number)}"


async def test_other_channels_get_no_email_headers(runtime):
    from sample_wire import message_event

    await ingest(runtime, message_event(1))
    (inter,) = await runtime.interactions()
    await runtime.accept(inter.id, inter.agent)
    await runtime.reply(inter.id, "hello", idempotency_key="r-1")
    assert "email" not in (await _outbox(runtime))["r-1"]


def test_omnisdk_interaction_shows_each_mails_rule_and_score(tmp_path, monkeypatch):
    import asyncio
    import json

    from typer.testing import CliRunner

    from omnisdk import cli
    from omnisdk.cli import app
    from omnisdk.config import Settings
    from omnisdk.runtime import Runtime

    db = tmp_path / "omni.db"

    async def two_mails():
        rt = Runtime(Settings(store={"url": f"sqlite:///{db}"}, routing={"queues": [{"name": "support"}]}))
        await rt.start()
        try:
            await ingest(rt, mail("q1@example.test"),
                         mail("r1@example.test", subject="Re: Order 42 arrived broken", in_reply_to=["q1@example.test"]))
            (inter,) = await rt.interactions()
            return inter
        finally:
            await rt.stop()

    inter = asyncio.run(two_mails())
    config = tmp_path / "omnisdk.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    result = CliRunner().invoke(app, ["interaction", inter.id, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    shown = [m["body"]["threading"] for m in json.loads(result.stdout)["messages"]]
    assert [(d["rule"], d["score"]) for d in shown] == [("new", 0.0), ("in_reply_to", 1.0)]
    monkeypatch.setattr(cli.out, "_width", 250)
    result = CliRunner().invoke(app, ["interaction", inter.id, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "threading" in result.stdout and "new 0.0: no thread matched" in result.stdout
    assert f"in_reply_to 1.0: In-Reply-To <q1@example.test> → {inter.id}" in result.stdout


async def test_a_repeated_reply_after_the_thread_moved_on_is_still_the_same_request(runtime):
    from omnisdk.store import IdempotencyConflict

    inter = await _accepted_mail(runtime)
    await runtime.reply(inter.id, "On its way.", agent="erin", idempotency_key="r-1")
    first = (await _outbox(runtime))["r-1"]["email"]
    await ingest(runtime, mail("q2@example.test", subject="Re: Order 42 arrived broken", in_reply_to=["q1@example.test"]))
    await runtime.reply(inter.id, "On its way.", agent="erin", idempotency_key="r-1")  # the client retries
    rows = await runtime.store.transact(lambda tx: tx.c.execute("SELECT payload FROM outbox").fetchall())
    assert len(rows) == 1 and orjson.loads(rows[0][0])["email"] == first  # the first request's headers stay
    with pytest.raises(IdempotencyConflict):
        await runtime.reply(inter.id, "Something else.", agent="erin", idempotency_key="r-1")
