"""Contacts and the addresses they write from (:class:`~omnisdk.store.protocols.ContactStore`).
"""

from __future__ import annotations

import sqlite3

from omnisdk.ids import new_id
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteContacts(SQLiteAtomic):
    """The contacts part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

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
