"""The in-memory hub of one gateway process: each session's mailbox of frames for the visitor.

Agents' messages arrive through the delivery API (the outbox's sends), visitors' own messages
are echoed once committed, typing indicators are relayed; every frame gets the session's next
sequence number.  A socket or a long-poll reads the frames after the last number it saw, so a
visitor reconnecting with ``after=<seq>`` misses nothing the process still holds (the last
``keep`` frames per session; ``max_sessions`` sessions, the least recently used forgotten).

The hub is memory, not a store: the transcript itself is in the omnisdk store (messages of the
interaction).  A gateway restart empties it; the visitor then sees messages delivered after
the restart.  One hub serves the sockets of one process, so the delivery API must reach the
process that holds the visitors' sockets (``api_base_url``; one ingress process, or sticky
routing by account in front of several).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from omnisdk_webchat.translate import OUTBOUND_ID_PREFIX


class Mailbox:
    """Frames for one session, numbered from 1."""

    __slots__ = ("changed", "frames", "seq", "sockets", "typing_until")

    def __init__(self, keep: int) -> None:
        self.seq = 0
        self.frames: deque[dict[str, Any]] = deque(maxlen=keep)
        self.changed = asyncio.Event()
        self.sockets = 0
        self.typing_until = 0.0

    def push(self, frame: dict[str, Any]) -> int:
        self.seq += 1
        self.frames.append({**frame, "seq": self.seq})
        self.changed.set()
        self.changed = asyncio.Event()
        return self.seq

    def after(self, seq: int) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["seq"] > seq]


class Hub:
    """Mailboxes by session id (see the module docstring).

    Args:
        max_sessions: mailboxes kept (least recently used forgotten first).
        keep: frames kept per mailbox.
        clock: epoch seconds (typing indicators expire).
    """

    def __init__(self, *, max_sessions: int = 10_000, keep: int = 500,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_sessions = max_sessions
        self.keep = keep
        self.clock = clock
        self.boxes: OrderedDict[str, Mailbox] = OrderedDict()
        self.delivered: OrderedDict[tuple[str, str], str] = OrderedDict()

    def box(self, sid: str) -> Mailbox:
        box = self.boxes.get(sid)
        if box is None:
            box = self.boxes[sid] = Mailbox(self.keep)
            while len(self.boxes) > self.max_sessions:
                self.boxes.popitem(last=False)
        else:
            self.boxes.move_to_end(sid)
        return box

    def deliver(self, sid: str, idempotency_key: str, frame: dict[str, Any]) -> tuple[str, bool]:
        """Add an agent's message; returns ``(message id, new)``.  The id is
        ``wco_`` + 32 hex of SHA-256 over the session and the key, so the same delivery retried
        gets the same id and is shown once."""
        mid = OUTBOUND_ID_PREFIX + hashlib.sha256(f"{sid}\n{idempotency_key}".encode()).hexdigest()[:32]
        if (sid, idempotency_key) in self.delivered:
            return mid, False
        self.delivered[(sid, idempotency_key)] = mid
        while len(self.delivered) > self.max_sessions * 4:
            self.delivered.popitem(last=False)
        self.box(sid).push({**frame, "id": mid})
        return mid, True

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
