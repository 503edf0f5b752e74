"""Survey answers (io.omnisdk.survey.answered): kept once on the customer's own interaction."""

from __future__ import annotations

from sample_wire import ingest, message_event

from omnisdk.events import TYPE_SURVEY_ANSWERED, Event


def survey(i, score, customer="+15550100001", interaction_id=None, source="/sample/acme"):
    return Event(id=f"s-{i}", source=source, type=TYPE_SURVEY_ANSWERED, time="2026-01-01T00:05:00Z",
                 data={"channel": "chat", "customer": customer, "business": "biz", "score": score,
                       "interaction_id": interaction_id, "comment": None})


async def test_the_first_answer_is_kept_on_the_latest_interaction(runtime):
    await ingest(runtime, message_event(1))
    [inter] = await runtime.interactions()
    await ingest(runtime, survey(1, 5), survey(2, 1))
    found, _, messages = await runtime.interaction(inter.id)
    assert found.context["survey"] == {"score": 5, "comment": None, "at": "2026-01-01T00:05:00Z", "event_id": "s-1"}
    assert len(messages) == 1  # not in the transcript
    stats = await runtime.stats()
    assert stats["survey.answered"] == 1 and stats["survey.repeated"] == 1


async def test_an_answer_about_another_customers_interaction_or_none_is_not_kept(runtime):
    await ingest(runtime, message_event(1, customer="+15550100001"))
    [inter] = await runtime.interactions()
    await ingest(runtime, survey(1, 2, customer="+15550100999", interaction_id=inter.id),
                 survey(2, 2, customer="+15550100999"), survey(3, 2, interaction_id="no-such-interaction"))
    found, _, _ = await runtime.interaction(inter.id)
    assert "survey" not in found.context
    assert (await runtime.stats())["survey.unmatched"] == 3


async def test_a_malformed_answer_is_refused_without_a_crash(runtime):
    await ingest(runtime, message_event(1))
    bad = survey(1, 9)
    await ingest(runtime, bad, message_event(2, text="still processed"))
    [inter] = await runtime.interactions()
    _, _, messages = await runtime.interaction(inter.id)
    assert len(messages) == 2 and "survey" not in inter.context
