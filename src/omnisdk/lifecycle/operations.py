"""The lifecycle's composition root: wires the verb groups that change interactions.

Each verb group is its own class with its own dependencies, in a chain without cycles
(primitives ← dispatch ← agent actions ← timers, cases):

=======================  ==================================================================
attribute                what it does (module)
=======================  ==================================================================
(functions)              transition primitives: ``move``, ``emit``, ``get_interaction``,
                         ``arm_timer``, ``STATE_EVENT`` (:mod:`omnisdk.lifecycle.transitions`)
``dispatch``             routing dispatch: route, try_assign, offer, drain, overflow
                         (:mod:`omnisdk.routing.dispatch`)
``bots``                 virtual-agent turns (:mod:`omnisdk.lifecycle.virtual_agents`)
``ownership``            a customer message: open an inbound interaction, or apply the
                         ownership rules (:mod:`omnisdk.threading.ownership`)
``actions``              agent actions: accept, reject, assign, hold, resume, transfer,
                         wrap-up, close, presence, reply, outbound start
                         (:mod:`omnisdk.lifecycle.agent_actions`)
``timers``               the timer table and ``fire`` (:mod:`omnisdk.lifecycle.timers`)
``cases``                create_case, link_case (:mod:`omnisdk.lifecycle.cases`); the case
                         lifecycle is :func:`omnisdk.lifecycle.case_states.move_case`
``case_mail``            a mail's effects on cases: email to case, updates, accept or
                         reject by mail (:mod:`omnisdk.lifecycle.case_mail`)
``drafts``               agents' drafts to a contact, consolidated per customer, and
                         sending one (:mod:`omnisdk.lifecycle.drafts`)
``calls``                call events applied to voice interactions (:mod:`omnisdk.voice.calls`)
=======================  ==================================================================

Messages to customers go through :func:`omnisdk.outbound.enqueue.enqueue_text`.  Every
operation runs inside one store transaction (``ctx.tx``, :class:`~omnisdk.lifecycle.context.Ctx`)
and keeps the interaction row (and its history), the routing engine's in-memory capacity and
the durable timers in step.
"""

from __future__ import annotations

from omnisdk.lifecycle.agent_actions import AgentActions
from omnisdk.lifecycle.case_links import CaseLinks
from omnisdk.lifecycle.case_mail import CaseMail
from omnisdk.lifecycle.cases import Cases
from omnisdk.lifecycle.drafts import Drafts
from omnisdk.lifecycle.settings import LifecycleSettings
from omnisdk.lifecycle.timers import Timers
from omnisdk.lifecycle.virtual_agents import VirtualAgents
from omnisdk.plugins import PluginHost
from omnisdk.routing.dispatch import Dispatch
from omnisdk.routing.engine import RoutingEngine
from omnisdk.threading.ownership import Ownership
from omnisdk.voice.calls import Calls


class Lifecycle:
    """The verb groups, wired once per runtime (see the module docstring); it holds no
    operation of its own.  The runtime and the processor call through its attributes, for
    example ``lifecycle.actions.accept(ctx, interaction_id)``."""

    def __init__(self, engine: RoutingEngine, host: PluginHost, settings: LifecycleSettings,
                 case_links: CaseLinks | None = None) -> None:
        self.engine = engine
        self.host = host
        self.settings = settings
        self.dispatch = Dispatch(engine, host)
        self.bots = VirtualAgents(host, self.dispatch)
        self.ownership = Ownership(engine, host, settings, self.dispatch, self.bots)
        self.actions = AgentActions(engine, host, settings, self.dispatch)
        self.timers = Timers(settings, self.dispatch, self.actions)
        self.cases = Cases(settings, self.actions, case_links)
        self.case_mail = CaseMail(settings, self.cases)
        self.drafts = Drafts(engine, settings)
        self.calls = Calls(settings, self.dispatch, self.actions)
