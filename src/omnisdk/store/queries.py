"""What a list asks the store for: filters and page bounds, checked before any query runs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: int) -> int:
    """``limit`` if it is within 1..:data:`MAX_LIMIT`.

    Raises:
        ValueError: out of range (the API answers 400; its schema already bounds it).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(kind: str, position: str) -> str:
    """An opaque cursor for ``position`` in a list of ``kind`` (URL-safe, no padding)."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    """The position a cursor of ``kind`` holds.

    Raises:
        ValueError: not a cursor of this kind (the API answers 400).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("cursor is not one this API gave out") from None
    got, sep, position = raw.partition(":")
    if got != kind or not sep or not position:
        raise ValueError("cursor is not one this API gave out")
    return position


@dataclass(frozen=True, slots=True)
class InteractionQuery:
    """Filters of an interaction list; every one given must match.

    Attributes:
        states: only these states (values of :class:`~omnisdk.model.InteractionState`).
        active: True: not closed; False: closed; None: both.
        agent: held by this agent now.
        queue: in this queue.
        channel: on this channel.
        updated_since: updated at or after this instant (epoch seconds, UTC).
        within_queues: when not None, only those in one of these queues or held by one of
            ``or_agents`` (what a caller may see: :mod:`omnisdk.access.policy`).
        or_agents: see ``within_queues``.
    """

    states: Sequence[str] = ()
    active: bool | None = None
    agent: str | None = None
    queue: str | None = None
    channel: str | None = None
    updated_since: float | None = None
    within_queues: Sequence[str] | None = None
    or_agents: Sequence[str] = ()


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "InteractionQuery", "check_limit", "decode_cursor", "encode_cursor"]
