"""Interaction lifecycle: the state machine and the verb groups that move interactions.

:mod:`~omnisdk.lifecycle.states` (legal transitions), :mod:`~omnisdk.lifecycle.transitions`
(checked moves and their events), :mod:`~omnisdk.lifecycle.agent_actions`,
:mod:`~omnisdk.lifecycle.timers`, :mod:`~omnisdk.lifecycle.cases`, wired by
:class:`omnisdk.lifecycle.operations.Lifecycle` (import it from its module: this package
imports only the state machine, so routing may use the primitives without a cycle).
"""

from omnisdk.lifecycle.states import TRANSITIONS, transition

__all__ = ["TRANSITIONS", "transition"]
