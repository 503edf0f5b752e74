"""Drafts: outbound interactions that agents write before anyone sends.

An agent starts writing to a contact (``save_draft``): the draft is kept on an **outbound
interaction in state** ``new`` (no capacity is held while nobody has sent). By default
(``[lifecycle] draft_consolidation = true``) the drafts of several agents to one customer on one
account share that interaction, and its owner (``agent``) is the agent who drafted last; with
``false`` each agent has their own. Sending a draft (``send_draft``) gives the interaction to
whoever sends: ``new → offered → work_in_progress`` with the sender's capacity, the draft's text
queued (key ``draft:<draft id>``, the draft's subject for the first mail), the reminders of
``[lifecycle] reminders`` armed, and the sent draft removed (the others stay, to be sent as
replies). The customer's replies thread into it like any other (on email: by the Message-ID the
core fixed), and the agent is notified (``io.omnisdk.interaction.message_added``).
"""

from __future__ import annotations

from typing import Any

from omnisdk.errors import StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.lifecycle.transitions import arm_timer, created, get_interaction, move
from omnisdk.model import Direction, Draft, Interaction
from omnisdk.model import InteractionState as S
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.routing.engine import RoutingEngine


class Drafts:
    """Draft operations (see the module docstring)."""

    def __init__(self, engine: RoutingEngine, settings: LifecycleSettings) -> None:
        self.engine = engine
        self.settings = settings

    def _drafting(self, ctx: Ctx, source: str, channel: str, customer: str, agent: str) -> Interaction | None:
        for inter in ctx.tx.active_interactions_of(source, channel, customer):
            if inter.direction is Direction.OUTBOUND and inter.state is S.NEW and inter.drafts:
                if self.settings.draft_consolidation or inter.drafts[-1].agent == agent:
                    return ctx.dirty.get(inter.id, inter)
        return None

    def save_draft(self, ctx: Ctx, *, agent: str, source: str, channel: Any, customer: str, business: str,
                   key: str, text: str, subject: str | None = None, draft_id: str | None = None) -> tuple[Interaction, str]:
        """Keep ``agent``'s draft to ``customer`` (a new one, or ``draft_id`` rewritten);
        returns the drafting interaction and the draft's id.

        Raises:
            StateError: ``draft_id`` names no draft of that interaction, or another agent's.
        """
        inter = self._drafting(ctx, source, channel, customer, agent)
        if inter is None:
            inter = Interaction(
                id=new_id(), channel=channel, direction=Direction.OUTBOUND, state=S.NEW,
                conversation_key=f"{key}#drafts:{new_id()}", source=source, customer=customer, business=business,
                agent=agent, created_at=ctx.now, updated_at=ctx.now,
            )
            created(ctx, inter, agent, "draft")
        drafts = list(inter.drafts)
        if draft_id is None:
            draft_id = new_id()
            drafts.append(Draft(id=draft_id, agent=agent, text=text, subject=subject, updated_at=ctx.now))
        else:
            found = [i for i, d in enumerate(drafts) if d.id == draft_id]
            if not found:
                raise StateError(f"interaction {inter.id} has no draft {draft_id}")
            if drafts[found[0]].agent != agent:
                raise StateError(f"draft {draft_id} is {drafts[found[0]].agent}'s")
            drafts[found[0]] = drafts[found[0]].model_copy(update={"text": text, "subject": subject,
                                                                   "updated_at": ctx.now})
        inter = inter.model_copy(update={"drafts": drafts, "agent": agent, "updated_at": ctx.now})
        ctx.put(inter)
        return inter, draft_id

    def send_draft(self, ctx: Ctx, interaction_id: str, draft_id: str, agent: str) -> Interaction:
        """``agent`` sends a draft: the interaction goes to them (module docstring).

        Raises:
            NotFoundError: unknown interaction.  StateError: no such draft, or the interaction
            is not being drafted (sent already: reply instead).  CapacityError: the sender has
            no free capacity on the channel.
        """
        inter = get_interaction(ctx, interaction_id)
        if inter.state is not S.NEW or inter.direction is not Direction.OUTBOUND:
            raise StateError(f"interaction {inter.id} is {inter.state.value}, not a draft: reply to it instead")
        draft = next((d for d in inter.drafts if d.id == draft_id), None)
        if draft is None:
            raise StateError(f"interaction {inter.id} has no draft {draft_id}")
        self.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        inter = inter.model_copy(update={"drafts": [d for d in inter.drafts if d.id != draft_id]})
        inter = move(ctx, inter, S.OFFERED, agent=agent, offered_at=ctx.now, offer_seq=inter.offer_seq + 1,
                     note=f"draft {draft_id} sent")
        inter = move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=agent)
        enqueue_text(ctx, inter, draft.text, f"draft:{draft_id}", subject=draft.subject)
        for i, delay in enumerate(self.settings.reminders):
            arm_timer(ctx, "reminder", inter, delay, key=f"reminder{i}:{inter.id}", n=i)
        return inter
