"""The case lifecycle (new → in_progress → solution_proposed → resolved → closed, with a
history), email to case on designated addresses, and accept or reject by mail, which counts only
from the case's contact and never when the trusted MTA says dmarc=fail."""

from __future__ import annotations

from pathlib import Path

import api_access
import httpx
import orjson
import pytest
from documents import kept
from pydantic import SecretStr
from sample_wire import ingest, make_settings, message_event

from omnisdk.errors import StateError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.gateway import create_app
from omnisdk.lifecycle.case_mail import verdict
from omnisdk.model import Interaction
from omnisdk.model.subjects import case_token
from omnisdk.runtime import Runtime

SOURCE = "/sample/acme"


def mail(mid, *, sender="ann@example.test", to="support@acme.test", subject="Printer X2 jams", text="It jams.",
         in_reply_to=(), dmarc=None):
    return Event(
        id=mid, source=SOURCE, type=TYPE_MESSAGE_RECEIVED, time="2026-01-01T00:00:00Z",
        partitionkey=f"sample/acme:email:{to}:{sender}",
        data={"message_id": mid, "channel": "email", "customer": sender, "business": to, "kind": "text",
              "text": text, "email": {"message_id": mid, "subject": subject, "in_reply_to": list(in_reply_to),
                                      "authentication": {"dmarc": dmarc} if dmarc else {}}},
    )


@pytest.fixture
async def rt(tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"lifecycle": make_settings(tmp_path).lifecycle.model_copy(
        update={"case_addresses": ["cases@acme.test"], "case_products": ["Printer X2", "Scanner"]})})
    runtime = Runtime(settings)
    await runtime.start()
    yield runtime
    await runtime.stop()


async def _outbox(rt):
    """Every row queued, whatever the worker did with it since."""
    import orjson

    rows = await rt.store.transact(lambda tx: tx.c.execute("SELECT idempotency_key, payload FROM outbox").fetchall())
    return {key: orjson.loads(p) for key, p in rows}


async def test_a_case_moves_through_its_lifecycle_with_a_history_and_the_customer_is_told(rt):
    await ingest(rt, message_event(1))
    (inter,) = await rt.interactions()
    case = await rt.create_case(inter.id, "Broken screen")
    assert (case.state, case.state_history) == ("new", [])
    for state in ("in_progress", "solution_proposed"):
        case = await rt.move_case(case.number, state, agent="alice", note="Replace the screen.")
    assert case.state == "solution_proposed"
    assert [(h.from_state, h.to_state, h.by) for h in case.state_history] == [
        ("new", "in_progress", "alice"), ("in_progress", "solution_proposed", "alice")]
    told = [p["text"] for k, p in (await _outbox(rt)).items() if k.startswith(f"case:{case.id}:")]
    assert told == [f"Case {case.number} is now in progress. Replace the screen.",
                    f"Case {case.number} is now solution proposed (reply ACCEPT or REJECT on the first line). "
                    "Replace the screen."]
    with pytest.raises(StateError, match="is solution_proposed: it cannot move to new"):
        await rt.move_case(case.id, "new")


async def test_the_api_moves_a_case_and_answers_409_and_404(rt):
    await ingest(rt, message_event(1))
    (inter,) = await rt.interactions()
    case = await rt.create_case(inter.id)
    async with api_access.client(create_app(rt), await api_access.api_key(rt)) as client:
        ok = await client.post(f"/v1/cases/{case.number}/state", json={"state": "in_progress", "agent": "alice"})
        assert ok.status_code == 200 and ok.json()["state"] == "in_progress"
        assert ok.json()["state_history"][0]["by"] == "alice"
        again = await client.post(f"/v1/cases/{case.number}/state", json={"state": "new"})
        assert again.status_code == 409
        assert (await client.post("/v1/cases/CS9999999/state", json={"state": "closed"})).status_code == 404
        assert (await client.post(f"/v1/cases/{case.number}/state", json={"state": "done"})).status_code == 422


async def test_mail_to_a_case_address_opens_a_case_with_its_product_and_a_confirmation(rt):
    await ingest(rt, mail("q1@example.test", to="cases@acme.test", subject="Printer X2 jams on page 2"))
    (case,) = (await rt.page_cases()).items
    assert (case.subject, case.product, case.customer) == ("Printer X2 jams on page 2", "Printer X2",
                                                                    "ann@example.test")
    (inter,) = await rt.interactions()
    assert inter.case_id == case.id and inter.wrap_up_code == "Task created"
    states = [h["to_state"] for h in (await rt.interaction(inter.id))[1]]
    assert states == ["new", "closed"]  # a case, never offered to an agent
    queued = await _outbox(rt)
    assert list(queued) == [f"case:{case.id}"]  # the confirmation, and no acknowledgement
    assert case.number in queued[f"case:{case.id}"]["text"]
    await ingest(rt, mail("q2@example.test", to="support@acme.test", subject="Scanner question"))
    assert len((await rt.page_cases()).items) == 1  # the other addresses open interactions, not cases


async def _proposed(rt):
    await ingest(rt, mail("q1@example.test", to="cases@acme.test"))
    (case,) = (await rt.page_cases()).items
    await rt.move_case(case.id, "in_progress", agent="alice")
    return await rt.move_case(case.id, "solution_proposed", agent="alice", note="Clean the roller.")


async def test_accept_on_the_first_line_from_the_contact_resolves_the_case(rt):
    case = await _proposed(rt)
    await ingest(rt, mail("r1@example.test", subject=f"Re: Printer X2 jams {case_token(case.number)}",
                          text="ACCEPT\n\nThanks, it works again."))
    (case,) = (await rt.page_cases()).items
    assert case.state == "resolved" and case.state_history[-1].by == "customer"
    assert case.updates[-1].model_dump(mode="json") == {
        "at": case.updates[-1].model_dump(mode="json")["at"], "message_id": "r1@example.test",
        "from": "ann@example.test", "counted": True, "reason": None}


async def test_reject_reopens_and_a_spoofed_or_dmarc_failing_accept_acts_on_nothing(rt):
    case = await _proposed(rt)
    token = case_token(case.number)
    await ingest(rt, mail("m1@example.test", sender="mallory@example.test", subject=f"Re: {token}", text="accept"),
                 mail("r2@example.test", subject=f"Re: {token}", text="Accept.", dmarc="fail"))
    (case,) = (await rt.page_cases()).items
    assert case.state == "solution_proposed"
    assert [(u.sender, u.counted) for u in case.updates] == [("ann@example.test", False)]
    assert "dmarc=fail" in case.updates[0].reason
    await ingest(rt, mail("r3@example.test", subject=f"Re: {token}", text="reject\nstill jams"))
    (case,) = (await rt.page_cases()).items
    assert case.state == "in_progress" and case.state_history[-1].note == "the customer replied REJECT by mail"


@pytest.mark.parametrize("text, word", [("ACCEPT", "accept"), ("  Reject!\nno", "reject"), ("\n\naccept.", "accept"),
                                        ("I accept", None), ("accepted", None), ("", None)])
def test_the_verdict_is_the_first_lines_one_word(text, word):
    assert verdict(text) == word


# --- signed links: accept, reject, survey ------------------------------------------------------

SECRET = "case-links-secret-for-tests-0001"


@pytest.fixture
async def linked(tmp_path):
    base = make_settings(tmp_path)
    settings = base.model_copy(update={
        "lifecycle": base.lifecycle.model_copy(update={"case_links_secret": SecretStr(SECRET)}),
        "gateway": base.gateway.model_copy(update={"public_url": "https://cx.example.test"})})
    runtime = Runtime(settings)
    await runtime.start()
    yield runtime
    await runtime.stop()


def _links(text):
    import re

    return re.findall(r"https://cx\.example\.test/links/cases/\S+", text)


async def _client(rt):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="https://cx.example.test")


async def test_accept_by_link_shows_a_page_on_get_and_acts_only_on_post(linked):
    await ingest(linked, message_event(1))
    (inter,) = await linked.interactions()
    case = await linked.create_case(inter.id)
    await linked.move_case(case.id, "in_progress", agent="alice")
    await linked.move_case(case.id, "solution_proposed", agent="alice", note="Restart the router.")
    text = [p["text"] for k, p in (await _outbox(linked)).items() if k == f"case:{case.id}:2"][0]
    accept, reject = _links(text)
    async with await _client(linked) as client:
        page = await client.get(accept)
        assert page.status_code == 200 and "<form method=\"post\">" in page.text
        assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        assert (await linked.page_cases()).items[0].state == "solution_proposed"  # a GET changes nothing
        done = await client.post(accept)
        assert done.status_code == 200 and "is now resolved" in done.text
        assert (await client.post(reject)).status_code == 409  # nothing proposed any more
        forged = accept[:-3] + ("AAA" if not accept.endswith("AAA") else "BBB")
        assert (await client.get(forged)).status_code == 400
        assert (await client.post(forged)).status_code == 400
    (case,) = (await linked.page_cases()).items
    assert case.state == "resolved" and case.state_history[-1].by == "customer"


async def test_an_expired_link_is_410(linked):
    await ingest(linked, message_event(1))
    (inter,) = await linked.interactions()
    case = await linked.create_case(inter.id)
    old = linked.case_links().url(case.id, "accept", now=1_000_000.0)  # expired in 1970
    async with await _client(linked) as client:
        assert (await client.get(old)).status_code == 410
        assert (await client.post(old)).status_code == 410


async def test_closing_sends_the_notice_then_the_survey_whose_answer_is_kept_once(linked):
    await ingest(linked, message_event(1))
    (inter,) = await linked.interactions()
    case = await linked.create_case(inter.id)
    await linked.move_case(case.id, "closed", agent="alice")
    queued = await _outbox(linked)
    assert queued[f"case:{case.id}:1"]["text"] == f"Case {case.number} is closed."
    (survey,) = _links(queued[f"case:{case.id}:1:survey"]["text"])
    async with await _client(linked) as client:
        assert "1 is poor, 5 is excellent" in (await client.get(survey)).text
        assert (await client.post(survey, data={"score": "9"})).status_code == 400
        assert (await client.post(survey, data={"score": "4"})).status_code == 200
        assert (await client.post(survey, data={"score": "5"})).status_code == 409
    (case,) = (await linked.page_cases()).items
    assert case.survey.score == 4


def test_a_short_link_secret_is_refused_without_echoing_it():
    from pydantic import ValidationError

    from omnisdk.lifecycle.settings import LifecycleSettings

    with pytest.raises(ValidationError) as info:
        LifecycleSettings(case_links_secret="short-secret")
    assert "at least 16 characters" in str(info.value) and "short-secret" not in str(info.value)


async def test_the_case_confirmation_links_to_the_cases_status_page(linked):
    await ingest(linked, message_event(1))
    (inter,) = await linked.interactions()
    case = await linked.create_case(inter.id, "Broken screen")
    text = (await _outbox(linked))[f"case:{case.id}"]["text"]
    assert text.startswith(f"We opened case {case.number} for your request")
    (view,) = _links(text)
    await linked.move_case(case.id, "in_progress", agent="alice")
    async with await _client(linked) as client:
        page = await client.get(view)
        assert page.status_code == 200 and "Status: <strong>in progress</strong>" in page.text
        assert "<form" not in page.text and "Broken screen" in page.text
        assert (await client.post(view)).status_code == 409  # a view link changes nothing


async def test_without_links_the_confirmation_has_none(rt):
    await ingest(rt, message_event(1))
    (inter,) = await rt.interactions()
    case = await rt.create_case(inter.id)
    text = (await _outbox(rt))[f"case:{case.id}"]["text"]
    assert text == f"We opened case {case.number} for your request; we will keep you posted."


# --- the API's JSON of a stored case ------------------------------------------------------------

DATA = Path(__file__).parent / "store" / "data"


async def test_the_api_answers_for_a_case_stored_by_the_release_before_as_that_release_did(rt):
    """``case_doc_v12.json`` and ``case_api_v12.json`` were made together by the release before
    typed case rows (``store/data/make_case_doc.py``): today's answers are its, key for key
    and value for value; only fields added since appear (at their defaults: the interaction's
    messaging-profile fields)."""
    raw_doc = (DATA / "case_doc_v12.json").read_text().strip()
    then = orjson.loads((DATA / "case_api_v12.json").read_bytes())
    doc = orjson.loads(raw_doc)
    first = Interaction.model_validate(doc["context"]).model_copy(update={"case_id": doc["id"]})

    def put(tx):  # the rows as that release left them
        tx.c.execute("INSERT INTO cases (id, number, created_at, doc) VALUES (?, ?, ?, ?)",
                     (doc["id"], doc["number"], doc["created_at"], raw_doc))
        tx.save_interaction(first)

    await rt.store.transact(put)
    async with api_access.client(create_app(rt), await api_access.api_key(rt)) as client:
        listed = await client.get("/v1/cases")
        linked = await client.post(f"/v1/interactions/{first.id}/case-link", json={"case": doc["number"]})
    assert listed.status_code == 200 and kept(then["list"], listed.json())
    assert linked.status_code == 200 and kept(then["link"], linked.json())
    assert "survey" not in linked.json() and linked.json()["updates"][0]["from"] == "ann@example.test"
