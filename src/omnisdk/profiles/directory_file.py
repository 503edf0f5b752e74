"""Reading a user-directory export: the people messaging profiles link numbers to.

Two formats, told apart by the file's suffix (``.csv``, ``.json``):

- **CSV** (RFC 4180, UTF-8, a header row): columns ``id``, ``name``, ``phones``, ``emails``
  (any order; ``id`` required, the others optional).  A cell of ``phones`` or ``emails`` holds
  one or more values separated by ``;`` (``+14155550100; (206) 555-0142``).
- **JSON**: a list of objects, or ``{"users": [...]}``, each with ``id`` and optionally
  ``name``, ``phones`` and ``emails`` (a list of strings, or one string).

Phones are normalized to E.164 with :func:`omnisdk.model.to_e164` (``region``, such as ``US``,
for numbers written without a country code); emails are lower-cased.  The whole file is
checked before anything is kept: one bad row refuses the file, naming the row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

from omnisdk.model.addresses import to_e164
from omnisdk.model.directory import DirectoryUser

MAX_BYTES = 64 << 20
"""Largest file read (64 MiB)."""
COLUMNS = ("id", "name", "phones", "emails")


class DirectoryFileError(ValueError):
    """A directory file that cannot be read, or a row that breaks the format (the message
    names the row: ``row 3`` is the third user, after a CSV's header)."""


def _values(raw: Any, where: str, field: str) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [v.strip() for v in raw.split(";") if v.strip()]
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return [v.strip() for v in raw if v.strip()]
    raise DirectoryFileError(f"{where}: {field} must be a string or a list of strings")


def _user(doc: Any, where: str, region: str | None) -> DirectoryUser:
    if not isinstance(doc, dict):
        raise DirectoryFileError(f"{where}: expected an object with id, name, phones, emails")
    unknown = sorted(set(doc) - set(COLUMNS))
    if unknown:
        raise DirectoryFileError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    user_id = doc.get("id")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 128:
        raise DirectoryFileError(f"{where}: id must be a non-empty string of at most 128 characters")
    name = doc.get("name")
    if name is not None and not isinstance(name, str):
        raise DirectoryFileError(f"{where}: name must be a string")
    phones: list[str] = []
    for value in _values(doc.get("phones"), where, "phones"):
        try:
            phone = to_e164(value, region)
        except ValueError as exc:
            raise DirectoryFileError(f"{where}: {exc}") from None
        if phone not in phones:
            phones.append(phone)
    emails: list[str] = []
    for value in _values(doc.get("emails"), where, "emails"):
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or " " in value:
            raise DirectoryFileError(f"{where}: {value!r} is not an email address")
        if value.lower() not in emails:
            emails.append(value.lower())
    return DirectoryUser(user_id.strip(), (name or "").strip() or None, tuple(phones), tuple(emails))


def parse_directory(data: bytes, fmt: str, *, region: str | None = None) -> list[DirectoryUser]:
    """The users of a directory file's bytes; ``fmt`` is ``csv`` or ``json``.

    Raises:
        DirectoryFileError: not UTF-8, not the format, a bad row, or an id twice.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DirectoryFileError("the file is not UTF-8") from None
    if fmt == "json":
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DirectoryFileError(f"not JSON: {exc}") from None
        rows = doc.get("users") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise DirectoryFileError('expected a list of users, or {"users": [...]}')
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in reader.fieldnames or []]
        if "id" not in header:
            raise DirectoryFileError(f"the CSV header must name an id column (columns: {', '.join(COLUMNS)})")
        reader.fieldnames = header
        try:
            rows = [{k: v for k, v in row.items() if v not in (None, "") or k == "id"} for row in reader]
        except csv.Error as exc:
            raise DirectoryFileError(f"not CSV: {exc}") from None
        for n, row in enumerate(rows, 1):
            if None in row:
                raise DirectoryFileError(f"row {n}: more cells than the header has columns")
    else:
        raise DirectoryFileError(f"unknown format {fmt!r}: csv or json")
    users = [_user(doc, f"row {n}", region) for n, doc in enumerate(rows, 1)]
    seen: set[str] = set()
    for n, user in enumerate(users, 1):
        if user.id in seen:
            raise DirectoryFileError(f"row {n}: id {user.id!r} appears twice")
        seen.add(user.id)
    return users


def read_directory(path: Path, *, region: str | None = None) -> list[DirectoryUser]:
    """The users of the directory file at ``path`` (format by suffix: ``.csv`` or ``.json``).

    Raises:
        DirectoryFileError: as :func:`parse_directory`, an unknown suffix, or a file larger
            than :data:`MAX_BYTES`.
        OSError: the file cannot be read.
    """
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise DirectoryFileError(f"{path.name}: name a .csv or .json file")
    with path.open("rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise DirectoryFileError(f"{path.name} is larger than {MAX_BYTES >> 20} MiB")
    return parse_directory(data, fmt, region=region)


__all__ = ["COLUMNS", "DirectoryFileError", "MAX_BYTES", "parse_directory", "read_directory"]
