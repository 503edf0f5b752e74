"""The agent REST API (``/v1``): interactions, cases, agents, queues and stats over the runtime.

A FastAPI application: its OpenAPI 3 document is served at ``/openapi.json`` (interactive docs at
``/docs``) and generated from the models in :mod:`omnisdk.gateway.schemas`.  The gateway
(:func:`omnisdk.gateway.create_app`) mounts it *behind* the raw webhook and health routes, so
provider webhooks never pass through FastAPI.

Errors all have the webhook's shape ``{"error": reason, "detail": text}``:

========================================  ======  =====================
cause                                     status  error
========================================  ======  =====================
unknown interaction, agent, queue, case   404     ``not_found``
illegal move (:class:`StateError`)        409     ``conflict``
Idempotency-Key reused for another body   409     ``idempotency_conflict``
customer-service window closed            409     ``window_closed``
another agent holds the customer's SMS    409     ``held_by_another_agent`` (+ ``holder``,
conversation (agent-initiated)                    ``interaction_id``)
no free capacity (:class:`CapacityError`) 409     ``no_capacity``
CCaaS transfer target not mapped          409     ``unmapped_target`` (``MappingError``)
bad argument (``ValueError``)             400     ``bad_request``
body that is not JSON                     400     ``malformed_payload``
body / query that breaks the schema       422     ``validation_error`` (``detail`` is a list)
========================================  ======  =====================
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as ASGIScope

from omnisdk.access.policy import (
    acting_agent,
    agent_queues,
    check_act,
    check_read,
    may_read,
    supervises,
)
from omnisdk.access.principals import Principal, Role, Scope
from omnisdk.config import describe_validation_error
from omnisdk.connectors import MappingError
from omnisdk.errors import (
    AccessError,
    InteractionHeldError,
    NotFoundError,
    RateLimitedError,
    StateError,
    UnauthenticatedError,
    WindowClosedError,
)
from omnisdk.gateway.access_api import router as access_router
from omnisdk.gateway.audit import AuditLog
from omnisdk.gateway.auth import Authenticator, need
from omnisdk.gateway.browser_safety import BrowserSafety
from omnisdk.gateway.calls_api import calls as calls_router
from omnisdk.gateway.calls_api import interaction_calls
from omnisdk.gateway.case_view_api import router as case_view_router
from omnisdk.gateway.case_view_api import visible_case, visible_cases
from omnisdk.gateway.console import console_routes
from omnisdk.gateway.contacts_api import router as contacts_router
from omnisdk.gateway.live_api import router as live_router
from omnisdk.gateway.live_feed import LiveFeed
from omnisdk.gateway.me_api import router as me_router
from omnisdk.gateway.profiles_api import router as profiles_router
from omnisdk.gateway.request_ids import RequestIdMiddleware
from omnisdk.gateway.schemas import (
    AgentAction,
    AgentPage,
    AgentStatus,
    AssignRequest,
    CaseDetail,
    CaseLinkRequest,
    CasePage,
    CaseRequest,
    CaseStateRequest,
    CloseRequest,
    DraftRequest,
    DraftSaved,
    DraftSendRequest,
    ErrorBody,
    InteractionDetail,
    InteractionPage,
    OutboundRequest,
    PresenceRequest,
    QueueStatus,
    ReplyAccepted,
    ReplyRequest,
    Summary,
    TransferRequest,
    ValidationErrorBody,
)
from omnisdk.gateway.state import agent_status, window_view
from omnisdk.gateway.subscriptions_api import router as subscriptions_router
from omnisdk.gateway.webhooks import error_response
from omnisdk.model import Interaction, InteractionState
from omnisdk.routing.engine import CapacityError
from omnisdk.routing.model import Agent, Presence, Queue
from omnisdk.runtime import Runtime
from omnisdk.store.errors import IdempotencyConflict
from omnisdk.store.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InteractionQuery,
    decode_cursor,
    encode_cursor,
)

if TYPE_CHECKING:
    from starlette.requests import Request as StarletteRequest

API_VERSION = "1"


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


async def health(request: StarletteRequest) -> Response:
    """``GET /healthz`` — a raw Starlette endpoint (not part of the API schema)."""
    return _json({"status": "ok"})


async def route_not_found(request: StarletteRequest, exc: Exception) -> Response:
    """A path no route of the gateway takes: the API's JSON 404, never Starlette's text one."""
    return error_response(404, "not_found", "no such route")


async def webhook_method_not_allowed(request: StarletteRequest) -> Response:
    """Any other method on the webhook path (raw, like the webhook route itself)."""
    resp = error_response(405, "method_not_allowed", "webhooks accept POST (and GET for handshakes)")
    resp.headers["allow"] = "GET, HEAD, POST"
    return resp


# --- plumbing ------------------------------------------------------------------------------


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RT = Annotated[Runtime, Depends(get_runtime)]
Reader = Annotated[Principal, need(Scope.INTERACTIONS_READ)]
Worker = Annotated[Principal, need(Scope.INTERACTIONS_WORK)]
Assigner = Annotated[Principal, need(Scope.INTERACTIONS_ASSIGN)]
CaseReader = Annotated[Principal, need(Scope.CASES_READ)]
CaseWriter = Annotated[Principal, need(Scope.CASES_WRITE)]
AgentReader = Annotated[Principal, need(Scope.AGENTS_READ)]
PresenceSetter = Annotated[Principal, need(Scope.AGENTS_PRESENCE)]
AgentAdmin = Annotated[Principal, need(Scope.AGENTS_ADMIN)]
QueueReader = Annotated[Principal, need(Scope.QUEUES_READ)]
QueueAdmin = Annotated[Principal, need(Scope.QUEUES_ADMIN)]
StatsReader = Annotated[Principal, need(Scope.STATS_READ)]
InteractionId = Annotated[str, Path(description="The interaction's id.")]


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


NOT_FOUND = {404: _err("No such interaction, agent, queue or case.")}
CONFLICT = {409: _err("Illegal move for the interaction's state, not held by that agent, or no free capacity.")}
BAD = {
    400: _err("Bad argument or a body that is not JSON."),
    422: {"model": ValidationErrorBody, "description": "The request does not match the schema."},
}
ACTION = {**NOT_FOUND, **CONFLICT, **BAD}
ACCESS = {
    **BAD,
    401: _err("No credentials, or credentials that do not verify (see WWW-Authenticate)."),
    403: _err("The caller's role or scopes do not allow this, or the work is outside their reach."),
    404: _err("No such interaction, agent, queue, case or key, or a path no route takes."),
    415: _err("A state-changing call (POST, PUT, DELETE) without Content-Type: application/json, body or not."),
    421: _err("A Host header the API does not answer to ([api] allowed_hosts)."),
    429: _err("Too many requests for this key or address (see Retry-After)."),
}
"""Every /v1 route may answer these: its access controls (:mod:`omnisdk.gateway.auth`), a bad
argument or body, a path no route takes."""


async def _require_interaction(rt: Runtime, interaction_id: str) -> Interaction:
    inter = await rt.store.transact(lambda tx: tx.get_interaction(interaction_id))
    if inter is None:
        raise NotFoundError(f"no interaction {interaction_id}")
    return inter


async def _work_on(rt: Runtime, principal: Principal, interaction_id: str, named: str | None) -> str | None:
    """The agent a call on the interaction acts as, once the principal may act on it
    (:func:`omnisdk.access.policy.check_act`); 404 for an unknown interaction, 403 out of reach."""
    check_act(principal, await _require_interaction(rt, interaction_id), rt.engine.agents)
    return acting_agent(principal, named, rt.engine.agents)


def _require_agent(rt: Runtime, agent_id: str) -> None:
    if agent_id not in rt.engine.agents:
        raise NotFoundError(f"no agent {agent_id!r}")


def _require_queue(rt: Runtime, name: str) -> None:
    if name not in rt.engine.queues:
        raise NotFoundError(f"no queue {name!r}")


_HTTP_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                 415: "unsupported_media_type", 422: "validation_error"}


def _install_error_handlers(app: FastAPI) -> None:
    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(404, "not_found", str(exc))

    async def no_capacity(request: Request, exc: Exception) -> Response:
        return error_response(409, "no_capacity", str(exc))

    async def window_closed(request: Request, exc: Exception) -> Response:
        return error_response(409, "window_closed", str(exc))

    async def held(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InteractionHeldError)
        return _json({"error": "held_by_another_agent", "detail": str(exc), "holder": exc.holder,
                      "interaction_id": exc.interaction_id}, 409)

    async def conflict(request: Request, exc: Exception) -> Response:
        return error_response(409, "conflict", str(exc))

    async def unmapped_target(request: Request, exc: Exception) -> Response:
        return error_response(409, "unmapped_target", str(exc))

    async def idempotency_conflict(request: Request, exc: Exception) -> Response:
        return error_response(409, "idempotency_conflict", str(exc))

    async def bad_value(request: Request, exc: Exception) -> Response:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        return error_response(400, "bad_request", detail or "bad argument")

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if errors and all(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_payload", "the body is not valid JSON")
        if isinstance(exc.body, bytes) and any(tuple(e.get("loc", ())) == ("body",) for e in errors):
            # a body FastAPI did not decode: no or another Content-Type
            return error_response(400, "malformed_payload", "expected a JSON body (Content-Type: application/json)")
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]  # no "input": it may echo what the client sent (tokens included)
        return _json({"error": "validation_error", "detail": detail}, 422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        reason = _HTTP_REASONS.get(exc.status_code, "error")
        resp = error_response(exc.status_code, reason, str(exc.detail))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    async def access_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AccessError)
        resp = error_response(exc.status, exc.reason, str(exc))
        if isinstance(exc, UnauthenticatedError):
            resp.headers["www-authenticate"] = 'Bearer realm="omnisdk"'
        elif isinstance(exc, RateLimitedError):
            resp.headers["retry-after"] = str(exc.retry_after)
        return resp

    async def server_error(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal_error", "unexpected error (see the log)")

    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(CapacityError, no_capacity)
    app.add_exception_handler(WindowClosedError, window_closed)
    app.add_exception_handler(InteractionHeldError, held)
    app.add_exception_handler(StateError, conflict)
    app.add_exception_handler(IdempotencyConflict, idempotency_conflict)
    app.add_exception_handler(MappingError, unmapped_target)
    app.add_exception_handler(AccessError, access_refused)
    app.add_exception_handler(ValueError, bad_value)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)


class BodyLimit:
    """Bodies above ``limit`` bytes get 413 ``payload_too_large`` (a declared Content-Length at
    once; a streamed body when it crosses the limit, through the API's error handlers)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    resp = error_response(413, "payload_too_large", f"body exceeds {limit} bytes")
                    await resp(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, f"body exceeds {limit} bytes")
            return message

        await self.app(scope, limited, send)


# --- interactions ----------------------------------------------------------------------------

interactions = APIRouter(prefix="/interactions", tags=["interactions"])


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1–{MAX_LIMIT}).")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=400,
                                     description="The ``next_cursor`` of the previous page (opaque).")]


@interactions.get("", response_model=InteractionPage, responses=BAD)
async def list_interactions(
    rt: RT,
    principal: Reader,
    active: Annotated[bool | None, Query(description="true: only active ones; false: only closed ones; omitted: all.")] = None,
    state: Annotated[list[InteractionState] | None, Query(description="Only these states (repeatable).")] = None,
    agent: Annotated[str | None, Query(description="Only those held by this agent.")] = None,
    queue: Annotated[str | None, Query(description="Only those in this queue.")] = None,
    channel: Annotated[str | None, Query(description="Only those on this channel (whatsapp, sms …).")] = None,
    updated_since: Annotated[datetime | None, Query(
        description="Only those updated at or after this instant (RFC 3339; without an offset: UTC).")] = None,
    id_match: Annotated[str | None, Query(min_length=1, max_length=64, description=(
        "Only those whose id starts or ends with this (tables show an id's last 12 characters); "
        "at most ``limit``, no other filter or cursor applies."))] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """Interactions, newest first, one page at a time (``limit``, default 50); every filter
    applies in the store.  Follow ``next_cursor`` with the same filters for the next page."""
    agents_now = rt.engine.agents
    if id_match is not None:
        found = await rt.match_interactions(id_match, limit=limit)
        return {"items": [i for i in found if may_read(principal, i, agents_now)], "next_cursor": None}
    since = None
    if updated_since is not None:
        since = (updated_since if updated_since.tzinfo else updated_since.replace(tzinfo=UTC)).timestamp()
    within = agent_queues(principal, agents_now)
    if principal.role is Role.AGENT:
        or_agents: tuple[str, ...] = (principal.agent,) if principal.agent else ()
    else:
        or_agents = tuple(a.id for a in agents_now.values() if a.queues and supervises(principal, a))
    query = InteractionQuery(states=tuple(s.value for s in state or ()), active=active, agent=agent,
                             queue=queue, channel=channel, updated_since=since,
                             within_queues=tuple(sorted(within)) if within is not None else None,
                             or_agents=or_agents if within is not None else ())
    page = await rt.page_interactions(query, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@interactions.post("", status_code=201, response_model=Interaction,
                   responses={**NOT_FOUND, **CONFLICT, **BAD,
                              200: {"model": Interaction, "description": (
                                  "SMS: the message joined the agent's active interaction with the "
                                  "customer on that number (Omnisdk-Outcome: reused).")}})
async def start_outbound(rt: RT, principal: Worker, body: OutboundRequest, response: Response) -> Any:
    """An agent starts an outbound conversation: the interaction is created in work_in_progress
    with that agent and the first message is queued for sending.

    On sms (docs/sms.md), from the provider number ``business`` the agent chooses (one of the
    account's): the customer's active interaction on that number joins (200, held by this
    agent), is taken over (owned by a virtual agent) or refuses the start (409
    ``held_by_another_agent`` naming the holder); ``requester`` names the directory user the
    agent writes to.  The ``Omnisdk-Outcome`` header says which: ``created``, ``reused``,
    ``took_over_virtual_agent``, ``replaced_requester``."""
    acting_agent(principal, body.agent, rt.engine.agents)
    if rt.adapter(body.plugin, body.account) is None:
        raise NotFoundError(f"no account {body.account!r} for plugin {body.plugin!r}")
    _require_agent(rt, body.agent)
    started = await rt.open_conversation(
        agent=body.agent, plugin=body.plugin, account=body.account, customer=body.customer, text=body.text,
        business=body.business, template=body.template.model_dump() if body.template else None,
        requester=body.requester, by=principal.subject)
    response.headers["omnisdk-outcome"] = started.outcome
    if started.outcome == "reused":
        response.status_code = 200
    return started.interaction


@interactions.post("/drafts", status_code=201, response_model=DraftSaved, responses={**NOT_FOUND, **CONFLICT, **BAD})
async def save_draft(rt: RT, principal: Worker, body: DraftRequest) -> Any:
    """Keep an agent's draft to a contact; drafts of several agents to one customer share one
    outbound interaction (owned by the last drafter) unless ``draft_consolidation`` is off."""
    acting_agent(principal, body.agent, rt.engine.agents)
    if rt.adapter(body.plugin, body.account) is None:
        raise NotFoundError(f"no account {body.account!r} for plugin {body.plugin!r}")
    _require_agent(rt, body.agent)
    inter, draft_id = await rt.save_draft(agent=body.agent, plugin=body.plugin, account=body.account,
                                          customer=body.customer, text=body.text, subject=body.subject,
                                          business=body.business, draft_id=body.draft_id)
    return {"interaction": inter, "draft_id": draft_id}


@interactions.post("/{interaction_id}/drafts/{draft_id}/send", response_model=Interaction, responses=ACTION)
async def send_draft(rt: RT, principal: Worker, interaction_id: InteractionId,
                     draft_id: Annotated[str, Path(description="The draft to send.")], body: DraftSendRequest) -> Any:
    """Send a draft: the interaction goes to the sender (work_in_progress), the text is queued."""
    check_read(principal, await _require_interaction(rt, interaction_id), rt.engine.agents)
    acting_agent(principal, body.agent, rt.engine.agents)
    _require_agent(rt, body.agent)
    return await rt.send_draft(interaction_id, draft_id, agent=body.agent)


@interactions.get("/{interaction_id}", response_model=InteractionDetail, responses=NOT_FOUND)
async def get_interaction(rt: RT, principal: Reader, interaction_id: InteractionId) -> Any:
    """One interaction with its history (every transition) and its messages."""
    inter, history, messages = await rt.interaction(interaction_id)
    check_read(principal, inter, rt.engine.agents)
    return {"interaction": inter, "history": history, "messages": messages,
            "customer_opted_out": await rt.opted_out(inter.channel, inter.customer),
            **window_view(await rt.window_closes_at(inter), rt.processor.clock().timestamp())}


@interactions.get("/{interaction_id}/summary", response_model=Summary, responses=NOT_FOUND)
async def summarize(rt: RT, principal: Reader, interaction_id: InteractionId) -> Any:
    """A summary of the interaction's thread: a plugin's (``omnisdk_summarize``), else the
    core's local extractive one (deterministic; quotes of mail are already cut)."""
    check_read(principal, await _require_interaction(rt, interaction_id), rt.engine.agents)
    return {"interaction_id": interaction_id, "summary": await rt.summarize(interaction_id)}


OptionalAction = Annotated[AgentAction | None, Body()]


@interactions.post("/{interaction_id}/accept", response_model=Interaction, responses=ACTION)
async def accept(rt: RT, principal: Worker, interaction_id: InteractionId, body: OptionalAction = None) -> Any:
    """The offered agent accepts: offered → work_in_progress."""
    return await rt.accept(interaction_id, await _work_on(rt, principal, interaction_id, body.agent if body else None))


@interactions.post("/{interaction_id}/assign", response_model=Interaction, responses=ACTION)
async def assign(rt: RT, principal: Assigner, interaction_id: InteractionId, body: AssignRequest) -> Any:
    """Offer a queued interaction to a named agent: queued → offered (the offer timer starts).
    How a CCaaS connector reports where it routed an externally routed interaction."""
    return await rt.assign(interaction_id, await _work_on(rt, principal, interaction_id, body.agent))


@interactions.post("/{interaction_id}/reject", response_model=Interaction, responses=ACTION)
async def reject(rt: RT, principal: Worker, interaction_id: InteractionId, body: OptionalAction = None) -> Any:
    """The offered agent rejects: back to the queue and offered to someone else (the answer shows
    where it went)."""
    return await rt.reject(interaction_id, await _work_on(rt, principal, interaction_id, body.agent if body else None))


@interactions.post("/{interaction_id}/hold", response_model=Interaction, responses=ACTION)
async def hold(rt: RT, principal: Worker, interaction_id: InteractionId, body: OptionalAction = None) -> Any:
    """Park: work_in_progress → on_hold.  Capacity is released; the agent keeps ownership and gets
    the interaction back when the customer writes."""
    return await rt.hold(interaction_id, await _work_on(rt, principal, interaction_id, body.agent if body else None))


@interactions.post("/{interaction_id}/resume", response_model=Interaction, responses=ACTION)
async def resume(rt: RT, principal: Worker, interaction_id: InteractionId, body: OptionalAction = None) -> Any:
    """Unpark: on_hold → work_in_progress with the owner (409 no_capacity if they have none free)."""
    return await rt.resume(interaction_id, await _work_on(rt, principal, interaction_id, body.agent if body else None))


@interactions.post("/{interaction_id}/wrap-up", response_model=Interaction, responses=ACTION)
async def wrap_up(rt: RT, principal: Worker, interaction_id: InteractionId, body: OptionalAction = None) -> Any:
    """Into wrap_up; the default wrap-up code applies if the interaction is not closed in time."""
    return await rt.wrap_up(interaction_id, await _work_on(rt, principal, interaction_id, body.agent if body else None))


@interactions.post("/{interaction_id}/transfer", response_model=Interaction, responses=ACTION)
async def transfer(rt: RT, principal: Worker, interaction_id: InteractionId, body: TransferRequest) -> Any:
    """Transfer to an agent (offered to them) or to a queue (routed there).  The previous agent's
    capacity is released; the history keeps every step.  An unknown agent is a 404 for an
    internally routed interaction; an externally routed one may go only to an agent or queue its
    CCaaS connector maps (else 409 ``unmapped_target``, before anything changes)."""
    acting = await _work_on(rt, principal, interaction_id, body.agent)
    if body.to_queue is not None:
        _require_queue(rt, body.to_queue)
    if body.to_agent is not None and principal.role is Role.SUPERVISOR:
        acting_agent(principal, body.to_agent, rt.engine.agents)  # only to an agent of their queues
    return await rt.transfer(interaction_id, to_agent=body.to_agent, to_queue=body.to_queue, agent=acting)


@interactions.post("/{interaction_id}/close", response_model=Interaction, responses=ACTION)
async def close(rt: RT, principal: Worker, interaction_id: InteractionId,
                body: Annotated[CloseRequest | None, Body()] = None) -> Any:
    """Close with a wrap-up code (the configured default when omitted)."""
    body = body or CloseRequest()
    acting = await _work_on(rt, principal, interaction_id, body.agent)
    return await rt.close_interaction(interaction_id, body.wrap_up_code, agent=acting)


@interactions.post("/{interaction_id}/reply", status_code=202, response_model=ReplyAccepted, responses=ACTION)
async def reply(
    rt: RT, principal: Worker, interaction_id: InteractionId, body: ReplyRequest,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=200,
        description="Makes the send idempotent, per interaction and caller (API key or token "
                    "subject): the same key with the same body again queues nothing more (202); "
                    "with another body it is refused (409 idempotency_conflict). The same key on "
                    "another interaction, or from another caller, is another reply.")] = None,
) -> Any:
    """Queue a text reply to the customer (sent by the outbox with retries).  Only accepted work
    takes a reply: work_in_progress, on_hold or wrap_up (409 conflict otherwise)."""
    acting = await _work_on(rt, principal, interaction_id, body.agent)
    content = body.content.model_dump(exclude_defaults=True) if body.content is not None else None
    key = await rt.reply(interaction_id, body.text, agent=acting, idempotency_key=idempotency_key,
                         content=content or None, caller=principal.subject)
    return {"idempotency_key": key}


@interactions.post("/{interaction_id}/case", status_code=201, response_model=CaseDetail,
                   tags=["cases"], responses=ACTION)
async def create_case(rt: RT, principal: Worker, interaction_id: InteractionId,
                      body: Annotated[CaseRequest | None, Body()] = None) -> Any:
    """Open a case (``CS0000001`` …) from the interaction: context and history are copied, the
    customer is told the case number, and the interaction closes with "Task created"."""
    body = body or CaseRequest()
    acting = await _work_on(rt, principal, interaction_id, body.agent)
    return await rt.create_case(interaction_id, body.subject, agent=acting)


@interactions.post("/{interaction_id}/case-link", response_model=CaseDetail, tags=["cases"], responses=ACTION)
async def link_case(rt: RT, principal: Worker, interaction_id: InteractionId, body: CaseLinkRequest) -> Any:
    """Link the interaction to an existing case (by id or number).  The caller must hold the
    interaction and see the case (:func:`~omnisdk.gateway.case_view_api.visible_case`: one of
    its interactions is theirs to read; an admin any case): a case they may not see is the same
    404 as an unknown one, so that case numbers cannot be probed or taken over."""
    await _work_on(rt, principal, interaction_id, None)
    await visible_case(rt, principal, body.case)
    return await rt.link_case(interaction_id, body.case)


# --- cases, agents, queues, stats --------------------------------------------------------------

cases = APIRouter(prefix="/cases", tags=["cases"])


@cases.get("", response_model=CasePage, responses=BAD)
async def list_cases(rt: RT, principal: CaseReader, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    """Cases the caller may see (those linked to an interaction they may read; an admin every
    case), newest (highest number) first, one page at a time; follow ``next_cursor``.  The
    page is cut before the filter, so a page may hold fewer than ``limit`` cases (even none)
    while ``next_cursor`` is set."""
    page = await rt.page_cases(limit=limit, cursor=cursor)
    return {"items": await visible_cases(rt, principal, list(page.items)), "next_cursor": page.next_cursor}


@cases.post("/{case_id}/state", response_model=CaseDetail, responses=ACTION)
async def move_case(rt: RT, principal: CaseWriter, case_id: Annotated[str, Path(description="The case's id or number.")],
                    body: CaseStateRequest) -> Any:
    """Move the case through its lifecycle; 409 for a move its state does not allow, 404 for
    a case the caller may not see."""
    await visible_case(rt, principal, case_id)
    acting = acting_agent(principal, body.agent, rt.engine.agents)
    if acting is not None:
        _require_agent(rt, acting)
    return await rt.move_case(case_id, body.state.value, agent=acting, note=body.note)


agents = APIRouter(prefix="/agents", tags=["agents"])


async def _agent_statuses(rt: Runtime) -> list[dict[str, Any]]:
    out = []
    for doc in await rt.agents():
        load = doc.pop("load", {})
        out.append(agent_status(Agent.model_validate(doc), load, rt.engine.item_size))
    return out


@agents.get("", response_model=AgentPage, responses=BAD)
async def list_agents(
    rt: RT,
    principal: AgentReader,
    presence: Annotated[Presence | None, Query(description="Only agents with this presence.")] = None,
    queue: Annotated[str | None, Query(description="Only agents who serve this queue (an agent with no "
                                                   "queue list serves every queue).")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """Agents with presence, skills, capacity and live load per channel, by id, one page at a
    time; follow ``next_cursor`` with the same filters."""
    after = decode_cursor("agent", cursor) if cursor is not None else None
    chosen = sorted((a for a in await _agent_statuses(rt)
                     if (presence is None or a["presence"] == presence.value)
                     and (queue is None or not a["queues"] or queue in a["queues"])
                     and (after is None or a["id"] > after)), key=lambda a: a["id"])
    page = chosen[:limit]
    more = len(chosen) > limit
    return {"items": page, "next_cursor": encode_cursor("agent", page[-1]["id"]) if more else None}


@agents.put("/{agent_id}", response_model=AgentStatus, responses=BAD)
async def put_agent(rt: RT, principal: AgentAdmin, agent_id: Annotated[str, Path(description="The agent's id.")], body: Agent) -> Any:
    """Add or replace an agent (kept in the store: survives restarts).  Waiting interactions are
    offered to them at once if they are available with free capacity."""
    if body.id != agent_id:
        raise ValueError(f"the body's id {body.id!r} does not match the path's {agent_id!r}")
    await rt.put_agent(body)
    return next(a for a in await _agent_statuses(rt) if a["id"] == agent_id)


@agents.put("/{agent_id}/presence", response_model=AgentStatus, responses={**NOT_FOUND, **BAD})
async def set_presence(rt: RT, principal: PresenceSetter, agent_id: Annotated[str, Path(description="The agent's id.")],
                       body: PresenceRequest) -> Any:
    """available / away / offline.  Becoming available drains the backlog to the agent.  An
    agent sets their own presence; a supervisor that of the agents of their queues."""
    _require_agent(rt, agent_id)
    acting_agent(principal, agent_id, rt.engine.agents)
    await rt.set_presence(agent_id, body.presence)
    return next(a for a in await _agent_statuses(rt) if a["id"] == agent_id)


queues = APIRouter(prefix="/queues", tags=["queues"])


@queues.get("", response_model=list[QueueStatus])
async def list_queues(rt: RT, principal: QueueReader) -> Any:
    """Queues with their routing conditions and the number of interactions waiting (for an
    agent or supervisor, only the queues they serve or supervise)."""
    seen = agent_queues(principal, rt.engine.agents)
    return [q for q in await rt.queues() if seen is None or q["name"] in seen]


@queues.put("/{queue_name}", response_model=QueueStatus, responses=BAD)
async def put_queue(rt: RT, principal: QueueAdmin, queue_name: Annotated[str, Path(description="The queue's name.")], body: Queue) -> Any:
    """Add or replace a queue (kept in the store).  Waiting interactions are re-examined."""
    if body.name != queue_name:
        raise ValueError(f"the body's name {body.name!r} does not match the path's {queue_name!r}")
    await rt.put_queue(body)
    return next(q for q in await rt.queues() if q["name"] == queue_name)


stats = APIRouter(tags=["stats"])


@stats.get("/stats", response_model=dict[str, int])
async def get_stats(rt: RT, principal: StatsReader) -> Any:
    """Counters: events accepted, deduplicated, rejected by reason, timers fired …"""
    return await rt.stats()


# --- the application ----------------------------------------------------------------------------


def create_api(runtime: Runtime) -> FastAPI:
    """The FastAPI application of the agent API, bound to ``runtime``."""
    from omnisdk import __version__

    app = FastAPI(
        title="omnisdk agent API",
        version=__version__,
        description=(
            "Manage agents, presence, queues and skills, and work interactions: accept, reject, "
            "hold, resume, transfer, wrap up, close, reply, open and link cases.\n\n"
            "Every error answers `{\"error\": reason, \"detail\": text}`; 401 no or bad credentials, "
            "403 role or reach, 429 rate limited, 404 unknown id, 409 illegal move or no capacity, "
            "400 bad argument, 415 not JSON, 422 schema mismatch.\n\n"
            "Every `/v1` call needs an API key (`X-API-Key`) or an OIDC bearer token.\n\n"
            "Provider webhooks (`/webhooks/{plugin}/{account}`) are served by the gateway beside "
            "this API and are not part of it."
        ),
        openapi_tags=[
            {"name": "interactions", "description": "Units of agent work and their lifecycle."},
            {"name": "cases", "description": "Longer investigation records interactions link to."},
            {"name": "agents", "description": "Agents, presence, skills and capacity."},
            {"name": "queues", "description": "Routing targets and their backlog."},
            {"name": "stats", "description": "Runtime counters."},
            {"name": "access", "description": "API keys and the audit log (admins)."},
            {"name": "live", "description": "Server-sent events: offers, state changes, messages."},
            {"name": "outgoing webhooks", "description": "Signed deliveries of core events to CRMs and bots."},
            {"name": "contacts", "description": "One contact across channels; merges and their undoing; "
                                               "messaging profiles (number → requester)."},
            {"name": "calls", "description": "Call controls of voice interactions, click-to-dial, softphone tokens."},
        ],
    )
    settings = runtime.settings
    app.add_middleware(BodyLimit, limit=settings.gateway.max_body_bytes)
    if settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["authorization", "x-api-key", "content-type", "idempotency-key"])
    app.add_middleware(AuditLog, runtime=runtime)
    public = settings.gateway.public_url
    app.add_middleware(BrowserSafety, hosts=settings.api.hosts(urlsplit(str(public)).hostname if public else None))
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries X-Request-ID
    app.state.runtime = runtime
    app.state.auth = Authenticator(runtime)
    app.state.live = LiveFeed(runtime.store)
    _install_error_handlers(app)
    v1 = APIRouter(prefix=f"/v{API_VERSION}", responses=ACCESS)
    for router in (interactions, cases, case_view_router, agents, queues, stats, access_router, live_router,
                   subscriptions_router, contacts_router, profiles_router, interaction_calls, calls_router,
                   me_router):
        v1.include_router(router)
    app.include_router(v1)
    app.router.routes.extend(console_routes(runtime))  # /console: the reference agent console
    return app


__all__ = ["create_api", "health", "route_not_found", "webhook_method_not_allowed", "API_VERSION"]
