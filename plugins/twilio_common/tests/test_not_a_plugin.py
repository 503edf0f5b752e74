"""omnisdk-twilio-common is a library both Twilio plugins depend on, not a plugin: the loader,
``omnisdk certify`` and the capability matrix (docs/plugins.md) never take it for one."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from omnisdk.plugins import discover
from omnisdk.testkit.certify.discovery import find_suites
from omnisdk.testkit.certify.matrix import plugin_rows

PLUGINS = Path(__file__).resolve().parents[2]


def test_it_declares_no_entry_point_and_the_loader_does_not_list_it():
    dist = metadata.distribution("omnisdk-twilio-common")
    assert [ep for ep in dist.entry_points if ep.group == "omnisdk"] == []
    names = {s.name for s in discover()}
    assert "twilio_common" not in names and {"sms", "cti_twilio"} <= names


def test_certify_and_the_matrix_skip_it():
    with pytest.raises(LookupError, match="no installed plugin 'twilio_common'"):
        find_suites("twilio_common")
    rows = plugin_rows(PLUGINS)
    assert "omnisdk-twilio-common" not in {r["distribution"] for r in rows}
    assert {"omnisdk-sms", "omnisdk-cti-twilio"} <= {r["distribution"] for r in rows}


def test_both_twilio_plugins_depend_on_it():
    for dist in ("omnisdk-sms", "omnisdk-cti-twilio"):
        requires = metadata.requires(dist) or []
        assert any(r.startswith("omnisdk-twilio-common") for r in requires), dist
