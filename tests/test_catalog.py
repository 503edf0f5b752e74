"""Every event type is documented, and docs/events.md matches the generator."""

from pathlib import Path

from omnisdk.catalog import CATALOG, render
from omnisdk.events import EVENT_TYPES

DOC = Path(__file__).parent.parent / "docs" / "events.md"


def test_every_event_type_is_in_the_catalogue_once():
    listed = [t.type for t in CATALOG]
    assert sorted(listed) == sorted(EVENT_TYPES)
    assert len(set(listed)) == len(listed)


def test_docs_events_md_is_up_to_date():
    assert DOC.read_text() == render(), "run: python -m omnisdk.catalog > docs/events.md"
