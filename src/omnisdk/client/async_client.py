""":class:`AsyncAgentClient`: the agent API (``/v1``) from asyncio code, over
:class:`httpx.AsyncClient`.  The same methods, arguments, results and errors as
:class:`~omnisdk.client.sync_client.AgentClient` (their docstrings are copied from there), awaited;
``iter_*`` and :meth:`AsyncAgentClient.events` are async iterators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

import omnisdk.client.calls as calls
from omnisdk.access.principals import Role
from omnisdk.client.base import STREAM_READ_TIMEOUT, BaseAgentClient
from omnisdk.client.calls import Call
from omnisdk.client.errors import status_error
from omnisdk.client.live_events import LiveEvent
from omnisdk.client.retries import DEFAULT_RETRY, RetryPolicy, async_retrying
from omnisdk.client.sse import aiter_sse
from omnisdk.client.sync_client import AgentClient, States
from omnisdk.gateway.access_schemas import AuditEntry, AuditPage, KeyCreated, KeyInfo
from omnisdk.gateway.call_schemas import SoftphoneToken
from omnisdk.gateway.case_schemas import CaseView, ResolutionSent
from omnisdk.gateway.schemas import (
    AgentPage,
    AgentStatus,
    CaseDetail,
    CasePage,
    DraftSaved,
    InteractionDetail,
    InteractionPage,
    QueueStatus,
    ReplyAccepted,
    Summary,
)
from omnisdk.model import CaseState, CaseSummary, Interaction
from omnisdk.routing.model import Agent, Presence, Queue

T = TypeVar("T")


class AsyncAgentClient(BaseAgentClient):
    """An asyncio client of the agent API.

    Args:
        base_url, api_key, bearer_token, timeout, retry: as :class:`~omnisdk.client.AgentClient`.
        transport: an httpx async transport (tests: ``httpx.ASGITransport(app=…)``, ``MockTransport``).
        sleep: the coroutine that waits between attempts, in seconds (tests pass a fake one).

    Use it as an async context manager, or await :meth:`aclose`.
    """

    def __init__(self, base_url: str, api_key: str | None = None, bearer_token: str | None = None, *,
                 timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        super().__init__(base_url, api_key, bearer_token, timeout=timeout, retry=retry)
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, **self._client_args())

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    close_connections = aclose

    async def __aenter__(self) -> AsyncAgentClient:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    # --- sending -----------------------------------------------------------------------------

    async def _run(self, call: Call[T]) -> T:
        request = self._build(self._http, call)

        async def attempt() -> T:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                failure = self._transport_error(call, exc)
            else:
                return self._decode(call, response)
            raise failure  # out of the except block: the httpx error (its request's headers) stays behind

        loop = async_retrying(self.retry, resendable=call.resendable, sleep=self._sleep,
                              before_sleep=self._log_retry(call))
        return await loop(attempt)

    async def _pages(self, fetch: Callable[[str | None], Awaitable[Any]]) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            page = await fetch(cursor)
            for item in page.items:
                yield item
            cursor = page.next_cursor
            if not cursor:
                return

    # --- interactions --------------------------------------------------------------------------

    async def list_interactions(self, *, state: States = None, agent: str | None = None, queue: str | None = None,
                                channel: str | None = None, active: bool | None = None,
                                updated_since: datetime | str | None = None, id_match: str | None = None,
                                limit: int | None = None, cursor: str | None = None) -> InteractionPage:
        return await self._run(calls.list_interactions(
            state=state, agent=agent, queue=queue, channel=channel, active=active, updated_since=updated_since,
            id_match=id_match, limit=limit, cursor=cursor))

    def iter_interactions(self, *, state: States = None, agent: str | None = None, queue: str | None = None,
                          channel: str | None = None, active: bool | None = None,
                          updated_since: datetime | str | None = None,
                          limit: int | None = None) -> AsyncIterator[Interaction]:
        return self._pages(lambda cursor: self.list_interactions(
            state=state, agent=agent, queue=queue, channel=channel, active=active, updated_since=updated_since,
            limit=limit, cursor=cursor))

    async def get_interaction(self, interaction_id: str) -> InteractionDetail:
        return await self._run(calls.get_interaction(interaction_id))

    async def summary(self, interaction_id: str) -> Summary:
        return await self._run(calls.summary(interaction_id))

    async def start_outbound(self, *, agent: str, plugin: str, account: str, customer: str, text: str,
                             business: str | None = None, requester: str | None = None) -> Interaction:
        return await self._run(calls.start_outbound(agent=agent, plugin=plugin, account=account, customer=customer,
                                                    text=text, business=business, requester=requester))

    async def save_draft(self, *, agent: str, plugin: str, account: str, customer: str, text: str,
                         subject: str | None = None, business: str | None = None,
                         draft_id: str | None = None) -> DraftSaved:
        return await self._run(calls.save_draft(agent=agent, plugin=plugin, account=account, customer=customer,
                                                text=text, subject=subject, business=business, draft_id=draft_id))

    async def send_draft(self, interaction_id: str, draft_id: str, *, agent: str) -> Interaction:
        return await self._run(calls.send_draft(interaction_id, draft_id, agent=agent))

    async def accept(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        return await self._run(calls.action(interaction_id, "accept", agent=agent))

    async def reject(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        return await self._run(calls.action(interaction_id, "reject", agent=agent))

    async def call_control(self, interaction_id: str, name: str, *, agent: str | None = None) -> Interaction:
        """``POST …/call/<name>``: answer, hold, resume or hangup a voice interaction's call
        (409 for an illegal move or call step; 502 when the CTI refused the command)."""
        return await self._run(calls.call_control(interaction_id, name, agent=agent))

    async def call_transfer(self, interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                      to_number: str | None = None, mode: str = "cold", agent: str | None = None) -> Interaction:
        """``POST …/call/transfer``: cold or warm, to an agent, a queue or a number."""
        return await self._run(calls.call_transfer(interaction_id, to_agent=to_agent, to_queue=to_queue,
                                            to_number=to_number, mode=mode, agent=agent))

    async def dial(self, *, plugin: str, account: str, to: str, agent: str | None = None,
             from_: str | None = None) -> Interaction:
        """``POST /v1/calls``: click-to-dial, a new outbound voice interaction."""
        return await self._run(calls.dial(plugin=plugin, account=account, to=to, agent=agent, from_=from_))

    async def softphone_token(self, agent_id: str, *, plugin: str, account: str) -> SoftphoneToken:
        """``POST /v1/agents/{id}/softphone-token``: the agent's softphone access token."""
        return await self._run(calls.softphone_token(agent_id, plugin=plugin, account=account))

    async def hold(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        return await self._run(calls.action(interaction_id, "hold", agent=agent))

    async def resume(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        return await self._run(calls.action(interaction_id, "resume", agent=agent))

    async def wrap_up(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        return await self._run(calls.action(interaction_id, "wrap-up", agent=agent))

    async def close(self, interaction_id: str, *, wrap_up_code: str | None = None,
                    agent: str | None = None) -> Interaction:
        return await self._run(calls.close(interaction_id, wrap_up_code=wrap_up_code, agent=agent))

    async def transfer(self, interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                       agent: str | None = None) -> Interaction:
        return await self._run(calls.transfer(interaction_id, to_agent=to_agent, to_queue=to_queue, agent=agent))

    async def assign(self, interaction_id: str, agent: str) -> Interaction:
        return await self._run(calls.assign(interaction_id, agent=agent))

    async def reply(self, interaction_id: str, text: str, *, agent: str | None = None,
                    idempotency_key: str | None = None) -> ReplyAccepted:
        return await self._run(calls.reply(interaction_id, text, agent=agent, idempotency_key=idempotency_key))

    async def create_case(self, interaction_id: str, *, subject: str | None = None,
                          agent: str | None = None) -> CaseDetail:
        return await self._run(calls.create_case(interaction_id, subject=subject, agent=agent))

    async def link_case(self, interaction_id: str, case: str) -> CaseDetail:
        return await self._run(calls.link_case(interaction_id, case))

    # --- cases, agents, queues, stats ------------------------------------------------------------

    async def list_cases(self, *, limit: int | None = None, cursor: str | None = None) -> CasePage:
        return await self._run(calls.list_cases(limit=limit, cursor=cursor))

    def iter_cases(self, *, limit: int | None = None) -> AsyncIterator[CaseSummary]:
        return self._pages(lambda cursor: self.list_cases(limit=limit, cursor=cursor))

    async def get_case(self, case_id: str) -> CaseView:
        return await self._run(calls.get_case(case_id))

    async def send_case_resolution(self, case_id: str, text: str, *, to: str | None = None,
                                   plugin: str | None = None, account: str | None = None,
                                   business: str | None = None, agent: str | None = None) -> ResolutionSent:
        return await self._run(calls.send_case_resolution(case_id, text, to=to, plugin=plugin, account=account,
                                                          business=business, agent=agent))

    async def move_case(self, case_id: str, state: CaseState | str, *, agent: str | None = None,
                        note: str | None = None) -> CaseDetail:
        return await self._run(calls.move_case(case_id, state, agent=agent, note=note))

    async def list_agents(self, *, presence: Presence | str | None = None, queue: str | None = None,
                          limit: int | None = None, cursor: str | None = None) -> AgentPage:
        return await self._run(calls.list_agents(presence=presence, queue=queue, limit=limit, cursor=cursor))

    def iter_agents(self, *, presence: Presence | str | None = None, queue: str | None = None,
                    limit: int | None = None) -> AsyncIterator[AgentStatus]:
        return self._pages(lambda cursor: self.list_agents(presence=presence, queue=queue, limit=limit,
                                                           cursor=cursor))

    async def put_agent(self, agent: Agent) -> AgentStatus:
        return await self._run(calls.put_agent(agent))

    async def set_presence(self, agent_id: str, presence: Presence | str) -> AgentStatus:
        return await self._run(calls.set_presence(agent_id, presence))

    async def list_queues(self) -> list[QueueStatus]:
        return await self._run(calls.list_queues())

    async def put_queue(self, queue: Queue) -> QueueStatus:
        return await self._run(calls.put_queue(queue))

    async def stats(self) -> dict[str, int]:
        return await self._run(calls.stats())

    # --- keys and the audit log (admin) -------------------------------------------------------------

    async def list_keys(self) -> list[KeyInfo]:
        return await self._run(calls.list_keys())

    async def create_key(self, *, name: str, role: Role | str, agent: str | None = None,
                         queues: list[str] | None = None, scopes: list[str] | None = None) -> KeyCreated:
        return await self._run(calls.create_key(name=name, role=role, agent=agent, queues=queues, scopes=scopes))

    async def revoke_key(self, key_id: str) -> None:
        return await self._run(calls.revoke_key(key_id))

    async def audit(self, *, limit: int | None = None, cursor: str | None = None) -> AuditPage:
        return await self._run(calls.audit(limit=limit, cursor=cursor))

    def iter_audit(self, *, limit: int | None = None) -> AsyncIterator[AuditEntry]:
        return self._pages(lambda cursor: self.audit(limit=limit, cursor=cursor))

    # --- live updates -------------------------------------------------------------------------------

    async def events(self, last_event_id: str | None = None, *, queue: str | None = None,
                     read_timeout: float | None = STREAM_READ_TIMEOUT) -> AsyncIterator[LiveEvent]:
        """``GET /v1/events``: the live stream, as typed events (:mod:`omnisdk.client.live_events`),
        until the server ends it (after a ``Reset``) or the caller stops iterating.

        Args:
            last_event_id: resume after this event (the ``id`` of the last one received).
            queue: only this queue's events.
            read_timeout: seconds without a byte (the server pings every 15 s) before the stream
                counts as lost; None waits for ever.

        The stream is not retried nor resumed by itself: on :class:`APIConnectionError`, call
        again with the last ``id`` seen.  Close the generator (``async with
        contextlib.aclosing(client.events()) as events: …``) to drop the connection early.

        Raises:
            BadRequestError: a ``last_event_id`` this stream did not give out.
        """
        request = self._stream_request(self._http, last_event_id, queue, read_timeout)
        failure = None
        try:
            response = await self._http.send(request, stream=True)
            try:
                if not response.is_success:
                    await response.aread()
                    raise status_error("GET", "/v1/events", response)
                async for sse in aiter_sse(response.aiter_lines()):
                    yield self._live_event(sse)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            failure = self._transport_error(None, exc)
        if failure is not None:
            raise failure  # out of the except block: the httpx error stays behind


def _copy_docstrings() -> None:
    for name, member in vars(AsyncAgentClient).items():
        twin = getattr(AgentClient, name, None)
        if callable(member) and not getattr(member, "__doc__", None) and twin is not None and twin.__doc__:
            member.__doc__ = twin.__doc__


_copy_docstrings()

__all__ = ["AsyncAgentClient"]
