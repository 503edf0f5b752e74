"""The in-memory hub of one gateway process: each session's mailbox of frames for the visitor.

Agents' messages arrive through the delivery API (the outbox's sends), visitors' own messages
are echoed once committed, typing indicators are relayed; every frame gets the session's next
sequence number.  A socket or a long-poll reads the frames after the last number it saw, so a
visitor reconnecting with ``after=<seq>`` gets everything after it.

**An agent's message is never dropped.**  It stays in its mailbox until the visitor
acknowledges it: by a ``delivered`` or ``read`` receipt naming it, or by reconnecting (``hello``)
or polling with an ``after`` at or past its number.  Only acknowledged agent messages, echoes and
typing indicators are trimmed (beyond ``keep`` frames per session), and a mailbox holding an
unacknowledged agent message or an open socket is never forgotten to make room (``max_sessions``
sessions otherwise, the least recently used forgotten first).  A session with ``max_pending``
unacknowledged agent messages refuses the next (:class:`MailboxFull`: the delivery API answers
503, and the outbox, whose row is in the store, retries it later), so memory stays bounded
without losing one.

Sequence numbers increase per session; a new mailbox starts from the hub's clock in
microseconds, so the numbers a visitor saw before its mailbox was forgotten (or before the
process restarted) are all below the new ones: reconnecting with an old ``after`` misses
nothing delivered since.

The hub is memory, not a store: the transcript itself is in the omnisdk store (messages of the
interaction).  A gateway restart empties it; the visitor then sees messages delivered after
the restart.  One hub serves the sockets of one process, so the delivery API must reach the
process that holds the visitors' sockets (``api_base_url``; one ingress process, or sticky
routing by account in front of several).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from omnisdk_webchat import protocol


class MailboxFull(Exception):
    """A session already holds ``max_pending`` unacknowledged agent messages, or the hub holds
    ``max_sessions`` mailboxes none of which may be forgotten (the delivery API answers 503)."""


class Mailbox:
    """Frames for one session, numbered upwards from ``start`` + 1.

    Attributes:
        seq: the number of the last frame pushed.
        acked: the highest number the visitor said it has (``after`` of ``hello`` or a poll).
        unacked: agent message id → its number, for agent messages not yet acknowledged.
    """

    __slots__ = ("acked", "changed", "frames", "keep", "seq", "sockets", "typing_until", "unacked")

    def __init__(self, keep: int, start: int = 0) -> None:
        self.seq = self.acked = start
        self.keep = keep
        self.frames: deque[dict[str, Any]] = deque()
        self.unacked: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.sockets = 0
        self.typing_until = 0.0

    def push(self, frame: dict[str, Any], *, agent_message: bool = False) -> int:
        self.seq += 1
        self.frames.append({**frame, "seq": self.seq})
        if agent_message:
            self.unacked[frame["id"]] = self.seq
        self._trim()
        self.changed.set()
        self.changed = asyncio.Event()
        return self.seq

    def after(self, seq: int) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["seq"] > seq]

    def ack(self, seq: int) -> None:
        """The visitor has every frame up to ``seq`` (a number above :attr:`seq` is not ours:
        ignored)."""
        if self.acked < seq <= self.seq:
            self.acked = seq
            self.unacked = {mid: n for mid, n in self.unacked.items() if n > seq}
            self._trim()

    def receipt(self, message_id: str) -> None:
        """The visitor has the agent message ``message_id``."""
        if self.unacked.pop(message_id, None) is not None:
            self._trim()

    def _needed(self, frame: dict[str, Any]) -> bool:
        return frame.get("id") in self.unacked and self.unacked[frame["id"]] == frame["seq"]

    def _trim(self) -> None:
        frames = self.frames
        while len(frames) > self.keep and not self._needed(frames[0]):
            frames.popleft()
        if len(frames) > 2 * self.keep + len(self.unacked):  # needed ones at the head: compact behind them
            cut = len(frames) - self.keep
            self.frames = deque(f for i, f in enumerate(frames) if i >= cut or self._needed(f))


class Hub:
    """Mailboxes by session id (see the module docstring).

    Args:
        secret: the account's ``session_secret`` (agent message ids are bound to their
            session with it: :func:`omnisdk_webchat.protocol.message_id`).
        max_sessions: mailboxes kept (least recently used forgotten first, never one holding an
            unacknowledged agent message or an open socket).
        keep: frames kept per mailbox beyond the unacknowledged agent messages.
        max_pending: unacknowledged agent messages a session may hold (then :class:`MailboxFull`).
        clock: epoch seconds (typing indicators expire; new mailboxes number from it).
    """

    def __init__(self, secret: str = "", *, max_sessions: int = 10_000, keep: int = 500, max_pending: int = 1000,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.max_sessions = max_sessions
        self.keep = keep
        self.max_pending = max_pending
        self.clock = clock
        self.boxes: OrderedDict[str, Mailbox] = OrderedDict()
        self.delivered: OrderedDict[tuple[str, str], str] = OrderedDict()

    def _evict_one(self) -> bool:
        for sid, box in self.boxes.items():
            if not box.unacked and not box.sockets:
                del self.boxes[sid]
                return True
        return False

    def box(self, sid: str, *, strict: bool = False) -> Mailbox:
        """The mailbox of ``sid``, made when missing.

        Raises:
            MailboxFull: (``strict`` only) a new one is needed and none may be forgotten.
        """
        box = self.boxes.get(sid)
        if box is not None:
            self.boxes.move_to_end(sid)
            return box
        while len(self.boxes) >= self.max_sessions:
            if not self._evict_one():
                if strict:
                    raise MailboxFull(f"webchat: {len(self.boxes)} sessions hold undelivered messages")
                break  # a visitor's own box: the needed ones stay, this one is made anyway
        box = self.boxes[sid] = Mailbox(self.keep, start=int(self.clock() * 1_000_000))
        return box

    def deliver(self, sid: str, idempotency_key: str, frame: dict[str, Any]) -> tuple[str, bool]:
        """Add an agent's message; returns ``(message id, new)``.  The id is
        :func:`omnisdk_webchat.protocol.message_id` of the session and the key, so the same
        delivery retried gets the same id and is shown once.

        Raises:
            MailboxFull: the session holds ``max_pending`` unacknowledged agent messages, or no
                mailbox may be forgotten to make one (nothing kept: the sender retries).
        """
        mid = protocol.message_id(self.secret, sid, idempotency_key)
        if (sid, idempotency_key) in self.delivered:
            return mid, False
        box = self.box(sid, strict=True)
        if len(box.unacked) >= self.max_pending:
            raise MailboxFull(f"webchat: the session holds {len(box.unacked)} unacknowledged messages")
        self.delivered[(sid, idempotency_key)] = mid
        while len(self.delivered) > self.max_sessions * 4:
            self.delivered.popitem(last=False)
        box.push({**frame, "id": mid}, agent_message=True)
        return mid, True

    def acknowledge(self, sid: str, after: int) -> None:
        """The visitor of ``sid`` has every frame up to ``after`` (its ``hello`` or poll)."""
        box = self.boxes.get(sid)
        if box is not None:
            box.ack(after)

    def receipt(self, sid: str, message_id: str) -> None:
        """The visitor of ``sid`` acknowledged the agent message ``message_id``."""
        box = self.boxes.get(sid)
        if box is not None:
            box.receipt(message_id)

    def typing(self, sid: str, who: str, on: bool) -> None:
        """Relay a typing indicator (``who``: ``agent`` or ``visitor``)."""
        box = self.box(sid)
        if who == "visitor":
            box.typing_until = self.clock() + 10 if on else 0.0
            return
        box.push({"v": 1, "type": "typing", "from": who, "state": "on" if on else "off"})

    def visitor_typing(self, sid: str) -> bool:
        box = self.boxes.get(sid)
        return box is not None and box.typing_until > self.clock()

    async def wait(self, sid: str, after: int, timeout: float) -> list[dict[str, Any]]:
        """The frames after ``after``, waiting up to ``timeout`` seconds for one."""
        box = self.box(sid)
        frames = box.after(after)
        if frames or timeout <= 0:
            return frames
        try:
            await asyncio.wait_for(box.changed.wait(), timeout)
        except TimeoutError:
            return []
        return box.after(after)
