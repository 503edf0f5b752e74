"""The case lifecycle: moves between :class:`~omnisdk.model.CaseState` states, with a history.

``new → in_progress → solution_proposed → resolved → closed`` (the legal moves are
:data:`omnisdk.model.CASE_TRANSITIONS`).  Every move is kept in the case's ``state_history``
(``at``, ``from_state``, ``to_state``, ``by``, ``note``), emitted as ``io.omnisdk.case.updated``,
and told to the customer through the case's latest interaction (:class:`CaseTexts`, automatic
messages: on email they thread with the case token), with signed accept/reject links after a
proposed solution and, on closing, a closed notice then a survey link
(:mod:`omnisdk.lifecycle.case_links`).  A move by the customer (accept
or reject of a proposed solution, :mod:`omnisdk.lifecycle.case_mail`) is not told back.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, StateError
from omnisdk.lifecycle.case_links import CaseLinks
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.model import CASE_TRANSITIONS, Case, CaseState, CaseSurvey, CaseTransition
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.outbound.notices import Notice

CUSTOMER = "customer"
"""``by`` of a move the customer made."""

STATE_WORDS = {
    CaseState.NEW: "new",
    CaseState.IN_PROGRESS: "in progress",
    CaseState.SOLUTION_PROPOSED: "solution proposed (reply ACCEPT or REJECT on the first line)",
    CaseState.RESOLVED: "resolved",
    CaseState.CLOSED: "closed",
}
"""How a state is named to the customer."""


@dataclass(frozen=True, slots=True)
class CaseTexts:
    """What the customer is told on a move (``[lifecycle]`` settings; format fields
    ``{number}``, ``{state}``, ``{note}``, and the links ``{accept}``, ``{reject}``,
    ``{survey}``): ``update`` on every move by an agent; with ``links``, ``links_text`` after a
    proposed solution, and on closing ``closed`` then ``survey`` as two messages."""

    update: str
    links: CaseLinks | None = None
    links_text: str = ""
    closed: str = ""
    survey: str = ""


def texts_of(settings: LifecycleSettings, links: CaseLinks | None) -> CaseTexts:
    """The :class:`CaseTexts` of ``[lifecycle]`` (``case_update_text``, ``case_links_text``,
    ``case_closed_text``, ``case_survey_text``) with the signer ``links`` (None: no links)."""
    return CaseTexts(settings.case_update_text, links, settings.case_links_text, settings.case_closed_text,
                     settings.case_survey_text)


def customer_verdict(ctx: Ctx, case: Case, word: str, *, note: str, texts: CaseTexts | None = None,
                     closes: bool = False) -> Case:
    """The customer accepted (``word`` ``"accept"``) or rejected (``"reject"``) the proposed
    solution of ``case`` (``note``: how, kept in the history): ``resolved`` or back
    to ``in_progress``, ``by = "customer"``, nothing told back.  With ``closes``
    (``[lifecycle] case_accept_closes``) an accept then closes the case (``by = "core"``): the
    customer gets the closed notice and the survey (``texts``).  Returns the case after it.

    Raises:
        StateError: no solution is proposed.
    """
    if case.state is not CaseState.SOLUTION_PROPOSED:
        raise StateError(f"case {case.number} has no proposed solution to {word} (it is {case.state.value})")
    to = CaseState.RESOLVED if word == "accept" else CaseState.IN_PROGRESS
    case = move_case(ctx, case.id, to, by=CUSTOMER, note=note)
    if word == "accept" and closes:
        case = move_case(ctx, case.id, CaseState.CLOSED, by="core", note="the customer accepted the solution",
                         texts=texts)
    return case


def move_case(ctx: Ctx, case_id: str, to: CaseState | str, *, by: str, note: str | None = None,
              texts: CaseTexts | None = None, subject: str | None = None) -> Case:
    """Move a case (by id or number) to ``to``; returns the case after it.

    ``texts`` say what the customer is told (:class:`CaseTexts`); nothing is told when ``by``
    is :data:`CUSTOMER` (they made the move).  ``subject``: the mail's subject when the message
    is the first of an email thread (else the thread's first subject applies).

    Raises:
        NotFoundError: unknown case.  StateError: ``to`` is not a state, or not a legal move
            from the case's state (the message names both).
    """
    case = ctx.tx.get_case(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    try:
        target = CaseState(to)
    except ValueError:
        raise StateError(f"{to!r} is not a case state ({', '.join(s.value for s in CaseState)})") from None
    current = case.state
    if target not in CASE_TRANSITIONS[current]:
        raise StateError(f"case {case.number} is {current.value}: it cannot move to {target.value}")
    step = CaseTransition(at=ctx.now, from_state=current, to_state=target, by=by, note=note)
    case = case.model_copy(update={"state": target, "state_history": [*case.state_history, step]})
    ctx.tx.save_case(case)
    ctx.emitted.append(ev.Event(
        id=f"{case.id}:{len(case.state_history)}", source="/omnisdk/core", type=ev.TYPE_CASE_UPDATED,
        data={"id": case.id, "number": case.number, "from_state": current.value, "to_state": target.value,
              "by": by, "note": note}, time=ctx.iso, subject=case.number))
    if texts is not None and by != CUSTOMER:
        _tell(ctx, case, target, note, texts, subject)
    return case


def _tell(ctx: Ctx, case: Case, target: CaseState, note: str | None, texts: CaseTexts,
          subject: str | None = None) -> None:
    inter = ctx.get(case.interaction_ids[-1]) if case.interaction_ids else None
    if inter is None:
        return
    step = len(case.state_history)
    fields: dict[str, str] = {"number": case.number, "state": STATE_WORDS[target], "note": note or ""}
    links = texts.links
    if links is not None:
        fields |= {action: links.url(case.id, action, ctx.ts) for action in ("accept", "reject", "survey")}
    if target is CaseState.CLOSED and links is not None:  # two mails: the closed notice, then the survey
        enqueue_text(ctx, inter, texts.closed.format(**fields).strip(), f"case:{case.id}:{step}", automatic=True,
                     notice=Notice.CASE_CLOSED)
        enqueue_text(ctx, inter, texts.survey.format(**fields).strip(), f"case:{case.id}:{step}:survey",
                     automatic=True, notice=Notice.CASE_SURVEY)
        return
    text = texts.update.format(**fields).strip()
    if target is CaseState.SOLUTION_PROPOSED and links is not None:
        text += "\n\n" + texts.links_text.format(**fields)
    notice = {CaseState.SOLUTION_PROPOSED: Notice.CASE_SOLUTION, CaseState.CLOSED: Notice.CASE_CLOSED}.get(
        target, Notice.CASE_UPDATE)
    enqueue_text(ctx, inter, text, f"case:{case.id}:{step}", automatic=True, notice=notice, subject=subject)


def answer_link(ctx: Ctx, case_id: str, action: str, score: int | None = None, *,
                texts: CaseTexts | None = None, closes: bool = False) -> Case:
    """The customer used a case link: ``accept`` or ``reject`` a proposed solution
    (:func:`customer_verdict`, with ``texts`` and ``closes``), or answer the ``survey`` with
    ``score`` 1–5 (kept once, in :attr:`Case.survey`).  Returns the case after it.

    Raises:
        NotFoundError: unknown case.  StateError: no solution is proposed (accept, reject), the
            survey was answered already or the case is not closed.  ValueError: a score
            outside 1–5.
    """
    case = ctx.tx.get_case(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    if action == "view":
        raise StateError("this link shows the case; it changes nothing")
    if action == "survey":
        if score is None or not 1 <= score <= 5:
            raise ValueError("the survey's answer is a score from 1 to 5")
        if case.state is not CaseState.CLOSED:
            raise StateError(f"case {case.number} is not closed yet")
        if case.survey is not None:
            raise StateError(f"the survey of case {case.number} was answered already")
        case = case.model_copy(update={"survey": CaseSurvey(score=score, at=ctx.now)})
        ctx.tx.save_case(case)
        return case
    return customer_verdict(ctx, case, action, note=f"the customer chose {action.upper()} by link", texts=texts, closes=closes)
