"""Cases: longer investigation records that interactions link to.

:meth:`Cases.create_case` opens one from an interaction (numbered ``CS0000001`` …, the
interaction's context, messages and transitions copied, the customer notified through the
channel, the interaction closed with "Task created"); :meth:`Cases.link_case` links an
interaction to an existing one.
"""

from __future__ import annotations

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.case_links import CaseLinks
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.lifecycle.transitions import get_interaction
from omnisdk.model import Case, CaseState, Interaction, MessageRecord, Transition, WrapUpCode
from omnisdk.model import InteractionState as S
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.outbound.notices import Notice

CASE_EVENT_FIELDS = ("id", "number", "subject", "customer", "interaction_ids", "created_at")
"""The case fields ``io.omnisdk.case.created`` carries in ``data``."""


class Cases:
    """Case operations (see the module docstring)."""

    def __init__(self, settings: LifecycleSettings, actions: AgentActions, links: CaseLinks | None = None) -> None:
        self.settings = settings
        self.actions = actions
        self.links = links

    def create_case(self, ctx: Ctx, interaction_id: str, subject: str | None = None,
                    agent: str | None = None) -> Case:
        """Open a case from an interaction: context and history copied and linked, the customer
        notified through the channel (``case_created_text``, with ``{number}`` and ``{link}``: a
        signed link to the case's status when links are configured; key ``case:<case id>``), the
        interaction closed with "Task created".  Returns the case.

        Raises:
            NotFoundError: unknown interaction.  StateError: it is closed, or, with ``agent``,
            held by someone else.
        """
        inter = get_interaction(ctx, interaction_id)
        if inter.state is S.CLOSED:
            raise StateError(f"interaction {inter.id} is closed")
        number = f"CS{ctx.tx.next_number('case'):07d}"
        case = Case(
            id=new_id(), number=number, subject=subject or f"{inter.channel} request from {inter.customer}",
            customer=inter.customer, interaction_ids=[inter.id], created_at=ctx.now, state=CaseState.NEW,
            context=inter,
            history=[MessageRecord.model_validate(m.to_dict()) for m in ctx.tx.messages_of(inter.id)],
            transitions=[Transition.model_validate(h.to_dict()) for h in ctx.tx.interaction_history(inter.id)],
        )
        ctx.tx.save_case(case)
        inter = inter.model_copy(update={"case_id": case.id})
        ctx.put(inter)
        ctx.emitted.append(ev.Event(id=case.id, source="/omnisdk/core", type=ev.TYPE_CASE_CREATED,
                                    data=case.model_dump(mode="json", include=set(CASE_EVENT_FIELDS)),
                                    time=ctx.iso, subject=number, correlationid=inter.id))
        link = self.links.url(case.id, "view", ctx.ts) if self.links is not None else ""
        text = self.settings.case_created_text.format(number=number, link=link).strip()
        enqueue_text(ctx, inter, text, f"case:{case.id}", automatic=True, notice=Notice.CASE_CREATED)
        self.actions.close(ctx, inter.id, WrapUpCode.TASK_CREATED.value, agent=agent, note=f"case {number}")
        return case

    def link_case(self, ctx: Ctx, interaction_id: str, case_id: str) -> Case:
        """Link an interaction to an existing case (by id or number); returns the case after it.

        Raises:
            NotFoundError: unknown interaction or case.
        """
        inter = get_interaction(ctx, interaction_id)
        case = ctx.tx.get_case(case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        _, case = attach_to_case(ctx, inter, case)
        return case


def attach_to_case(ctx: Ctx, inter: Interaction, case: Case) -> tuple[Interaction, Case]:
    """Link ``inter`` to ``case`` (both ways, saved); the interaction and the case after it."""
    if inter.id not in case.interaction_ids:
        case = case.model_copy(update={"interaction_ids": [*case.interaction_ids, inter.id]})
        ctx.tx.save_case(case)
    inter = inter.model_copy(update={"case_id": case.id})
    ctx.put(inter)
    return inter, case
