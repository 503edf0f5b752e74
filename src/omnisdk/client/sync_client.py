""":class:`AgentClient`: the agent API (``/v1``) from synchronous code, over :class:`httpx.Client`.

Every method raises, besides what its docstring names:

- :class:`~omnisdk.outbound.errors.AuthenticationError` (401) without valid credentials,
  :class:`~omnisdk.outbound.errors.PermissionDeniedError` (403) outside the caller's role or reach,
  :class:`~omnisdk.outbound.errors.RateLimitError` (429), :class:`~omnisdk.outbound.errors.InternalServerError` (5xx),
  any other :class:`~omnisdk.outbound.errors.APIStatusError` (``status``, ``reason``, ``detail``);
- :class:`~omnisdk.outbound.errors.APIConnectionError` / :class:`~omnisdk.outbound.errors.APITimeoutError`
  when no answer came;
- :class:`~omnisdk.client.errors.APIResponseValidationError` for an answer the schema does not describe;
- :class:`pydantic.ValidationError` for arguments the request schema refuses (nothing is sent).

GETs and ``reply`` are retried on connection errors, 429 and 5xx (:mod:`omnisdk.client.retries`);
nothing else is ever sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
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
from omnisdk.client.retries import DEFAULT_RETRY, RetryPolicy, retrying
from omnisdk.client.sse import iter_sse
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
from omnisdk.model import CaseState, CaseSummary, Interaction, InteractionState
from omnisdk.routing.model import Agent, Presence, Queue

T = TypeVar("T")
States = InteractionState | str | Iterable[InteractionState | str] | None


class AgentClient(BaseAgentClient):
    """A synchronous client of the agent API.

    Args:
        base_url: the gateway's root (``http://127.0.0.1:8080``); paths start with ``/v1``.
        api_key: an API key (``omk_…``), sent as ``X-API-Key``; or
        bearer_token: an OIDC access token, sent as ``Authorization: Bearer``.  Neither appears
            in the client's repr, in a log line or in an error.
        timeout: seconds for connecting, reading, writing and waiting for a pooled connection.
        transport: an httpx transport (tests: ``httpx.MockTransport``, a WSGI one …).
        retry: attempts in all and back-off (:data:`omnisdk.client.retries.DEFAULT_RETRY`: 3).
        sleep: waits between attempts, in seconds (tests pass a fake one).

    Use it as a context manager, or call :meth:`close_connections` (:meth:`close` is the
    API's: it closes an interaction).
    """

    def __init__(self, base_url: str, api_key: str | None = None, bearer_token: str | None = None, *,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(base_url, api_key, bearer_token, timeout=timeout, retry=retry)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, **self._client_args())

    def close_connections(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close_connections()

    # --- sending -----------------------------------------------------------------------------

    def _run(self, call: Call[T]) -> T:
        request = self._build(self._http, call)

        def attempt() -> T:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                failure = self._transport_error(call, exc)
            else:
                return self._decode(call, response)
            raise failure  # out of the except block: the httpx error (its request's headers) stays behind

        loop = retrying(self.retry, resendable=call.resendable, sleep=self._sleep,
                        before_sleep=self._log_retry(call))
        return loop(attempt)

    def _pages(self, first: Callable[[str | None], Any]) -> Iterator[Any]:
        cursor: str | None = None
        while True:
            page = first(cursor)
            yield from page.items
            cursor = page.next_cursor
            if not cursor:
                return

    # --- interactions --------------------------------------------------------------------------

    def list_interactions(self, *, state: States = None, agent: str | None = None, queue: str | None = None,
                          channel: str | None = None, active: bool | None = None,
                          updated_since: datetime | str | None = None, id_match: str | None = None,
                          limit: int | None = None, cursor: str | None = None) -> InteractionPage:
        """``GET /v1/interactions``: one page of interactions, newest first.

        Args:
            state: only these states (one or several).
            agent, queue, channel: only those held by this agent, in this queue, on this channel.
            active: True only active ones, False only closed ones, None all.
            updated_since: only those updated at or after this instant (naive: UTC).
            id_match: only those whose id starts or ends with this (no other filter applies).
            limit: page size, 1–500 (server default 50).
            cursor: the previous page's ``next_cursor`` (same filters).

        Returns:
            ``items`` (:class:`~omnisdk.model.Interaction`) and ``next_cursor`` (None on the last page).

        Raises:
            BadRequestError: a cursor the server did not give out.
            UnprocessableEntityError: a limit out of range, an unknown state.
        """
        return self._run(calls.list_interactions(state=state, agent=agent, queue=queue, channel=channel,
                                                 active=active, updated_since=updated_since, id_match=id_match,
                                                 limit=limit, cursor=cursor))

    def iter_interactions(self, *, state: States = None, agent: str | None = None, queue: str | None = None,
                          channel: str | None = None, active: bool | None = None,
                          updated_since: datetime | str | None = None, limit: int | None = None) -> Iterator[Interaction]:
        """Every interaction :meth:`list_interactions` lists with these filters, newest first,
        fetching page after page (``limit`` each) as the iteration goes."""
        return self._pages(lambda cursor: self.list_interactions(
            state=state, agent=agent, queue=queue, channel=channel, active=active, updated_since=updated_since,
            limit=limit, cursor=cursor))

    def get_interaction(self, interaction_id: str) -> InteractionDetail:
        """``GET /v1/interactions/{id}``: the interaction, its ``history`` (every transition,
        oldest first), its ``messages`` and ``customer_opted_out``.

        Raises:
            NotFoundError: no such interaction.
        """
        return self._run(calls.get_interaction(interaction_id))

    def summary(self, interaction_id: str) -> Summary:
        """``GET /v1/interactions/{id}/summary``: a plain-text summary of the thread.

        Raises:
            NotFoundError: no such interaction.
        """
        return self._run(calls.summary(interaction_id))

    def start_outbound(self, *, agent: str, plugin: str, account: str, customer: str, text: str,
                       business: str | None = None, requester: str | None = None) -> Interaction:
        """``POST /v1/interactions``: an outbound interaction in work_in_progress with ``agent``;
        ``text`` is queued for sending to ``customer`` (their address on the channel).  On sms
        (docs/sms.md), ``business`` is the provider number sent from and ``requester`` the
        directory user written to; the agent's own active interaction with the customer on that
        number takes the text instead (it is returned).

        Raises:
            NotFoundError: no such agent, or no such account of the plugin.
            ConflictError: the agent has no free capacity (``no_capacity``); another agent holds
                the customer's sms conversation (``held_by_another_agent``).
            BadRequestError: e.g. no business address for an account without one.
        """
        return self._run(calls.start_outbound(agent=agent, plugin=plugin, account=account, customer=customer,
                                              text=text, business=business, requester=requester))

    def save_draft(self, *, agent: str, plugin: str, account: str, customer: str, text: str,
                   subject: str | None = None, business: str | None = None,
                   draft_id: str | None = None) -> DraftSaved:
        """``POST /v1/interactions/drafts``: keep a draft (nothing is sent); the answer holds the
        drafting ``interaction`` and the ``draft_id`` (pass it back to rewrite the draft).

        Raises:
            NotFoundError: no such agent or account.
        """
        return self._run(calls.save_draft(agent=agent, plugin=plugin, account=account, customer=customer, text=text,
                                          subject=subject, business=business, draft_id=draft_id))

    def send_draft(self, interaction_id: str, draft_id: str, *, agent: str) -> Interaction:
        """``POST /v1/interactions/{id}/drafts/{draft_id}/send``: the interaction goes to ``agent``
        (work_in_progress) and the draft's text is queued.

        Raises:
            NotFoundError: no such interaction, draft or agent.
            ConflictError: no free capacity, or not a draft any more.
        """
        return self._run(calls.send_draft(interaction_id, draft_id, agent=agent))

    def accept(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        """``POST …/accept``: offered → work_in_progress.  With ``agent``, refused (409) unless
        they are the offered agent.

        Raises:
            NotFoundError: no such interaction.
            ConflictError: not offered (to that agent).
        """
        return self._run(calls.action(interaction_id, "accept", agent=agent))

    def reject(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        """``POST …/reject``: back to the queue and offered to someone else (the answer shows where).

        Raises:
            NotFoundError, ConflictError: as :meth:`accept`.
        """
        return self._run(calls.action(interaction_id, "reject", agent=agent))

    def call_control(self, interaction_id: str, name: str, *, agent: str | None = None) -> Interaction:
        """``POST …/call/<name>``: answer, hold, resume or hangup a voice interaction's call
        (409 for an illegal move or call step; 502 when the CTI refused the command)."""
        return self._run(calls.call_control(interaction_id, name, agent=agent))

    def call_transfer(self, interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                      to_number: str | None = None, mode: str = "cold", agent: str | None = None) -> Interaction:
        """``POST …/call/transfer``: cold or warm, to an agent, a queue or a number."""
        return self._run(calls.call_transfer(interaction_id, to_agent=to_agent, to_queue=to_queue,
                                            to_number=to_number, mode=mode, agent=agent))

    def dial(self, *, plugin: str, account: str, to: str, agent: str | None = None,
             from_: str | None = None) -> Interaction:
        """``POST /v1/calls``: click-to-dial, a new outbound voice interaction."""
        return self._run(calls.dial(plugin=plugin, account=account, to=to, agent=agent, from_=from_))

    def softphone_token(self, agent_id: str, *, plugin: str, account: str) -> SoftphoneToken:
        """``POST /v1/agents/{id}/softphone-token``: the agent's softphone access token."""
        return self._run(calls.softphone_token(agent_id, plugin=plugin, account=account))

    def hold(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        """``POST …/hold``: work_in_progress → on_hold (capacity released, ownership kept).

        Raises:
            NotFoundError, ConflictError: as :meth:`accept`.
        """
        return self._run(calls.action(interaction_id, "hold", agent=agent))

    def resume(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        """``POST …/resume``: on_hold → work_in_progress with the owner.

        Raises:
            NotFoundError: no such interaction.
            ConflictError: not on hold, or the owner has no free capacity (``no_capacity``).
        """
        return self._run(calls.action(interaction_id, "resume", agent=agent))

    def wrap_up(self, interaction_id: str, *, agent: str | None = None) -> Interaction:
        """``POST …/wrap-up``: into wrap_up (the default wrap-up code applies if not closed in time).

        Raises:
            NotFoundError, ConflictError: as :meth:`accept`.
        """
        return self._run(calls.action(interaction_id, "wrap-up", agent=agent))

    def close(self, interaction_id: str, *, wrap_up_code: str | None = None,
              agent: str | None = None) -> Interaction:
        """``POST …/close``: closed with ``wrap_up_code`` (None: the configured default).

        Raises:
            NotFoundError: no such interaction.
            ConflictError: already closed, or not held by ``agent``.
            BadRequestError: a wrap-up code that is not configured.
        """
        return self._run(calls.close(interaction_id, wrap_up_code=wrap_up_code, agent=agent))

    def transfer(self, interaction_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
                 agent: str | None = None) -> Interaction:
        """``POST …/transfer``: to an agent (offered to them) or a queue (routed there); give
        exactly one of ``to_agent`` and ``to_queue``.

        Raises:
            NotFoundError: no such interaction, agent or queue.
            ConflictError: not held by ``agent``, or the target has no free capacity.
            pydantic.ValidationError: both or neither target.
        """
        return self._run(calls.transfer(interaction_id, to_agent=to_agent, to_queue=to_queue, agent=agent))

    def assign(self, interaction_id: str, agent: str) -> Interaction:
        """``POST …/assign``: offer queued work to ``agent`` (supervisors, CCaaS connectors).

        Raises:
            NotFoundError: no such interaction or agent.
            ConflictError: not queued, or the agent has no free capacity.
        """
        return self._run(calls.assign(interaction_id, agent=agent))

    def reply(self, interaction_id: str, text: str, *, agent: str | None = None,
              idempotency_key: str | None = None) -> ReplyAccepted:
        """``POST …/reply`` (202): queue a text reply to the customer.

        Args:
            idempotency_key: sent as ``Idempotency-Key``; None: a uuid4 made once for this call
                and sent unchanged on each of its retries (so a retry queues nothing more).

        Returns:
            the ``idempotency_key`` the send is made under.

        Raises:
            NotFoundError: no such interaction.
            ConflictError: not accepted work, the customer opted out, or
                ``idempotency_conflict``: the key was used on this interaction for another text.
        """
        return self._run(calls.reply(interaction_id, text, agent=agent, idempotency_key=idempotency_key))

    def create_case(self, interaction_id: str, *, subject: str | None = None, agent: str | None = None) -> CaseDetail:
        """``POST …/case`` (201): open a case from the interaction (which closes, "Task created").

        Raises:
            NotFoundError: no such interaction.
            ConflictError: not held (by ``agent``).
        """
        return self._run(calls.create_case(interaction_id, subject=subject, agent=agent))

    def link_case(self, interaction_id: str, case: str) -> CaseDetail:
        """``POST …/case-link``: link the interaction to a case (its id or number, ``CS0000001``).

        Raises:
            NotFoundError: no such interaction or case.
        """
        return self._run(calls.link_case(interaction_id, case))

    # --- cases, agents, queues, stats ------------------------------------------------------------

    def list_cases(self, *, limit: int | None = None, cursor: str | None = None) -> CasePage:
        """``GET /v1/cases``: one page of cases, newest (highest number) first.

        Raises:
            BadRequestError: a cursor the server did not give out.
        """
        return self._run(calls.list_cases(limit=limit, cursor=cursor))

    def iter_cases(self, *, limit: int | None = None) -> Iterator[CaseSummary]:
        """Every case, newest first, page after page."""
        return self._pages(lambda cursor: self.list_cases(limit=limit, cursor=cursor))

    def get_case(self, case_id: str) -> CaseView:
        """``GET /v1/cases/{id}`` (id or number): the case, its history and every linked
        interaction (id, channel, state), with the messages of those the caller may read.

        Raises:
            NotFoundError: no such case, or one the caller may not see.
        """
        return self._run(calls.get_case(case_id))

    def send_case_resolution(self, case_id: str, text: str, *, to: str | None = None, plugin: str | None = None,
                             account: str | None = None, business: str | None = None,
                             agent: str | None = None) -> ResolutionSent:
        """``POST /v1/cases/{id}/resolution`` (202): mail the resolution ``text`` to ``to`` (None:
        the address the case knows) through the email account (None: the only one); the case
        moves to solution_proposed and the customer may reply ACCEPT or use the links.

        Raises:
            NotFoundError: no such case (or not the caller's), agent or account.
            BadRequestError: not an email address, none known, no agent, several accounts.
            ConflictError: the case's state allows no proposed solution; no free capacity.
        """
        return self._run(calls.send_case_resolution(case_id, text, to=to, plugin=plugin, account=account,
                                                    business=business, agent=agent))

    def move_case(self, case_id: str, state: CaseState | str, *, agent: str | None = None,
                  note: str | None = None) -> CaseDetail:
        """``POST /v1/cases/{id}/state``: move the case (new → in_progress → solution_proposed →
        resolved → closed); ``note`` (≤ 2000 characters) is sent to the customer.

        Raises:
            NotFoundError: no such case or agent.
            ConflictError: a move its state does not allow.
        """
        return self._run(calls.move_case(case_id, state, agent=agent, note=note))

    def list_agents(self, *, presence: Presence | str | None = None, queue: str | None = None,
                    limit: int | None = None, cursor: str | None = None) -> AgentPage:
        """``GET /v1/agents``: one page of agents by id, with presence, capacity, ``load`` and
        ``free_capacity`` per channel."""
        return self._run(calls.list_agents(presence=presence, queue=queue, limit=limit, cursor=cursor))

    def iter_agents(self, *, presence: Presence | str | None = None, queue: str | None = None,
                    limit: int | None = None) -> Iterator[AgentStatus]:
        """Every agent :meth:`list_agents` lists with these filters, page after page."""
        return self._pages(lambda cursor: self.list_agents(presence=presence, queue=queue, limit=limit, cursor=cursor))

    def put_agent(self, agent: Agent) -> AgentStatus:
        """``PUT /v1/agents/{id}`` (admin): add or replace the agent; waiting work is offered at
        once if they are available."""
        return self._run(calls.put_agent(agent))

    def set_presence(self, agent_id: str, presence: Presence | str) -> AgentStatus:
        """``PUT /v1/agents/{id}/presence``: available, away or offline (available drains the backlog).

        Raises:
            NotFoundError: no such agent.
        """
        return self._run(calls.set_presence(agent_id, presence))

    def list_queues(self) -> list[QueueStatus]:
        """``GET /v1/queues``: the queues the caller sees, with ``waiting`` counts."""
        return self._run(calls.list_queues())

    def put_queue(self, queue: Queue) -> QueueStatus:
        """``PUT /v1/queues/{name}`` (admin): add or replace the queue; waiting work is re-examined."""
        return self._run(calls.put_queue(queue))

    def stats(self) -> dict[str, int]:
        """``GET /v1/stats`` (supervisor, admin): the runtime's counters by name."""
        return self._run(calls.stats())

    # --- keys and the audit log (admin) -------------------------------------------------------------

    def list_keys(self) -> list[KeyInfo]:
        """``GET /v1/keys``: every API key, oldest first, revoked ones included (never a secret)."""
        return self._run(calls.list_keys())

    def create_key(self, *, name: str, role: Role | str, agent: str | None = None, queues: list[str] | None = None,
                   scopes: list[str] | None = None) -> KeyCreated:
        """``POST /v1/keys`` (201): a new key; ``.key`` holds it this once (store it as a secret).

        Raises:
            BadRequestError: e.g. an agent key without ``agent``, a scope its role lacks.
        """
        return self._run(calls.create_key(name=name, role=role, agent=agent, queues=queues, scopes=scopes))

    def revoke_key(self, key_id: str) -> None:
        """``DELETE /v1/keys/{id}`` (204): the key authenticates no more.

        Raises:
            NotFoundError: no such key, or already revoked.
        """
        return self._run(calls.revoke_key(key_id))

    def audit(self, *, limit: int | None = None, cursor: str | None = None) -> AuditPage:
        """``GET /v1/audit``: one page of the audit log, newest first."""
        return self._run(calls.audit(limit=limit, cursor=cursor))

    def iter_audit(self, *, limit: int | None = None) -> Iterator[AuditEntry]:
        """Every audit entry, newest first, page after page."""
        return self._pages(lambda cursor: self.audit(limit=limit, cursor=cursor))

    # --- live updates -------------------------------------------------------------------------------

    def events(self, last_event_id: str | None = None, *, queue: str | None = None,
               read_timeout: float | None = STREAM_READ_TIMEOUT) -> Iterator[LiveEvent]:
        """``GET /v1/events``: the live stream, as typed events (:mod:`omnisdk.client.live_events`),
        until the server ends it (after a ``Reset``) or the caller stops iterating.

        Args:
            last_event_id: resume after this event (the ``id`` of the last one received).
            queue: only this queue's events.
            read_timeout: seconds without a byte (the server pings every 15 s) before the stream
                counts as lost; None waits for ever.

        The stream is not retried nor resumed by itself: on :class:`APIConnectionError`, call
        again with the last ``id`` seen.  Close the generator (``with contextlib.closing(…)``)
        to drop the connection early.

        Raises:
            BadRequestError: a ``last_event_id`` this stream did not give out.
        """
        request = self._stream_request(self._http, last_event_id, queue, read_timeout)
        failure = None
        try:
            response = self._http.send(request, stream=True)
            try:
                if not response.is_success:
                    response.read()
                    raise status_error("GET", "/v1/events", response)
                for sse in iter_sse(response.iter_lines()):
                    yield self._live_event(sse)
            finally:
                response.close()
        except httpx.TransportError as exc:
            failure = self._transport_error(None, exc)
        if failure is not None:
            raise failure  # out of the except block: the httpx error stays behind

__all__ = ["AgentClient"]
