"""Transition primitives: move an interaction, emit its event, read it, arm its timers.

Every verb group (routing dispatch, agent actions, timers, cases, customer messages) changes
interactions only through :func:`move`, which checks the move against
:data:`~omnisdk.lifecycle.states.TRANSITIONS`, writes the history row and emits the one
``io.omnisdk.interaction.*`` CloudEvent of the target state (:data:`STATE_EVENT`).  Nothing here
knows about queues, agents or plugins.
"""

from __future__ import annotations

from typing import Any

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.states import TRANSITIONS, transition
from omnisdk.model import Interaction
from omnisdk.model import InteractionState as S
from omnisdk.store.rows import HistoryRow

STATE_EVENT = {
    S.NEW: ev.TYPE_INTERACTION_CREATED,
    S.QUEUED: ev.TYPE_INTERACTION_QUEUED,
    S.OFFERED: ev.TYPE_INTERACTION_OFFERED,
    S.WORK_IN_PROGRESS: ev.TYPE_INTERACTION_ACCEPTED,
    S.ON_HOLD: ev.TYPE_INTERACTION_ON_HOLD,
    S.WRAP_UP: ev.TYPE_INTERACTION_WRAP_UP,
    S.CLOSED: ev.TYPE_INTERACTION_CLOSED,
}
"""The CloudEvent type each target state emits."""


def interaction_event(kind: str, inter: Interaction, ctx: Ctx, note: str | None = None) -> ev.Event:
    """A core ``io.omnisdk.interaction.*`` event about ``inter`` (``data`` is the interaction as
    JSON, plus ``note`` when given; ``time`` is ``ctx.now`` as RFC 3339 UTC)."""
    data = inter.model_dump(mode="json")
    if note:
        data["note"] = note
    return ev.Event(
        id=new_id(),
        source="/omnisdk/core",
        type=kind,
        data=data,
        time=ctx.iso,
        subject=inter.id,
        partitionkey=inter.conversation_key,
        correlationid=inter.id,
        causationid=ctx.cause.id if ctx.cause else None,
        traceparent=ctx.cause.traceparent if ctx.cause else None,
        tracestate=ctx.cause.tracestate if ctx.cause else None,
    )


def agent_event(agent: Any, ctx: Ctx) -> ev.Event:
    """``io.omnisdk.agent.updated`` for an agent's new settings or presence (``agent`` is an
    :class:`omnisdk.routing.model.Agent`)."""
    return ev.Event(id=new_id(), source="/omnisdk/core", type=ev.TYPE_AGENT_UPDATED,
                    data=agent.model_dump(mode="json"), time=ctx.iso, subject=agent.id)


def emit(ctx: Ctx, kind: str, inter: Interaction, note: str | None = None) -> None:
    """Emit ``kind`` about ``inter`` (built only when someone observes core events)."""
    if ctx.observe:
        ctx.emitted.append(interaction_event(kind, inter, ctx, note))


def move(ctx: Ctx, inter: Interaction, target: S, note: str | None = None, **changes: Any) -> Interaction:
    """Move ``inter`` to ``target`` with ``changes`` (field → value), stamping ``updated_at``
    (and ``closed_at`` on close) with ``ctx.now``; log the history row and emit the target
    state's event.  Returns the interaction in its new state.

    When this operation already owns the object (it is in ``ctx.dirty``: read or made by this
    operation) it is changed in place by ordinary attribute assignment (the model is not
    frozen), which saves a model copy per transition; otherwise a changed copy is returned and
    remembered in ``ctx``.

    Raises:
        StateError: ``target`` is not allowed from the current state (nothing is changed).
    """
    source = inter.state
    if ctx.dirty.get(inter.id) is inter:
        if target not in TRANSITIONS[source]:
            raise StateError(f"interaction {inter.id}: {source} → {target} is not allowed")
        changes["state"] = target
        changes["updated_at"] = ctx.now
        if target is S.CLOSED:
            changes["closed_at"] = ctx.now
        for name, value in changes.items():
            setattr(inter, name, value)
        new = inter
    else:
        new = transition(inter, target, ctx.now, **changes)
        ctx.put(new)
    ctx.logs.append(HistoryRow(new.id, ctx.iso, source.value, target.value, new.agent, new.queue, note))
    emit(ctx, STATE_EVENT[target], new, note)
    return new


def created(ctx: Ctx, inter: Interaction, agent: str | None, note: str) -> None:
    """Record a newly made interaction (state ``new``): remembered in ``ctx``, its first history
    row, ``io.omnisdk.interaction.created``."""
    ctx.put(inter)
    ctx.logs.append(HistoryRow(inter.id, ctx.iso, None, S.NEW.value, agent, None, note))
    emit(ctx, ev.TYPE_INTERACTION_CREATED, inter)


def get_interaction(ctx: Ctx, interaction_id: str) -> Interaction:
    """The interaction as this operation sees it.

    Raises:
        NotFoundError: no such interaction.
    """
    inter = ctx.get(interaction_id)
    if inter is None:
        raise NotFoundError(f"no interaction {interaction_id}")
    return inter


def arm_timer(ctx: Ctx, kind: str, inter: Interaction, after: float, *, key: str | None = None,
              **data: Any) -> None:
    """Arm (or re-arm) the durable timer ``kind`` of ``inter``, due ``after`` seconds from
    ``ctx.now``, keyed ``{kind}:{interaction id}`` unless ``key`` is given; ``data`` is handed to
    its handler (:mod:`omnisdk.lifecycle.timers`, which must have one for ``kind``)."""
    ctx.tx.schedule_timer(key or f"{kind}:{inter.id}", kind, ctx.ts + after, inter.id, data)
