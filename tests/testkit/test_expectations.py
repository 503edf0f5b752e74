"""Expected-events files: subset matching, loading, drafts."""

from __future__ import annotations

import json

import pytest

from omnisdk.events import Event
from omnisdk.testkit.channel import expectations as ex


def _event(**data):
    return Event(id="m-1", source="/kit/acme", type="io.omnisdk.message.received",
                 time="2030-01-01T00:00:00Z", subject="m-1", data={"kind": "text", **data})


def test_dicts_match_as_subsets_and_name_the_path():
    actual = {"a": 1, "b": {"c": "x", "d": [1, 2]}, "e": None}
    assert ex.match({"b": {"c": "x"}}, actual) == []
    assert ex.match({"b": {"c": "y"}}, actual) == ["events.b.c: expected 'y', got 'x'"]
    assert ex.match({"z": 1}, actual) == ["events.z: missing (expected 1)"]


def test_lists_match_element_wise_with_equal_length():
    assert ex.match([{"a": 1}, {}], [{"a": 1, "b": 2}, {"c": 3}]) == []
    assert ex.match([{"a": 1}], [{"a": 1}, {"a": 2}]) == ["events: expected 1 item(s), got 2"]
    assert ex.match([1, 2], [1, 3]) == ["events[1]: expected 2, got 3"]
    assert ex.match([1], {"a": 1}) == ["events: expected a list, got {'a': 1}"]


def test_null_matches_missing_or_null_and_booleans_are_strict():
    assert ex.match({"x": None}, {}) == []
    assert ex.match({"x": None}, {"x": None}) == []
    assert ex.match({"x": None}, {"x": 0}) != []
    assert ex.match({"x": True}, {"x": 1}) != []
    assert ex.match({"x": 1}, {"x": True}) != []
    assert ex.match({"x": 1}, {"x": 1.0}) == []


def test_match_events_uses_the_cloudevents_json_form():
    events = [_event(text="hi")]
    assert ex.match_events([{"id": "m-1", "source": "/kit/acme", "data": {"text": "hi"}}], events) == []
    assert ex.match_events([{"partitionkey": None}], events) == []  # absent attribute
    assert ex.match_events([{"data": {"text": "ho"}}], events) == [
        "events[0].data.text: expected 'ho', got 'hi'"]


def test_load_accepts_a_list_or_an_events_object(tmp_path):
    (tmp_path / "a.json").write_text('[{"id": "1"}]')
    (tmp_path / "b.json").write_text('{"note": "why", "events": [{"id": "2"}]}')
    assert ex.load_expected(tmp_path / "a.json") == [{"id": "1"}]
    assert ex.load_expected(tmp_path / "b.json") == [{"id": "2"}]
    for bad in ("{", '{"id": 1}', "[1]"):
        (tmp_path / "c.json").write_text(bad)
        with pytest.raises(ValueError):
            ex.load_expected(tmp_path / "c.json")


def test_expected_names_follow_the_recording_names(tmp_path):
    (tmp_path / "message").mkdir()
    (tmp_path / "message" / "text.json").write_text("[]")
    (tmp_path / "status_sent.json").write_text("[]")
    assert ex.expected_names(tmp_path) == ["message/text", "status_sent"]
    assert ex.expected_path(tmp_path, "message/text") == tmp_path / "message" / "text.json"
    assert ex.expected_names(tmp_path / "nowhere") == []


def test_draft_pins_ids_types_and_key_fields_and_matches_its_events():
    events = [_event(text="hi", message_id="m-1", customer="+1555", attachments=[{"x": 1}])]
    draft = ex.draft(events)
    assert draft == [{"type": "io.omnisdk.message.received", "id": "m-1", "subject": "m-1",
                      "data": {"message_id": "m-1", "kind": "text", "text": "hi", "customer": "+1555"}}]
    assert ex.match_events(json.loads(json.dumps(draft)), events) == []
