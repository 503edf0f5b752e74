"""The agent API's operations as data: one :class:`Call` per request, built once per method
call of a client and sent (and, if the call may be sent twice, re-sent) as it is.

Request bodies are the API's own request models (:mod:`omnisdk.gateway.schemas`,
:mod:`omnisdk.gateway.access_schemas`), so an argument the schema refuses raises
:class:`pydantic.ValidationError` here, before anything is sent; answers are decoded into the
API's response models and the core's (:class:`omnisdk.model.Interaction`,
:class:`omnisdk.routing.model.Agent`, :class:`~omnisdk.routing.model.Queue`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import orjson
from pydantic import BaseModel, TypeAdapter

from omnisdk.access.principals import Role
from omnisdk.gateway.access_schemas import AuditPage, KeyCreated, KeyInfo, KeyRequest
from omnisdk.gateway.call_schemas import (
    CallAction,
    CallTransferRequest,
    DialRequest,
    SoftphoneToken,
    TokenRequest,
)
from omnisdk.gateway.case_schemas import CaseView, ResolutionRequest, ResolutionSent
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
    InteractionDetail,
    InteractionPage,
    OutboundRequest,
    PresenceRequest,
    QueueStatus,
    ReplyAccepted,
    ReplyRequest,
    Summary,
    TransferRequest,
)
from omnisdk.model import CaseState, Interaction, InteractionState
from omnisdk.routing.model import Agent, Presence, Queue

T = TypeVar("T")

PREFIX = "/v1"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request of the agent API and how to read its answer.

    Attributes:
        method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
        path: from the server's root, ids quoted (``/v1/interactions/…/accept``).
        decode: the answer's parsed JSON (None for an empty body) → the result.
        params: the query, in order (a key may repeat).
        body: the JSON body, encoded; every state change has one (``{}`` when empty, nothing
            for DELETE) and is sent as ``application/json``.
        headers: call-specific headers (``Idempotency-Key``).
        resendable: True when sending it twice does no more than once (a GET; a call with an
            idempotency key): only those are retried.
    """

    method: str
    path: str
    decode: Callable[[Any], T]
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resendable: bool = False

    @property
    def changes_state(self) -> bool:
        return self.method != "GET"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _model(cls: type[BaseModel]) -> Callable[[Any], Any]:
    return cls.model_validate


def _adapter(tp: Any) -> Callable[[Any], Any]:
    return TypeAdapter(tp).validate_python


def _none(_: Any) -> None:
    return None


_INTERACTION = _model(Interaction)
_QUEUES = _adapter(list[QueueStatus])
_STATS = _adapter(dict[str, int])
_KEYS = _adapter(list[KeyInfo])


def _params(**values: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        for one in (value if isinstance(value, list | tuple) else (value,)):
            if isinstance(one, bool):
                out.append((name, "true" if one else "false"))
            elif isinstance(one, datetime):
                out.append((name, one.isoformat()))
            else:
                out.append((name, str(getattr(one, "value", one))))
    return tuple(out)


def _get(path: str, decode: Callable[[Any], T], **params: Any) -> Call[T]:
    return Call("GET", PREFIX + path, decode, params=_params(**params), resendable=True)


def _send(method: str, path: str, decode: Callable[[Any], T], body: BaseModel | None = None,
          *, full: bool = False, headers: dict[str, str] | None = None, resendable: bool = False) -> Call[T]:
    if method == "DELETE":
        encoded = None
    elif body is None:
        encoded = b"{}"
    else:
        encoded = orjson.dumps(body.model_dump(mode="json", exclude_none=not full))
    return Call(method, PREFIX + path, decode, body=encoded, headers=headers or {}, resendable=resendable)


# --- interactions ----------------------------------------------------------------------------


def list_interactions(*, state: InteractionState | str | Iterable[InteractionState | str] | None = None,
                      agent: str | None = None, queue: str | None = None, channel: str | None = None,
                      active: bool | None = None, updated_since: datetime | str | None = None,
                      id_match: str | None = None, limit: int | None = None,
                      cursor: str | None = None) -> Call[InteractionPage]:
    states = [state] if isinstance(state, str) else (list(state) if state is not None else None)
    return _get("/interactions", _model(InteractionPage), active=active, state=states, agent=agent,
                queue=queue, channel=channel, updated_since=updated_since, id_match=id_match,
                limit=limit, cursor=cursor)


def get_interaction(interaction_id: str) -> Call[InteractionDetail]:
    return _get(f"/interactions/{_segment(interaction_id)}", _model(InteractionDetail))


def summary(interaction_id: str) -> Call[Summary]:
    return _get(f"/interactions/{_segment(interaction_id)}/summary", _model(Summary))


def start_outbound(*, agent: str, plugin: str, account: str, customer: str, text: str,
                   business: str | None = None, requester: str | None = None) -> Call[Interaction]:
    body = OutboundRequest(agent=agent, plugin=plugin, account=account, customer=customer, text=text,
                           business=business, requester=requester)
    return _send("POST", "/interactions", _INTERACTION, body)


def save_draft(*, agent: str, plugin: str, account: str, customer: str, text: str, subject: str | None = None,
               business: str | None = None, draft_id: str | None = None) -> Call[DraftSaved]:
    body = DraftRequest(agent=agent, plugin=plugin, account=account, customer=customer, text=text,
                        subject=subject, business=business, draft_id=draft_id)
    return _send("POST", "/interactions/drafts", _model(DraftSaved), body)


def send_draft(interaction_id: str, draft_id: str, *, agent: str) -> Call[Interaction]:
    return _send("POST", f"/interactions/{_segment(interaction_id)}/drafts/{_segment(draft_id)}/send",
                 _INTERACTION, DraftSendRequest(agent=agent))


def action(interaction_id: str, name: str, *, agent: str | None = None) -> Call[Interaction]:
    """accept, reject, hold, resume or wrap-up (``name`` as in the path)."""
    return _send("POST", f"/interactions/{_segment(interaction_id)}/{name}", _INTERACTION, AgentAction(agent=agent))


CALL_CONTROLS = ("answer", "hold", "resume", "hangup")
"""The call controls without a body beyond the acting agent (``…/call/<name>``)."""


def call_control(interaction_id: str, name: str, *, agent: str | None = None) -> Call[Interaction]:
    """A voice interaction's call control: answer, hold, resume or hangup."""
    if name not in CALL_CONTROLS:
        raise ValueError(f"call control must be one of {', '.join(CALL_CONTROLS)}")
    return _send("POST", f"/interactions/{_segment(interaction_id)}/call/{name}", _INTERACTION, CallAction(agent=agent))


def call_transfer(interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                  to_number: str | None = None, mode: str = "cold", agent: str | None = None) -> Call[Interaction]:
    body = CallTransferRequest(to_agent=to_agent, to_queue=to_queue, to_number=to_number, mode=mode,  # type: ignore[arg-type]
                               agent=agent)
    return _send("POST", f"/interactions/{_segment(interaction_id)}/call/transfer", _INTERACTION, body)


def dial(*, plugin: str, account: str, to: str, agent: str | None = None, from_: str | None = None) -> Call[Interaction]:
    body = DialRequest(plugin=plugin, account=account, to=to, agent=agent, **{"from": from_})
    return _send("POST", "/calls", _INTERACTION, body)


def softphone_token(agent_id: str, *, plugin: str, account: str) -> Call[SoftphoneToken]:
    return _send("POST", f"/agents/{_segment(agent_id)}/softphone-token", _model(SoftphoneToken),
                 TokenRequest(plugin=plugin, account=account))


def assign(interaction_id: str, *, agent: str) -> Call[Interaction]:
    return _send("POST", f"/interactions/{_segment(interaction_id)}/assign", _INTERACTION, AssignRequest(agent=agent))


def transfer(interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
             agent: str | None = None) -> Call[Interaction]:
    body = TransferRequest(to_agent=to_agent, to_queue=to_queue, agent=agent)
    return _send("POST", f"/interactions/{_segment(interaction_id)}/transfer", _INTERACTION, body)


def close(interaction_id: str, *, wrap_up_code: str | None = None, agent: str | None = None) -> Call[Interaction]:
    body = CloseRequest(wrap_up_code=wrap_up_code, agent=agent)
    return _send("POST", f"/interactions/{_segment(interaction_id)}/close", _INTERACTION, body)


def reply(interaction_id: str, text: str, *, agent: str | None = None,
          idempotency_key: str | None = None) -> Call[ReplyAccepted]:
    """A reply under ``idempotency_key``, or a fresh uuid4 made here, once: every attempt of
    this call sends the same key, so a retry never queues a second message."""
    key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
    return _send("POST", f"/interactions/{_segment(interaction_id)}/reply", _model(ReplyAccepted),
                 ReplyRequest(text=text, agent=agent), headers={"Idempotency-Key": key}, resendable=True)


def create_case(interaction_id: str, *, subject: str | None = None, agent: str | None = None) -> Call[CaseDetail]:
    return _send("POST", f"/interactions/{_segment(interaction_id)}/case", _model(CaseDetail),
                 CaseRequest(subject=subject, agent=agent))


def link_case(interaction_id: str, case: str) -> Call[CaseDetail]:
    return _send("POST", f"/interactions/{_segment(interaction_id)}/case-link", _model(CaseDetail),
                 CaseLinkRequest(case=case))


# --- cases, agents, queues, stats ---------------------------------------------------------------


def list_cases(*, limit: int | None = None, cursor: str | None = None) -> Call[CasePage]:
    return _get("/cases", _model(CasePage), limit=limit, cursor=cursor)


def get_case(case_id: str) -> Call[CaseView]:
    return _get(f"/cases/{_segment(case_id)}", _model(CaseView))


def send_case_resolution(case_id: str, text: str, *, to: str | None = None, plugin: str | None = None,
                         account: str | None = None, business: str | None = None,
                         agent: str | None = None) -> Call[ResolutionSent]:
    body = ResolutionRequest(text=text, to=to, plugin=plugin, account=account, business=business, agent=agent)
    return _send("POST", f"/cases/{_segment(case_id)}/resolution", _model(ResolutionSent), body)


def move_case(case_id: str, state: CaseState | str, *, agent: str | None = None,
              note: str | None = None) -> Call[CaseDetail]:
    body = CaseStateRequest(state=CaseState(state), agent=agent, note=note)
    return _send("POST", f"/cases/{_segment(case_id)}/state", _model(CaseDetail), body)


def list_agents(*, presence: Presence | str | None = None, queue: str | None = None, limit: int | None = None,
                cursor: str | None = None) -> Call[AgentPage]:
    return _get("/agents", _model(AgentPage), presence=presence, queue=queue, limit=limit, cursor=cursor)


def put_agent(agent: Agent) -> Call[AgentStatus]:
    return _send("PUT", f"/agents/{_segment(agent.id)}", _model(AgentStatus), agent, full=True)


def set_presence(agent_id: str, presence: Presence | str) -> Call[AgentStatus]:
    return _send("PUT", f"/agents/{_segment(agent_id)}/presence", _model(AgentStatus),
                 PresenceRequest(presence=Presence(presence)))


def list_queues() -> Call[list[QueueStatus]]:
    return _get("/queues", _QUEUES)


def put_queue(queue: Queue) -> Call[QueueStatus]:
    return _send("PUT", f"/queues/{_segment(queue.name)}", _model(QueueStatus), queue, full=True)


def stats() -> Call[dict[str, int]]:
    return _get("/stats", _STATS)


# --- keys and the audit log -----------------------------------------------------------------------


def list_keys() -> Call[list[KeyInfo]]:
    return _get("/keys", _KEYS)


def create_key(*, name: str, role: Role | str, agent: str | None = None, queues: list[str] | None = None,
               scopes: list[str] | None = None) -> Call[KeyCreated]:
    body = KeyRequest(name=name, role=Role(role), agent=agent, queues=queues, scopes=scopes)
    return _send("POST", "/keys", _model(KeyCreated), body)


def revoke_key(key_id: str) -> Call[None]:
    return _send("DELETE", f"/keys/{_segment(key_id)}", _none)


def audit(*, limit: int | None = None, cursor: str | None = None) -> Call[AuditPage]:
    return _get("/audit", _model(AuditPage), limit=limit, cursor=cursor)


__all__ = ["Call", "PREFIX"]
