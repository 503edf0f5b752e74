"""``omnisdk import email``: an mbox, a Maildir or a folder of .eml files, through the email
adapter and the core's threader (the live path), one --json line per mail in input order."""

from __future__ import annotations

import json
import mailbox
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisdk.cli import app
from omnisdk_email import EmailAdapter

RECORDINGS = Path(EmailAdapter.recordings)
THREAD = ["thread_new_question.eml", "thread_reply_by_headers.eml", "thread_auto_reply.eml",
          "thread_bounce_of_reply.eml"]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "omnisdk.toml"
    settings = EmailAdapter.example_settings()
    path.write_text(f"""
[store]
url = "sqlite:///{tmp_path / 'omni.db'}"
[routing]
acknowledgement = "Thanks, we got your mail"
queues = [{{name = "support"}}]
[accounts.email.support]
addresses = ["support@example.com"]
webhook_secret = "{settings['webhook_secret']}"
""")
    return path


def _lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _mbox(tmp_path) -> Path:
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    for name in THREAD:
        box.add((RECORDINGS / name).read_bytes())
    box.flush()
    return path


def test_an_mbox_is_threaded_in_input_order_like_live_mail(tmp_path, config):
    lines = _lines(CliRunner().invoke(app, ["import", "email", str(_mbox(tmp_path)), "-c", str(config), "--json"]))
    assert [line["file"] for line in lines] == ["0", "1", "2", "3"]
    question, reply, auto, bounce = lines
    assert (question["message_id"], question["rule"]) == ("q-4711-1@mail.customer.example", "new")
    assert (reply["rule"], reply["score"], reply["interaction"]) == ("references", 0.95, question["interaction"])
    assert (auto["rule"], auto["interaction"]) == ("automatic_ignored", None)
    assert bounce["rule"] == "status" and bounce["interaction"] is None


def test_a_maildir_and_an_eml_folder_import_and_imported_mail_gets_no_acknowledgement(tmp_path, config):
    folder = tmp_path / "eml"
    folder.mkdir()
    for name in THREAD[:2]:
        shutil.copy(RECORDINGS / name, folder / name)
    lines = _lines(CliRunner().invoke(app, ["import", "email", str(folder), "-c", str(config), "--json"]))
    assert [line["file"] for line in lines] == THREAD[:2]
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add((RECORDINGS / "thread_reply_subject_token.eml").read_bytes())
    (line,) = _lines(CliRunner().invoke(app, ["import", "email", str(tmp_path / "Maildir"), "-c", str(config),
                                              "--json"]))
    assert line["interaction"] == lines[0]["interaction"]  # same contact, same subject: a scored match
    assert line["rule"] == "scored" and line["score"] >= 0.6
    import sqlite3
    conn = sqlite3.connect(tmp_path / "omni.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)  # no acknowledgement sent
    finally:
        conn.close()


def test_a_dry_run_keeps_nothing_and_a_refused_mail_does_not_stop_the_import(tmp_path, config):
    folder = tmp_path / "eml"
    folder.mkdir()
    shutil.copy(RECORDINGS / "thread_new_question.eml", folder / "a.eml")
    (folder / "b.eml").write_bytes(b"Subject: no sender\r\n\r\nbody\r\n")
    result = CliRunner().invoke(app, ["import", "email", str(folder), "-c", str(config), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "imported 1 of 2 mails (dry run: nothing kept); new 1" in result.stdout
    assert "refused b.eml: missing_field" in result.stdout
    assert not (tmp_path / "omni.db").exists()


def test_a_missing_mailbox_exits_2_with_one_line(tmp_path, config):
    result = CliRunner().invoke(app, ["import", "email", str(tmp_path / "nope"), "-c", str(config)])
    assert result.exit_code == 2 and "cannot read the mailbox" in result.output
