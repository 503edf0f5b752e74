"""Contacts and the addresses they write from (:class:`~omnisdk.store.protocols.ContactStore`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson

from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.model import Interaction
from omnisdk.store.row_columns import (
    INTERACTION_SUMMARY_COLUMNS,
    interaction_of_row,
    newest_of_addresses,
    summary_of_row,
)
from omnisdk.store.rows import ContactRow, InteractionSummary, MergeRow
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteContacts(SQLiteAtomic):
    """The contacts part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def upsert_contact_later(self, channel: str, address: str, display_name: str | None, now: str) -> None:
        self.upsert_contact(channel, address, display_name, now)  # in process: nothing to gain by waiting

    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        # a new address costs two writes and no read; a known one a read (and a write when the
        # profile name changed)
        contact_id = new_id()
        try:
            if self.c.execute(
                "INSERT OR IGNORE INTO addresses (channel, value, contact_id) VALUES (?, ?, ?)",
                (channel, address, contact_id),
            ).rowcount:
                self.c.execute(
                    "INSERT INTO contacts (id, display_name, created_at) VALUES (?, ?, ?)",
                    (contact_id, display_name, now),
                )
                return contact_id
            (contact_id,) = self.c.execute(
                "SELECT contact_id FROM addresses WHERE channel = ? AND value = ?", (channel, address)
            ).fetchone()
            if display_name:
                self.c.execute(
                    "UPDATE contacts SET display_name = ? WHERE id = ? AND display_name IS NOT ?",
                    (display_name, contact_id, display_name),
                )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return contact_id

    def set_opt_out(self, channel: str, address: str, opted_out: bool, at: str) -> None:
        try:
            self.c.execute(
                "INSERT INTO consent (channel, value, opted_out, changed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel, value) DO UPDATE SET opted_out = excluded.opted_out,"
                " changed_at = excluded.changed_at", (channel, address, int(opted_out), at))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def get_contact(self, contact_id: str) -> ContactRow | None:
        try:
            row = self.c.execute("SELECT id, display_name, created_at FROM contacts WHERE id = ?",
                                 (contact_id,)).fetchone()
            if row is None:
                return None
            addresses = self.c.execute("SELECT channel, value FROM addresses WHERE contact_id = ?"
                                       " ORDER BY channel, value", (contact_id,)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return ContactRow(row[0], row[1], row[2], tuple((c, v) for c, v in addresses))

    def contact_of(self, channel: str, value: str) -> str | None:
        try:
            row = self.c.execute("SELECT contact_id FROM addresses WHERE channel = ? AND value = ?",
                                 (channel, value)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def _address_rows(self, columns: str, channel: str, customer: str, limit: int) -> list[tuple[Any, ...]]:
        """One address's newest ``limit`` interactions, rows of ``columns`` (``id`` first; an
        index lookup: customer, channel, id)."""
        return self.c.execute(f"SELECT {columns} FROM interactions WHERE customer = ? AND channel = ?"
                     " ORDER BY id DESC LIMIT ?", (customer, channel, limit)).fetchall()

    def interactions_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[Interaction]:
        try:
            return newest_of_addresses(addresses, limit, partial(self._address_rows, "id, doc"), interaction_of_row)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def recent_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[InteractionSummary]:
        try:
            return newest_of_addresses(addresses, limit, partial(self._address_rows, INTERACTION_SUMMARY_COLUMNS),
                                       summary_of_row)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def merge_contacts(self, kept: str, absorbed: str, at: str, by: str) -> MergeRow:
        if kept == absorbed:
            raise ValueError("a contact is not merged into itself")
        for cid in (kept, absorbed):
            if self.get_contact(cid) is None:
                raise NotFoundError(f"no contact {cid}")
        try:
            moved = tuple((c, v) for c, v in self.c.execute(
                "SELECT channel, value FROM addresses WHERE contact_id = ? ORDER BY channel, value", (absorbed,)))
            self.c.execute("UPDATE addresses SET contact_id = ? WHERE contact_id = ?", (kept, absorbed))
            merge = MergeRow(id=new_id(), kept=kept, absorbed=absorbed, addresses=moved, at=at, by=by)
            self.c.execute("INSERT INTO contact_merges (id, kept, absorbed, addresses, at, by) VALUES (?, ?, ?, ?, ?, ?)",
                           (merge.id, kept, absorbed, orjson.dumps([list(a) for a in moved]).decode(), at, by))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return merge

    def undo_merge(self, merge_id: str, at: str) -> MergeRow:
        try:
            row = self.c.execute("SELECT id, kept, absorbed, addresses, at, by, undone_at FROM contact_merges"
                                 " WHERE id = ?", (merge_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no contact merge {merge_id}")
            if row[6] is not None:
                raise StateError(f"contact merge {merge_id} was undone at {row[6]}")
            moved = tuple((c, v) for c, v in orjson.loads(row[3]))
            self.c.executemany("UPDATE addresses SET contact_id = ? WHERE channel = ? AND value = ? AND contact_id = ?",
                               [(row[2], c, v, row[1]) for c, v in moved])
            self.c.execute("UPDATE contact_merges SET undone_at = ? WHERE id = ?", (at, merge_id))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return MergeRow(row[0], row[1], row[2], moved, row[4], row[5], at)

    def note_inbound(self, source: str, customer: str, at: float) -> None:
        try:
            self.c.execute(
                "INSERT INTO customer_windows (source, customer, last_inbound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source, customer) DO UPDATE SET last_inbound_at ="
                " MAX(last_inbound_at, excluded.last_inbound_at)", (source, customer, at))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def last_inbound(self, source: str, customer: str) -> float | None:
        try:
            row = self.c.execute("SELECT last_inbound_at FROM customer_windows WHERE source = ? AND customer = ?",
                                 (source, customer)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return float(row[0]) if row else None

    def opted_out(self, channel: str, address: str) -> bool:
        try:
            row = self.c.execute("SELECT opted_out FROM consent WHERE channel = ? AND value = ?",
                                 (channel, address)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return bool(row and row[0])
