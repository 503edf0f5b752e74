"""The demo's email story: one customer's mail thread, outcome by outcome, over HTTP.

When an installed plugin speaks the ``email`` channel and ships the threading recordings
(``thread_new_question``, ``thread_reply_by_headers``, ``thread_reply_subject_token``,
``thread_auto_reply``, ``thread_bounce_of_reply``), :func:`mail_story` plays them on the account
``story`` (a fresh account, so the replay's copies of the same mails are not redeliveries),
signed and POSTed to the gateway like any webhook, and checks what the core made of each:

1. a new question opens an interaction (rule ``new``);
2. the agent replies; the customer's reply names our reply in ``In-Reply-To`` (rule
   ``in_reply_to``, the same interaction);
3. a reply with only our interaction token in the subject (rule ``subject_token``);
4. an auto-reply to our mail opens nothing and is answered by nothing;
5. a bounce of our reply marks it ``failed``;
6. the agent opens a case; a mail with its ``[Case:…]`` token updates it;
7. the agent proposes a solution; ``ACCEPT`` on a reply's first line resolves the case.

The recordings are real mail with the ids of a conversation that did not happen here, so each
is adapted where the story needs it, and only there: our reply's Message-ID in ``In-Reply-To``
and in the bounce, our tokens in the subject, and ``ACCEPT`` as the first line of step 7.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from omnisdk.adapters import ChannelAdapter
from omnisdk.model import Case
from omnisdk.model.subjects import case_token, interaction_token

ACCOUNT = "story"
NEEDED = ("thread_new_question", "thread_reply_by_headers", "thread_reply_subject_token", "thread_auto_reply",
          "thread_bounce_of_reply")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One step: what should happen, what did."""

    step: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        return self.expected == self.got


def _sub(body: bytes, pattern: bytes, new: bytes) -> bytes:
    changed, n = re.subn(pattern, new, body, count=1, flags=re.IGNORECASE | re.MULTILINE)
    if not n:
        raise ValueError(f"the recording has no {pattern!r}")
    return changed


def _with_id(body: bytes, mid: str) -> bytes:
    return _sub(body, rb"^Message-ID:[^\r\n]*", f"Message-ID: <{mid}>".encode())


async def _case(runtime: Any, case_id: str) -> Case:
    """The case as stored now.

    Raises:
        RuntimeError: the store has no such case (the story made it: it should).
    """
    case = await runtime.store.transact(lambda tx: tx.get_case(case_id))
    if case is None:
        raise RuntimeError(f"the story's case {case_id} is gone")
    return case


async def mail_story(runtime: Any, client: httpx.AsyncClient, url: str, adapter: ChannelAdapter,
                     recs: dict[str, bytes],
                     expect: Callable[[ChannelAdapter, str, bytes, dict[str, str]], None]) -> list[Outcome]:
    """Play the story (module docstring) and return each step's outcome; ``expect`` is told
    every request first (the demo's tally of what the gateway should count)."""
    source = adapter.source

    async def post(body: bytes) -> None:
        headers = {"content-type": "message/rfc822", **adapter.sign(url, body, "message/rfc822")}
        expect(adapter, url, body, headers)
        resp = await client.post(url, content=body, headers=headers)
        resp.raise_for_status()
        await runtime.processor.drain()

    async def decision(mid: str) -> tuple[str | None, str | None]:
        def read(tx: Any) -> tuple[str | None, str | None]:
            links = tx.interactions_for_message_ids(source, [mid])
            if not links:
                return None, None
            for row in tx.messages_of(links[0].interaction_id):
                if row.message_id == mid:
                    return links[0].interaction_id, ((row.body or {}).get("threading") or {}).get("rule")
            return links[0].interaction_id, None
        return await runtime.store.transact(read)

    out: list[Outcome] = []
    await post(_with_id(recs["thread_new_question"], "story-1@mail.customer.example"))
    first, rule = await decision("story-1@mail.customer.example")
    out.append(Outcome("a new question", "new", str(rule)))
    inter = (await runtime.interaction(first))[0]
    if inter.state.value == "offered":
        inter = await runtime.accept(inter.id, inter.agent)
    elif inter.state.value == "queued":
        inter = await runtime.assign(inter.id, "alice")
        inter = await runtime.accept(inter.id, "alice")
    key = await runtime.reply(inter.id, "Sorry about the damage: a replacement is on its way.", agent=inter.agent)
    ours = await runtime.store.transact(lambda tx: tx.c.execute(
        "SELECT payload FROM outbox WHERE idempotency_key LIKE ?", (f"%{key}",)).fetchone())
    our_id = orjson.loads(ours[0])["email"]["message_id"]

    reply = _with_id(recs["thread_reply_by_headers"], "story-2@mail.customer.example")
    await post(_sub(reply, rb"^In-Reply-To:[^\r\n]*", f"In-Reply-To: <{our_id}>".encode()))
    got, rule = await decision("story-2@mail.customer.example")
    out.append(Outcome("a reply by its headers", f"in_reply_to, {first[-12:]}", f"{rule}, {(got or '')[-12:]}"))

    token = _with_id(recs["thread_reply_subject_token"], "story-3@mail.customer.example")
    await post(_sub(token, rb"\[Case:CS\d+\]", interaction_token(first).encode()))
    got, rule = await decision("story-3@mail.customer.example")
    out.append(Outcome("a reply by our subject token only", f"subject_token, {first[-12:]}",
                       f"{rule}, {(got or '')[-12:]}"))

    before = len([i for i in await runtime.interactions() if i.source == source])
    auto = _with_id(recs["thread_auto_reply"], "story-4@mail.customer.example")
    await post(auto)
    after = len([i for i in await runtime.interactions() if i.source == source])
    out.append(Outcome("an auto-reply", "opens nothing", "opens nothing" if after == before else f"{after - before} opened"))

    bounce = _sub(recs["thread_bounce_of_reply"], rb"<out-3@support\.example\.com>", f"<{our_id}>".encode())
    await runtime.outbox.run_once()  # our reply leaves, and bounces
    await post(_with_id(bounce, "story-5@mx.example.com"))
    status = await runtime.store.transact(lambda tx: tx.message_status(source, our_id))
    out.append(Outcome("a bounce of our reply", "failed", str(status)))

    case = await runtime.create_case(first, "Order 4711 arrived damaged")
    update = _with_id(recs["thread_reply_subject_token"], "story-6@mail.customer.example")
    await post(_sub(update, rb"\[Case:CS\d+\]", case_token(case.number).encode()))
    case = await _case(runtime, case.id)
    counted = [u for u in case.updates or () if u.counted]
    out.append(Outcome(f"a [Case:{case.number}] update", "1 counted update", f"{len(counted)} counted update"))

    await runtime.move_case(case.id, "in_progress", agent="alice")
    await runtime.move_case(case.id, "solution_proposed", agent="alice", note="A replacement ships today.")
    accept = _with_id(recs["thread_reply_subject_token"], "story-7@mail.customer.example")
    accept = _sub(accept, rb"\[Case:CS\d+\]", case_token(case.number).encode())
    accept = _sub(accept, rb"\r?\n\r?\nThe replacement", b"\n\nACCEPT\n\nThe replacement")
    await post(accept)
    case = await _case(runtime, case.id)
    out.append(Outcome("ACCEPT on the first line", "resolved", case.state.value))
    return out
