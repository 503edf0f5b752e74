"""The user directory: E.164 normalization, the CSV and JSON formats, ``omnisdk import directory``."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisdk import cli
from omnisdk.model import DirectoryUser, to_e164
from omnisdk.profiles.directory_file import DirectoryFileError, parse_directory, read_directory
from omnisdk.store import open_store

CSV = (
    "id,name,phones,emails\n"
    'u-ann,Ann Lee,"+1 (206) 555-0142; 206.555.0143",Ann@Example.com\n'
    "u-bob,Bob Ray,+44 20 7946 0018,\n"
    "u-cat,,,cat@example.org;CAT@example.org\n"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OMNISDK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_numbers_as_people_write_them_become_e164():
    assert to_e164("+1 (206) 555-0142") == "+12065550142"
    assert to_e164("(206) 555-0142", "us") == "+12065550142"
    assert to_e164("020 7946 0018", "GB") == "+442079460018"
    for bad, region in (("(206) 555-0142", None), ("not a number", "US"), ("+1 555", None), ("", "US")):
        with pytest.raises(ValueError):
            to_e164(bad, region)


def test_csv_and_json_give_the_same_users():
    users = parse_directory(CSV.encode(), "csv", region="US")
    assert users == [
        DirectoryUser("u-ann", "Ann Lee", ("+12065550142", "+12065550143"), ("ann@example.com",)),
        DirectoryUser("u-bob", "Bob Ray", ("+442079460018",), ()),
        DirectoryUser("u-cat", None, (), ("cat@example.org",)),
    ]
    doc = {"users": [{"id": "u-ann", "name": "Ann Lee", "phones": ["+1 (206) 555-0142", "206.555.0143"],
                      "emails": "Ann@Example.com"},
                     {"id": "u-bob", "name": "Bob Ray", "phones": "+44 20 7946 0018"},
                     {"id": "u-cat", "emails": ["cat@example.org", "CAT@example.org"]}]}
    assert parse_directory(json.dumps(doc).encode(), "json", region="US") == users
    assert parse_directory(json.dumps(doc["users"]).encode(), "json", region="US") == users


@pytest.mark.parametrize(("data", "fmt", "message"), [
    (b"name,phones\nAnn,+12065550142\n", "csv", "id column"),
    (b"id,phones\nu-1,12345\n", "csv", "row 1"),
    (b"id,phones\nu-1,+12065550142\nu-1,+12065550143\n", "csv", "row 2: id 'u-1' appears twice"),
    (b"id,emails\nu-1,not-an-address\n", "csv", "not an email address"),
    (b"id,name\nu-1,Ann,extra\n", "csv", "more cells"),
    (b'[{"id": "u-1", "role": "admin"}]', "json", "unknown field"),
    (b'[{"id": 7}]', "json", "id must be"),
    (b'{"people": []}', "json", "list of users"),
    (b"[1]", "json", "expected an object"),
    (b'[{"id": "u-1", "phones": [1]}]', "json", "list of strings"),
    (b"\xff\xfe", "csv", "UTF-8"),
    (b"{", "json", "not JSON"),
])
def test_a_bad_file_is_refused_naming_the_row(data, fmt, message):
    with pytest.raises(DirectoryFileError, match=message):
        parse_directory(data, fmt)


def test_only_csv_and_json_files_are_read(tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(DirectoryFileError, match=".csv or .json"):
        read_directory(path)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "omnisdk.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "omni.db"}"\n')
    return path


def _stored(tmp_path: Path, phone: str) -> list[DirectoryUser]:
    store = open_store(f"sqlite:///{tmp_path / 'omni.db'}")

    async def read():
        return await store.read(lambda tx: tx.directory_users_with_phone(phone))

    return asyncio.run(read())


def test_the_cli_imports_a_directory_into_the_configured_store(tmp_path):
    config = _config(tmp_path)
    (tmp_path / "people.csv").write_text(CSV)
    result = CliRunner().invoke(cli.app, ["import", "directory", "people.csv", "-c", str(config), "--region", "US"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported 3 users (3 phone numbers)"
    assert [u.id for u in _stored(tmp_path, "+12065550143")] == ["u-ann"]
    # a second file replaces users by id and keeps the others
    (tmp_path / "moved.json").write_text(json.dumps([{"id": "u-ann", "phones": ["+12065550199"]}]))
    result = CliRunner().invoke(cli.app, ["import", "directory", "moved.json", "-c", str(config), "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"users": 1, "phones": 1, "emails": 0}
    assert _stored(tmp_path, "+12065550143") == [] and [u.id for u in _stored(tmp_path, "+12065550199")] == ["u-ann"]
    assert [u.id for u in _stored(tmp_path, "+442079460018")] == ["u-bob"]


def test_the_cli_refuses_a_bad_file_in_one_line_and_keeps_nothing(tmp_path):
    config = _config(tmp_path)
    (tmp_path / "people.csv").write_text(CSV.replace("+44 20 7946 0018", "0207 946 0018"))
    result = CliRunner().invoke(cli.app, ["import", "directory", "people.csv", "-c", str(config), "--region", "US"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "row 2" in line and "Traceback" not in result.output
    assert not (tmp_path / "omni.db").exists() or _stored(tmp_path, "+12065550142") == []
    missing = CliRunner().invoke(cli.app, ["import", "directory", "absent.csv", "-c", str(config)])
    assert missing.exit_code == 2 and "cannot import absent.csv" in missing.output


def test_omnisdk_interaction_shows_the_requester_and_what_to_check(tmp_path):
    from datetime import UTC, datetime

    from omnisdk.model import Interaction

    config = _config(tmp_path)
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    inter = Interaction(id="0" * 31 + "1", channel="sms", direction="inbound", state="queued",
                        conversation_key="sms/acme:sms:+14155550100:+12065550142", source="/sms/acme",
                        customer="+12065550142", business="+14155550100", created_at=now, updated_at=now,
                        requester="u-ann", messaging_profile="p-1",
                        profile_conflict="directory user u-ann's phones no longer include the number: check it")
    store = open_store(f"sqlite:///{tmp_path / 'omni.db'}")

    async def save():
        await store.open()
        try:
            await store.transact(lambda tx: tx.save_interaction(inter))
        finally:
            await store.close()

    asyncio.run(save())
    result = CliRunner().invoke(cli.app, ["interaction", inter.id, "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "u-ann" in result.output and "p-1" in result.output
    words = " ".join(result.output.replace("│", " ").split())  # the table wraps long cells
    assert "requester check" in words and all(w in words for w in ("phones", "longer", "include", "check"))
