"""The plugin host: fault isolation, allow/block lists, unknown hooks, firstresult, observers."""

from __future__ import annotations

import logging
import types

from omnisdk.events import Event
from omnisdk.hookspecs import hookimpl
from omnisdk.plugins import PluginHost


def test_a_broken_plugin_is_reported_and_the_others_load():
    host = PluginHost()
    host.load_modules(["broken_import", "sample_plugin"])
    assert "broken_import" in host.failures
    assert "RuntimeError" in host.failures["broken_import"]
    assert "sample" in host.adapters()


def test_an_unknown_hook_fails_that_plugin_only():
    host = PluginHost()
    host.load_modules(["unknown_hook", "sample_plugin"])
    assert "omnisdk_adaptors" in host.failures["unknown_hook"]
    assert [p.name for p in host.describe()] == ["sample_plugin"]


def test_allow_and_block_lists():
    host = PluginHost(allow=["sample_plugin"])
    host.load_modules(["broken_import", "sample_plugin"])
    assert host.failures == {} and "sample" in host.adapters()
    host = PluginHost(block=["sample_plugin"])
    host.load_modules(["sample_plugin"])
    assert host.adapters() == {}


def test_entry_point_loading_honours_the_allow_list():
    host = PluginHost(allow=[])
    host.load_entrypoints()
    assert host.describe() == [] and host.failures == {}


def test_a_second_plugin_with_the_same_adapter_name_is_refused():
    import sample_plugin

    twin = types.ModuleType("twin")
    twin.omnisdk_adapters = hookimpl(lambda: [sample_plugin.SampleAdapter])
    host = PluginHost()
    host.load_modules(["sample_plugin"])
    assert host.register(twin, "twin") is False
    assert "already provided" in host.failures["twin"]
    assert host.adapters()["sample"] is sample_plugin.SampleAdapter


def test_decision_hooks_stop_at_the_first_non_none_result():
    calls = []

    class First:
        @hookimpl
        def omnisdk_thread(self, message, default_key):
            calls.append("first")
            return None

    class Second:
        @hookimpl
        def omnisdk_thread(self, message, default_key):
            calls.append("second")
            return "custom-key"

    class Third:
        @hookimpl(trylast=True)
        def omnisdk_thread(self, message, default_key):
            calls.append("third")
            return "never"

    host = PluginHost()
    host.register(Third(), "third")
    host.register(Second(), "second")
    host.register(First(), "first")
    assert host.thread(object(), "chat:b:c") == "custom-key"
    assert "third" not in calls
    assert PluginHost().thread(object(), "chat:b:c") == "chat:b:c"


def test_a_failing_observer_does_not_stop_the_others(caplog):
    seen = []

    class Bad:
        @hookimpl
        def omnisdk_event(self, event):
            raise RuntimeError("observer bug")

    class Good:
        @hookimpl
        def omnisdk_event(self, event):
            seen.append(event.id)

    host = PluginHost()
    host.register(Bad(), "bad")
    host.register(Good(), "good")
    with caplog.at_level(logging.ERROR):
        host.notify([Event(id="e1", source="/s/a", type="io.omnisdk.test")])
    assert seen == ["e1"]
    assert "observer bad failed" in caplog.text


def test_describe_lists_hooks_and_adapters():
    host = PluginHost()
    host.load_modules(["sample_plugin"])
    (info,) = host.describe()
    assert info.hooks == ["omnisdk_adapters"] and info.adapters == ["sample"]
