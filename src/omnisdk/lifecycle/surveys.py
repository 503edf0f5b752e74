"""Survey answers: kept once on the interaction they are about (``context["survey"]``), the way
a case keeps its survey (``case.survey``, :mod:`omnisdk.lifecycle.case_states`)."""

from __future__ import annotations

from omnisdk.events import Event
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction
from omnisdk.model.surveys import SurveyAnswer


def _target(ctx: Ctx, source: str, answer: SurveyAnswer) -> Interaction | None:
    if answer.interaction_id is not None:
        inter = ctx.get(answer.interaction_id)
        # only the customer's own interaction on the account that received the answer
        if inter is not None and inter.source == source and inter.customer == answer.customer:
            return inter
        return None
    mine = [i for i in ctx.tx.interactions_of_addresses([(answer.channel, answer.customer)], 20) if i.source == source]
    return max(mine, key=lambda i: i.created_at, default=None)


def record_survey(ctx: Ctx, event: Event) -> Interaction | None:
    """Keep ``event``'s answer (:class:`SurveyAnswer`) in its interaction's ``context["survey"]``
    as ``{"score", "comment", "at", "event_id"}``; returns the interaction, or None when there is
    none of this customer on this account (counted ``survey.unmatched``) or it was answered
    already (the first answer stays; counted ``survey.repeated``).

    Raises:
        pydantic.ValidationError: the data is no SurveyAnswer.
    """
    answer = SurveyAnswer.model_validate(event.data)
    inter = _target(ctx, event.source, answer)
    if inter is None:
        ctx.tx.count("survey.unmatched")
        return None
    if "survey" in inter.context:
        ctx.tx.count("survey.repeated")
        return None
    survey = {"score": answer.score, "comment": answer.comment, "at": event.time or ctx.iso, "event_id": event.id}
    inter = inter.model_copy(update={"context": {**inter.context, "survey": survey}})
    ctx.put(inter)
    ctx.tx.count("survey.answered")
    return inter
