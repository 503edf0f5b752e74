"""Contacts and the addresses they write from, on PostgreSQL (:class:`~omnisdk.store.protocols.ContactStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson
import psycopg

from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.model import Interaction
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.row_columns import (
    INTERACTION_SUMMARY_COLUMNS,
    interaction_of_row,
    newest_of_addresses,
    summary_of_row,
)
from omnisdk.store.rows import ContactRow, InteractionSummary, MergeRow


class PostgresContacts(PostgresAtomic):
    """The contacts part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    # one statement either way: a new address inserts both rows; a known one is read (and its
    # contact renamed when the profile name changed).  The outer SELECT does not see the CTE's
    # rows (one snapshot), so the known contact comes from the table, the new from ins.
    _UPSERT = (
        "WITH ins AS (INSERT INTO addresses (channel, value, contact_id) VALUES (%(ch)s, %(v)s, %(new)s)"
        "  ON CONFLICT DO NOTHING RETURNING contact_id),"
        " made AS (INSERT INTO contacts (id, display_name, created_at)"
        "  SELECT contact_id, %(name)s, %(now)s FROM ins RETURNING id),"
        " known AS (SELECT contact_id FROM addresses WHERE channel = %(ch)s AND value = %(v)s),"
        " renamed AS (UPDATE contacts SET display_name = %(name)s WHERE %(name)s::text IS NOT NULL"
        "  AND %(name)s::text <> '' AND id = (SELECT contact_id FROM known)"
        "  AND display_name IS DISTINCT FROM %(name)s AND NOT EXISTS (SELECT 1 FROM ins) RETURNING id)"
        " SELECT id, 2 FROM made UNION ALL SELECT contact_id, (SELECT count(*) FROM renamed) FROM known"
        " WHERE NOT EXISTS (SELECT 1 FROM made)")

    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        try:
            contact_id, written = self.run(self._UPSERT, {"ch": channel, "v": address, "new": new_id(),
                                                          "name": display_name, "now": now}).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        self._written += written  # rows really written: a known, unchanged contact writes none
        return contact_id

    def upsert_contact_later(self, channel: str, address: str, display_name: str | None, now: str) -> None:
        # the same statement, its answer unread: inside a savepoint block it goes with the next one
        self.defer(self._UPSERT, {"ch": channel, "v": address, "new": new_id(), "name": display_name, "now": now})

    def set_opt_out(self, channel: str, address: str, opted_out: bool, at: str) -> None:
        self.defer("INSERT INTO consent (channel, value, opted_out, changed_at) VALUES (%s, %s, %s, %s)"
                   " ON CONFLICT (channel, value) DO UPDATE SET opted_out = excluded.opted_out,"
                   " changed_at = excluded.changed_at", (channel, address, bool(opted_out), at))

    def get_contact(self, contact_id: str) -> ContactRow | None:
        try:
            row = self.run("SELECT id, display_name, created_at FROM contacts WHERE id = %s", (contact_id,)).fetchone()
            if row is None:
                return None
            addresses = self.run("SELECT channel, value FROM addresses WHERE contact_id = %s ORDER BY channel, value",
                                 (contact_id,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return ContactRow(row[0], row[1], row[2], tuple((c, v) for c, v in addresses))

    def contact_of(self, channel: str, value: str) -> str | None:
        try:
            row = self.run("SELECT contact_id FROM addresses WHERE channel = %s AND value = %s",
                           (channel, value)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def _address_rows(self, columns: str, channel: str, customer: str, limit: int) -> list[tuple[Any, ...]]:
        """One address's newest ``limit`` interactions, rows of ``columns`` (``id`` first; an
        index lookup: customer, channel, id)."""
        return self.run(f"SELECT {columns} FROM interactions WHERE customer = %s AND channel = %s"
                     " ORDER BY id DESC LIMIT %s", (customer, channel, limit)).fetchall()

    def interactions_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[Interaction]:
        try:
            return newest_of_addresses(addresses, limit, partial(self._address_rows, "id, doc"), interaction_of_row)
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def recent_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[InteractionSummary]:
        try:
            return newest_of_addresses(addresses, limit, partial(self._address_rows, INTERACTION_SUMMARY_COLUMNS),
                                       summary_of_row)
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def merge_contacts(self, kept: str, absorbed: str, at: str, by: str) -> MergeRow:
        if kept == absorbed:
            raise ValueError("a contact is not merged into itself")
        for cid in (kept, absorbed):
            if self.get_contact(cid) is None:
                raise NotFoundError(f"no contact {cid}")
        try:
            moved = tuple((c, v) for c, v in self.run(
                "SELECT channel, value FROM addresses WHERE contact_id = %s ORDER BY channel, value", (absorbed,)))
            self.write("UPDATE addresses SET contact_id = %s WHERE contact_id = %s", (kept, absorbed))
            merge = MergeRow(id=new_id(), kept=kept, absorbed=absorbed, addresses=moved, at=at, by=by)
            self.write('INSERT INTO contact_merges (id, kept, absorbed, addresses, at, "by")'
                       " VALUES (%s, %s, %s, %s, %s, %s)",
                       (merge.id, kept, absorbed, orjson.dumps([list(a) for a in moved]).decode(), at, by))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return merge

    def undo_merge(self, merge_id: str, at: str) -> MergeRow:
        try:
            row = self.run('SELECT id, kept, absorbed, addresses, at, "by", undone_at FROM contact_merges'
                           " WHERE id = %s", (merge_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no contact merge {merge_id}")
            if row[6] is not None:
                raise StateError(f"contact merge {merge_id} was undone at {row[6]}")
            moved = tuple((c, v) for c, v in orjson.loads(row[3]))
            self.write_many("UPDATE addresses SET contact_id = %s WHERE channel = %s AND value = %s AND contact_id = %s",
                            [(row[2], c, v, row[1]) for c, v in moved])
            self.write("UPDATE contact_merges SET undone_at = %s WHERE id = %s", (at, merge_id))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return MergeRow(row[0], row[1], row[2], moved, row[4], row[5], at)

    def note_inbound(self, source: str, customer: str, at: float) -> None:
        self.defer("INSERT INTO customer_windows (source, customer, last_inbound_at) VALUES (%s, %s, %s)"
                   " ON CONFLICT (source, customer) DO UPDATE SET last_inbound_at ="
                   " GREATEST(customer_windows.last_inbound_at, excluded.last_inbound_at)", (source, customer, at))

    def last_inbound(self, source: str, customer: str) -> float | None:
        try:
            row = self.run("SELECT last_inbound_at FROM customer_windows WHERE source = %s AND customer = %s",
                           (source, customer)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return float(row[0]) if row else None

    def opted_out(self, channel: str, address: str) -> bool:
        try:
            row = self.run("SELECT opted_out FROM consent WHERE channel = %s AND value = %s",
                           (channel, address)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return bool(row and row[0])


__all__ = ["PostgresContacts"]
