"""The user directory and messaging profiles (:class:`~omnisdk.store.protocols.ProfileStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from omnisdk.errors import StateError
from omnisdk.store.row_columns import SELECT_PROFILE, directory_user, messaging_profile
from omnisdk.store.rows import DirectoryUser, MessagingProfile
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteProfiles(SQLiteAtomic):
    """The profiles part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_directory_users(self, users: Sequence[DirectoryUser]) -> int:
        try:
            for user in users:
                self.c.execute(
                    "INSERT INTO directory_users (id, name, phones, emails) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phones = excluded.phones,"
                    " emails = excluded.emails",
                    (user.id, user.name, orjson.dumps(list(user.phones)).decode(),
                     orjson.dumps(list(user.emails)).decode()))
                self.c.execute("DELETE FROM directory_phones WHERE user_id = ?", (user.id,))
                self.c.executemany("INSERT OR IGNORE INTO directory_phones (phone, user_id) VALUES (?, ?)",
                                   [(phone, user.id) for phone in user.phones])
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return len(users)

    def get_directory_user(self, user_id: str) -> DirectoryUser | None:
        try:
            row = self.c.execute("SELECT id, name, phones, emails FROM directory_users WHERE id = ?",
                                 (user_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return directory_user(row) if row else None

    def directory_users_with_phone(self, phone: str) -> list[DirectoryUser]:
        try:
            rows = self.c.execute(
                "SELECT u.id, u.name, u.phones, u.emails FROM directory_phones p"
                " JOIN directory_users u ON u.id = p.user_id WHERE p.phone = ? ORDER BY u.id", (phone,)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [directory_user(r) for r in rows]

    def active_profile(self, channel: str, address: str) -> MessagingProfile | None:
        try:
            row = self.c.execute(f"{SELECT_PROFILE} WHERE channel = ? AND address = ? AND active = 1",
                                 (channel, address)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return messaging_profile(row) if row else None

    def get_profile(self, profile_id: str) -> MessagingProfile | None:
        try:
            row = self.c.execute(f"{SELECT_PROFILE} WHERE id = ?", (profile_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return messaging_profile(row) if row else None

    def save_profile(self, profile: MessagingProfile) -> None:
        try:
            self.c.execute(
                "INSERT INTO messaging_profiles (id, channel, address, user_id, active, conflict, created_at,"
                " deactivated_at, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " user_id = excluded.user_id, active = excluded.active, conflict = excluded.conflict,"
                " deactivated_at = excluded.deactivated_at, verified_by = excluded.verified_by",
                (profile.id, profile.channel, profile.address, profile.user_id, int(profile.active),
                 profile.conflict, profile.created_at, profile.deactivated_at, profile.verified_by))
        except sqlite3.IntegrityError as exc:
            if "messaging_profiles" in str(exc) or "UNIQUE" in str(exc):
                raise StateError(f"{profile.channel} {profile.address} has an active messaging profile "
                                 "already") from None
            raise _failed(exc) from exc
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_profiles(self, *, flagged: bool = False, channel: str | None = None, address: str | None = None,
                      limit: int = 100) -> list[MessagingProfile]:
        where, args = [], []
        if flagged:
            where.append("conflict IS NOT NULL")
        if channel is not None:
            where.append("channel = ?")
            args.append(channel)
        if address is not None:
            where.append("address = ?")
            args.append(address)
        sql = SELECT_PROFILE + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC LIMIT ?"
        try:
            rows = self.c.execute(sql, (*args, limit)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [messaging_profile(r) for r in rows]
