"""``omnisdk import email``: a mailbox moved onto omnisdk through the live path.

A team that moves from another help desk brings its mail: an mbox file, a Maildir, or a folder
of ``.eml`` files (read with the stdlib :mod:`mailbox`).  Each mail goes through the email
account's adapter (``parse()``, as if it had been posted to the gateway; no signature: the
operator hands the files over), into the inbox, and through the core's threader, in input
order and in batches, so an import is threaded exactly as live mail would have been.

:func:`read_mailbox` names each mail by its ``.eml`` file name, its Maildir key, or its index
in the mbox (``0``, ``1`` …); :func:`import_mail` yields one :class:`Imported` per mail, in
input order, with the interaction, case, threading rule and score it got.
"""

from __future__ import annotations

import mailbox
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, Event, now_rfc3339
from omnisdk.store.base import Transaction

RAW_MIME = "message/rfc822"
BATCH = 256
"""Mails parsed, committed and threaded together."""


@dataclass(frozen=True, slots=True)
class Imported:
    """What one mail became.  ``error`` is set (and the rest None) when it was refused."""

    file: str
    message_id: str | None = None
    interaction: str | None = None
    case: str | None = None
    rule: str | None = None
    score: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` line of the mail (``error`` only when there is one)."""
        doc = asdict(self)
        if doc["error"] is None:
            del doc["error"]
        return doc


def read_mailbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, raw mail)`` of every mail under ``path``, in input order: an mbox file (by
    index), a Maildir (``cur``/``new``/``tmp`` subfolders; by key, sorted: Maildir keys start
    with the delivery time), or a folder of ``*.eml`` files (by file name, sorted).

    Raises:
        FileNotFoundError: ``path`` does not exist.  ValueError: a folder that is neither a
        Maildir nor holds ``.eml`` files.
    """
    if not path.exists():
        raise FileNotFoundError(f"no such mailbox: {path}")
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield key, box.get_bytes(key)
            return
        files = sorted(path.glob("*.eml"))
        if not files:
            raise ValueError(f"{path} is neither a Maildir nor a folder of .eml files")
        for file in files:
            yield file.name, file.read_bytes()
        return
    mbox = mailbox.mbox(path, factory=None, create=False)
    for index, key in enumerate(mbox.keys()):
        yield str(index), mbox.get_bytes(key)


def _chunks(items: Iterable[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    chunk: list[tuple[str, bytes]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def import_mail(runtime: Any, adapter: ChannelAdapter, items: Iterable[tuple[str, bytes]],
                      *, batch: int = BATCH) -> AsyncIterator[Imported]:
    """Parse, store and thread ``items`` through ``runtime`` (a started
    :class:`omnisdk.runtime.Runtime`) with the email account's ``adapter``; yield what each
    became, in input order.  A mail the adapter refuses (PayloadError) is reported with its
    reason and the import goes on."""
    for chunk in _chunks(items, batch):
        received_at = now_rfc3339()
        parsed: list[tuple[str, list[Event] | str]] = []
        for name, raw in chunk:
            request = WebhookRequest(method="POST", url=f"file:{name}", headers={"content-type": RAW_MIME},
                                     body=raw, received_at=received_at)
            try:
                parsed.append((name, adapter.parse(request)))
            except PayloadError as exc:
                parsed.append((name, f"{exc.reason}: {exc}"))
        events = [e for _, got in parsed if not isinstance(got, str) for e in got]
        if events:
            await runtime.store.append_inbox(events, received_at)
            await runtime.processor.drain()
        outcomes = await runtime.store.transact(lambda tx, p=parsed: [_outcome(tx, adapter.source, n, g) for n, g in p])
        for outcome in outcomes:
            yield outcome


def _outcome(tx: Transaction, source: str, name: str, got: list[Event] | str) -> Imported:
    if isinstance(got, str):
        return Imported(name, error=got)
    mail = next((e for e in got if e.type == TYPE_MESSAGE_RECEIVED), None)
    if mail is None:  # a bounce, a receipt, a complaint: a status or a notice, no thread
        kind = "status" if got and got[0].type == TYPE_MESSAGE_STATUS else "notice"
        return Imported(name, message_id=got[0].id if got else None, rule=kind if got else None)
    links = tx.interactions_for_message_ids(source, [mail.id])
    if not links:  # automatic mail that matched no thread: kept, no interaction
        return Imported(name, message_id=mail.id, rule="automatic_ignored", score=0.0)
    inter = tx.get_interaction(links[0].interaction_id)
    decision: dict[str, Any] = {}
    for row in tx.messages_of(links[0].interaction_id):
        if row.message_id == mail.id:
            decision = (row.body or {}).get("threading") or {}
    return Imported(name, message_id=mail.id, interaction=links[0].interaction_id,
                    case=inter.case_id if inter else None, rule=decision.get("rule"), score=decision.get("score"))
