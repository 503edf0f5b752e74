"""Messaging actions: arming them on customer and agent messages, and whether one applies.

A :class:`~omnisdk.lifecycle.settings.MessagingAction` is a durable timer of kind
``action:<name>`` (key ``action:<name>:<interaction id>``), armed ``after`` seconds after its
``event`` and cancelled by its ``cancel_on`` event.  What it does when it fires is the
``action:`` handler of :mod:`omnisdk.lifecycle.timers`.
"""

from __future__ import annotations

from collections.abc import Iterable

from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import ActionEvent, MessagingAction
from omnisdk.lifecycle.transitions import arm_timer
from omnisdk.model import Interaction

ACTION_PREFIX = "action:"
"""Timer kinds of messaging actions are ``action:<name>``."""


def action_kind(action: MessagingAction) -> str:
    """The timer kind of ``action``: ``action:<name>``."""
    return f"{ACTION_PREFIX}{action.name}"


def arm_actions(ctx: Ctx, actions: Iterable[MessagingAction], inter: Interaction, event: ActionEvent) -> None:
    """``event`` happened on ``inter``: cancel the actions it cancels, (re)arm those it starts."""
    for action in actions:
        kind = action_kind(action)
        if action.cancel_on is event:
            ctx.tx.cancel_timers(inter.id, [kind])
        if action.event is event:
            arm_timer(ctx, kind, inter, action.after)


def action_applies(action: MessagingAction, inter: Interaction) -> bool:
    """Whether every ``when`` condition of ``action`` holds for ``inter`` (field → value, compared
    as the JSON text of the field)."""
    fields = inter.model_dump(mode="json")
    return all(str(fields.get(k)) == v for k, v in action.when.items())
