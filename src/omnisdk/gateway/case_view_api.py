"""One case (``GET /v1/cases/{id}``) and its resolution by email
(``POST /v1/cases/{id}/resolution``).

A case is seen by whoever may see one of the interactions linked to it
(:func:`omnisdk.access.policy.may_read`: an agent those of the queues they serve and their own
work, a supervisor those of their queues, an admin everything); to anyone else it does not
exist (404, as an unknown case).  Its answer lists every linked interaction (id, channel,
state, customer, direction) with the messages of those the caller may read, oldest first: the
chat the case was opened from and the mail of its resolution side by side.

Sending the resolution needs ``cases:write`` and an agent to hold the email interaction (an
agent key acts as itself; a supervisor or admin names one): see
:mod:`omnisdk.lifecycle.case_resolution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Request

from omnisdk.access.policy import acting_agent, may_read
from omnisdk.access.principals import Principal, Role, Scope
from omnisdk.errors import NotFoundError
from omnisdk.gateway.auth import need
from omnisdk.gateway.case_schemas import MESSAGES_SHOWN, CaseView, ResolutionRequest, ResolutionSent
from omnisdk.gateway.schemas import ErrorBody, ValidationErrorBody
from omnisdk.model import Case, Interaction
from omnisdk.routing.model import Agent

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

router = APIRouter(prefix="/cases", tags=["cases"])
CaseReader = Annotated[Principal, need(Scope.CASES_READ)]
CaseWriter = Annotated[Principal, need(Scope.CASES_WRITE)]
CaseId = Annotated[str, Path(min_length=1, max_length=64, description="The case's id or number (CS0000001).")]

_NOT_FOUND = {404: {"model": ErrorBody, "description": "No such case, or none the caller may see."}}
_REFUSED = {
    **_NOT_FOUND,
    409: {"model": ErrorBody, "description": "The case's state allows no proposed solution, the customer's active "
                                              "email interaction is another agent's, or no free email capacity."},
    400: {"model": ErrorBody, "description": "Not an email address, none known, no agent named, several email "
                                              "accounts and none named."},
    422: {"model": ValidationErrorBody, "description": "The request does not match the schema."},
}


def may_see_case(principal: Principal, linked: list[Interaction], agents: Mapping[str, Agent]) -> bool:
    """The principal may see a case whose linked interactions are ``linked``: an admin always,
    anyone else when they may read one of them."""
    return principal.role is Role.ADMIN or any(may_read(principal, i, agents) for i in linked)


async def visible_case(rt: Runtime, principal: Principal, case_id: str) -> tuple[Case, list[Interaction]]:
    """The case ``case_id`` (id or number) and its linked interactions, if ``principal`` may see it.

    Raises:
        NotFoundError: no such case, or one the principal may not see (the same 404).
    """

    def read(tx: Any) -> tuple[Case | None, list[Interaction]]:
        case = tx.get_case(case_id)
        if case is None:
            return None, []
        return case, [i for i in (tx.get_interaction(x) for x in case.interaction_ids) if i is not None]

    case, linked = await rt.store.transact(read)
    if case is None or not may_see_case(principal, linked, rt.engine.agents):
        raise NotFoundError(f"no case {case_id}")
    return case, linked


async def visible_cases(rt: Runtime, principal: Principal, cases: list[Case]) -> list[Case]:
    """Those of ``cases`` the principal may see (one store read for the page), in their order."""
    if principal.role is Role.ADMIN:
        return cases

    def read(tx: Any) -> dict[str, Interaction]:
        wanted = {x for case in cases for x in case.interaction_ids}
        return {i.id: i for i in (tx.get_interaction(x) for x in wanted) if i is not None}

    linked = await rt.store.transact(read)
    agents = rt.engine.agents
    return [case for case in cases
            if may_see_case(principal, [linked[x] for x in case.interaction_ids if x in linked], agents)]


@router.get("/{case_id}", response_model=CaseView, responses=_NOT_FOUND)
async def get_case(request: Request, principal: CaseReader, case_id: CaseId) -> Any:
    """One case (by id or number) with its history and every linked interaction, the
    messages of those the caller may read; 404 for an unknown case or one the caller may not see."""
    rt = request.app.state.runtime
    case, linked = await visible_case(rt, principal, case_id)
    agents = rt.engine.agents
    readable = {i.id for i in linked if may_read(principal, i, agents) or principal.role is Role.ADMIN}

    def messages(tx: Any) -> dict[str, list[dict[str, Any]]]:
        return {i: [m.to_dict() for m in tx.messages_of(i)][-MESSAGES_SHOWN:] for i in readable}

    shown = await rt.store.transact(messages)
    doc = case.model_dump(mode="json")
    doc["interactions"] = [
        {"id": i.id, "channel": i.channel, "state": i.state, "direction": i.direction.value, "customer": i.customer,
         "created_at": i.created_at.isoformat().replace("+00:00", "Z"), "readable": i.id in readable,
         "messages": shown.get(i.id, [])} for i in linked]
    return doc


@router.post("/{case_id}/resolution", status_code=202, response_model=ResolutionSent, responses=_REFUSED)
async def send_resolution(request: Request, principal: CaseWriter, case_id: CaseId, body: ResolutionRequest) -> Any:
    """Send the case's resolution by email through the email plugin (an outbound email
    interaction linked to the case, held by the agent and parked); the case moves to
    solution_proposed, and the customer's reply ACCEPT (or the accept link) resolves it."""
    rt = request.app.state.runtime
    case, _ = await visible_case(rt, principal, case_id)
    agent = acting_agent(principal, body.agent, rt.engine.agents)
    if agent is None:
        raise ValueError("name the agent who holds the resolution mail (agent)")
    case, inter = await rt.send_case_resolution(case.id, body.text, agent=agent, to=body.to, plugin=body.plugin,
                                                account=body.account, business=body.business)
    return {"case": case, "interaction": inter}


__all__ = ["may_see_case", "router", "visible_case", "visible_cases"]
