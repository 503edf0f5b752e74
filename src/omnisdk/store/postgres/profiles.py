"""The user directory and messaging profiles on PostgreSQL (:class:`~omnisdk.store.protocols.ProfileStore`).
At most one active profile per address is the partial unique index ``messaging_profiles_active``
(migration 13); a save that would break it raises StateError."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import psycopg
from psycopg import errors as pg_errors

from omnisdk.errors import StateError
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.row_columns import SELECT_PROFILE, directory_user, messaging_profile
from omnisdk.store.rows import DirectoryUser, MessagingProfile


class PostgresProfiles(PostgresAtomic):
    """The profiles part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_directory_users(self, users: Sequence[DirectoryUser]) -> int:
        try:
            for user in users:
                self.write(
                    "INSERT INTO directory_users (id, name, phones, emails) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phones = excluded.phones,"
                    " emails = excluded.emails",
                    (user.id, user.name, orjson.dumps(list(user.phones)).decode(),
                     orjson.dumps(list(user.emails)).decode()))
                self.write("DELETE FROM directory_phones WHERE user_id = %s", (user.id,))
                for phone in dict.fromkeys(user.phones):
                    self.write("INSERT INTO directory_phones (phone, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                               (phone, user.id))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return len(users)

    def get_directory_user(self, user_id: str) -> DirectoryUser | None:
        try:
            row = self.run("SELECT id, name, phones, emails FROM directory_users WHERE id = %s", (user_id,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return directory_user(row) if row else None

    def directory_users_with_phone(self, phone: str) -> list[DirectoryUser]:
        try:
            rows = self.run(
                "SELECT u.id, u.name, u.phones, u.emails FROM directory_phones p"
                " JOIN directory_users u ON u.id = p.user_id WHERE p.phone = %s ORDER BY u.id", (phone,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [directory_user(r) for r in rows]

    def active_profile(self, channel: str, address: str) -> MessagingProfile | None:
        try:
            row = self.run(f"{SELECT_PROFILE} WHERE channel = %s AND address = %s AND active", (channel, address)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return messaging_profile(row) if row else None

    def get_profile(self, profile_id: str) -> MessagingProfile | None:
        try:
            row = self.run(f"{SELECT_PROFILE} WHERE id = %s", (profile_id,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return messaging_profile(row) if row else None

    def save_profile(self, profile: MessagingProfile) -> None:
        try:
            self.write(
                "INSERT INTO messaging_profiles (id, channel, address, user_id, active, conflict, created_at,"
                " deactivated_at, verified_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
                " SET user_id = excluded.user_id, active = excluded.active, conflict = excluded.conflict,"
                " deactivated_at = excluded.deactivated_at, verified_by = excluded.verified_by",
                (profile.id, profile.channel, profile.address, profile.user_id, profile.active,
                 profile.conflict, profile.created_at, profile.deactivated_at, profile.verified_by))
        except pg_errors.UniqueViolation as exc:
            raise StateError(f"{profile.channel} {profile.address} has an active messaging profile already") from exc
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def list_profiles(self, *, flagged: bool = False, channel: str | None = None, address: str | None = None,
                      limit: int = 100) -> list[MessagingProfile]:
        where: list[str] = []
        args: list[object] = []
        if flagged:
            where.append("conflict IS NOT NULL")
        if channel is not None:
            where.append("channel = %s")
            args.append(channel)
        if address is not None:
            where.append("address = %s")
            args.append(address)
        sql = SELECT_PROFILE + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC LIMIT %s"
        try:
            rows = self.run(sql, (*args, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [messaging_profile(r) for r in rows]
