"""The messaging window rule: RESPONSE within 24 h, HUMAN_AGENT up to 7 days when enabled, else refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnisdk.errors import StateError
from omnisdk_messenger.errors import WindowClosedError
from omnisdk_messenger.window import HUMAN_AGENT, MESSAGE_TAG, RESPONSE, messaging_type

NOW = datetime(2030, 1, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("age, tag, want", [
    (timedelta(0), False, (RESPONSE, None)),
    (timedelta(hours=23, minutes=59, seconds=59), False, (RESPONSE, None)),
    (timedelta(hours=23, minutes=59, seconds=59), True, (RESPONSE, None)),
    (timedelta(hours=24), True, (MESSAGE_TAG, HUMAN_AGENT)),
    (timedelta(days=6, hours=23, minutes=59), True, (MESSAGE_TAG, HUMAN_AGENT)),
    (timedelta(seconds=-30), False, (RESPONSE, None)),  # clock skew: a message "from the future"
])
def test_open_windows(age, tag, want) -> None:
    kind = messaging_type(NOW - age, NOW, human_agent_tag=tag)
    assert (kind.messaging_type, kind.tag) == want
    fields = kind.fields()
    assert fields["messaging_type"] == want[0] and fields.get("tag") == want[1]


@pytest.mark.parametrize("age, tag", [
    (timedelta(hours=24), False), (timedelta(days=3), False), (timedelta(days=7), True), (timedelta(days=30), True),
])
def test_closed_windows_raise_a_typed_error(age, tag) -> None:
    with pytest.raises(WindowClosedError) as info:
        messaging_type(NOW - age, NOW, human_agent_tag=tag)
    err = info.value
    assert isinstance(err, StateError) and isinstance(err, ValueError)  # the outbox fails it at once
    assert err.elapsed == age and err.human_agent_tag is tag
    assert ("7-day" in str(err)) is tag


def test_no_inbound_message_means_no_window() -> None:
    with pytest.raises(WindowClosedError) as info:
        messaging_type(None, NOW, human_agent_tag=True)
    assert info.value.elapsed is None


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        messaging_type(datetime(2030, 1, 8), NOW, human_agent_tag=False)
    with pytest.raises(ValueError):
        messaging_type(NOW, datetime(2030, 1, 8), human_agent_tag=False)
