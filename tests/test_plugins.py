"""The plugin host: fault isolation, allow/block lists, unknown hooks, firstresult, observers in
pluggy's order, wrapper refusal, plugin API and core-version compatibility, one discovery."""

from __future__ import annotations

import json
import logging
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisdk import cli
from omnisdk.events import Event
from omnisdk.hookspecs import hookimpl
from omnisdk.plugins import PLUGIN_API, PluginHost, core_version, discover
from omnisdk.testkit.certify.discovery import find_suites

EVENT = Event(id="e1", source="/s/a", type="io.omnisdk.test")


def test_a_broken_plugin_is_reported_and_the_others_load():
    host = PluginHost()
    host.load_modules(["broken_import", "sample_plugin"])
    assert "broken_import" in host.failures
    assert "RuntimeError" in host.failures["broken_import"]
    assert "sample" in host.omnisdk_adapters()


def test_an_unknown_hook_fails_that_plugin_only():
    host = PluginHost()
    host.load_modules(["unknown_hook", "sample_plugin"])
    assert "omnisdk_adaptors" in host.failures["unknown_hook"]
    assert [p.name for p in host.describe()] == ["sample_plugin"]


def test_allow_and_block_lists():
    host = PluginHost(allow=["sample_plugin"])
    host.load_modules(["broken_import", "sample_plugin"])
    assert host.failures == {} and "sample" in host.omnisdk_adapters()
    host = PluginHost(block=["sample_plugin"])
    host.load_modules(["sample_plugin"])
    assert host.omnisdk_adapters() == {}


def test_entry_point_loading_honours_the_allow_list():
    host = PluginHost(allow=[])
    host.load_entrypoints()
    assert host.describe() == [] and host.failures == {}


def test_the_installed_plugins_load_and_declare_a_core_range():
    host = PluginHost(allow=["whatsapp", "sms"])
    host.load_entrypoints()
    assert host.failures == {}
    assert {"whatsapp", "sms"} <= set(host.omnisdk_adapters())
    for source in discover():
        if source.name in ("whatsapp", "sms"):
            assert source.distribution == f"omnisdk-{source.name}"
            assert source.requires_core is not None


def test_a_second_plugin_with_the_same_adapter_name_is_refused():
    import sample_plugin

    twin = types.ModuleType("twin")
    twin.omnisdk_adapters = hookimpl(lambda: [sample_plugin.SampleAdapter])
    host = PluginHost()
    host.load_modules(["sample_plugin"])
    assert host.register(twin, "twin") is False
    assert "already provided" in host.failures["twin"]
    assert host.omnisdk_adapters()["sample"] is sample_plugin.SampleAdapter


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
    assert host.omnisdk_thread(object(), "chat:b:c") == "custom-key"
    assert "third" not in calls
    assert PluginHost().omnisdk_thread(object(), "chat:b:c") == "chat:b:c"


def test_select_queue_select_agent_and_virtual_agent_turn_take_the_first_answer():
    class Late:
        @hookimpl(trylast=True)
        def omnisdk_select_queue(self, interaction, queues):
            return "late"

        @hookimpl(trylast=True)
        def omnisdk_select_agent(self, interaction, queue, candidates):
            return "late-agent"

        @hookimpl(trylast=True)
        def omnisdk_virtual_agent_turn(self, interaction, message, history):
            return "late-turn"

    class Early:
        @hookimpl(tryfirst=True)
        def omnisdk_select_queue(self, interaction, queues):
            return queues[1]

        @hookimpl(tryfirst=True)
        def omnisdk_select_agent(self, interaction, candidates):  # a subset of the arguments
            return candidates[0]

        @hookimpl(tryfirst=True)
        def omnisdk_virtual_agent_turn(self, history):
            return None  # not this plugin's bot: the next one answers

    host = PluginHost()
    assert host.omnisdk_select_queue(object(), ["a", "b"]) is None
    host.register(Early(), "early")
    host.register(Late(), "late")
    assert host.omnisdk_select_queue(object(), ["a", "b"]) == "b"
    assert host.omnisdk_select_agent(object(), object(), ["ag-1", "ag-2"]) == "ag-1"
    assert host.omnisdk_virtual_agent_turn(object(), object(), []) == "late-turn"


def _three_observers(calls: list[str]) -> list[object]:
    """Three plugins implementing every observer hook: tryfirst, plain and trylast."""

    def plugin(tag: str, **opts: bool) -> object:
        class Observer:
            @hookimpl(**opts)
            def omnisdk_event(self, event):
                calls.append(tag)

            @hookimpl(**opts)
            def omnisdk_routing_attributes(self, interaction, message):
                calls.append(tag)
                return {"tier": tag}

            @hookimpl(**opts)
            def omnisdk_external_route(self, interaction, queue):
                calls.append(tag)

            @hookimpl(**opts)
            def omnisdk_external_transfer(self, interaction, to_agent, to_queue):
                calls.append(tag)

            @hookimpl(**opts)
            def omnisdk_external_wrap_up(self, interaction, code):
                calls.append(tag)

        return Observer()

    return [plugin("last", trylast=True), plugin("plain-1"), plugin("first", tryfirst=True),
            plugin("plain-2")]


def test_observers_are_called_in_pluggys_own_order():
    calls: list[str] = []
    host = PluginHost()
    for i, observer in enumerate(_three_observers(calls)):
        assert host.register(observer, f"observer-{i}")
    kwargs = {"interaction": object(), "message": object(), "queue": object(), "to_agent": None,
              "to_queue": "q", "target_queue": None, "code": "done", "event": EVENT}
    inter, message, queue = kwargs["interaction"], kwargs["message"], kwargs["queue"]
    for hook, facade in [
        ("omnisdk_event", lambda: host.omnisdk_event([EVENT])),
        ("omnisdk_routing_attributes", lambda: host.omnisdk_routing_attributes(inter, message)),
        ("omnisdk_external_route", lambda: host.omnisdk_external_route(inter, queue)),
        ("omnisdk_external_transfer", lambda: host.omnisdk_external_transfer(inter, None, "q", queue, None)),
        ("omnisdk_external_wrap_up", lambda: host.omnisdk_external_wrap_up(inter, "done", queue)),
    ]:
        caller = getattr(host.pm.hook, hook)
        calls.clear()
        caller(**{k: kwargs[k] for k in caller.spec.argnames})
        pluggys = list(calls)
        calls.clear()
        facade()
        assert calls == pluggys == ["first", "plain-2", "plain-1", "last"], hook
        assert [i.plugin_name for i in host.call_order(hook)] == [
            "observer-2", "observer-3", "observer-1", "observer-0"]


def test_routing_attributes_merge_with_the_first_called_plugin_winning():
    calls: list[str] = []
    host = PluginHost()
    for i, observer in enumerate(_three_observers(calls)):
        host.register(observer, f"observer-{i}")

    class Language:
        @hookimpl
        def omnisdk_routing_attributes(self, message):
            return {"language": "de", 7: 8}

    host.register(Language(), "language")
    assert host.omnisdk_routing_attributes(object(), object()) == {"tier": "first", "language": "de", "7": "8"}


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

    class BadRoute:
        @hookimpl(tryfirst=True)
        def omnisdk_external_route(self, interaction, queue):
            raise RuntimeError("connector bug")

    class GoodRoute:
        @hookimpl
        def omnisdk_external_route(self, interaction, queue):
            seen.append("routed")

    host = PluginHost()
    for name, plugin in [("good", Good()), ("bad", Bad()), ("bad-route", BadRoute()), ("good-route", GoodRoute())]:
        host.register(plugin, name)
    with caplog.at_level(logging.ERROR):
        host.omnisdk_event([EVENT])
        host.omnisdk_external_route(object(), object())
    assert seen == ["e1", "routed"]
    assert "omnisdk_event of plugin bad failed on event e1" in caplog.text
    assert "omnisdk_external_route of plugin bad-route failed" in caplog.text


@pytest.mark.parametrize("opts", [{"wrapper": True}, {"hookwrapper": True}])
def test_a_wrapper_of_an_observer_hook_is_refused(opts):
    class Wrapping:
        @hookimpl(**opts)
        def omnisdk_external_wrap_up(self, interaction, code):
            yield

    host = PluginHost()
    host.load_modules(["sample_plugin"])
    assert host.register(Wrapping(), "wrapping") is False
    assert "omnisdk_external_wrap_up is an observer hook" in host.failures["wrapping"]
    assert "wrapping" not in [p.name for p in host.describe()]
    assert host.pm.get_plugin("wrapping") is None
    host.load_modules(["wrapping_observer"])
    assert "omnisdk_event is an observer hook" in host.failures["wrapping_observer"]
    assert [p.name for p in host.describe()] == ["sample_plugin"]


def test_a_wrapper_of_a_decision_hook_is_accepted():
    class Wrapping:
        @hookimpl(wrapper=True)
        def omnisdk_thread(self, message, default_key):
            key = yield
            return f"wrapped:{key}"

    class Deciding:
        @hookimpl
        def omnisdk_thread(self, message, default_key):
            return "k"

    host = PluginHost()
    assert host.register(Deciding(), "deciding") and host.register(Wrapping(), "wrapping")
    assert host.omnisdk_thread(object(), "default") == "wrapped:k"


def test_a_plugin_built_for_another_plugin_api_is_refused():
    host = PluginHost()
    host.load_modules(["future_api", "no_api", "sample_plugin"])
    assert PLUGIN_API == 1
    assert host.failures["future_api"] == (
        f"built for plugin API 2, but this core (omnisdk {core_version()}) speaks plugin API 1: "
        "install a release of the plugin built for API 1")
    assert "declares no plugin API (set OMNISDK_PLUGIN_API = 1 in no_api)" in host.failures["no_api"]
    assert [p.name for p in host.describe()] == ["sample_plugin"]


def test_omnisdk_plugins_prints_the_refusal(tmp_path):
    config = tmp_path / "omnisdk.toml"
    config.write_text('[plugins]\nallow = ["future_api", "sample_plugin"]\n'
                      'modules = ["future_api", "sample_plugin"]\n')
    result = CliRunner().invoke(cli.app, ["plugins", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [p["name"] for p in doc["plugins"]] == ["sample_plugin"]
    assert "built for plugin API 2" in doc["failures"]["future_api"]
    result = CliRunner().invoke(cli.app, ["plugins", "--config", str(config)])
    assert "future_api not loaded: built for plugin API 2" in " ".join(result.output.split())


def _install_fake_distribution(root: Path, name: str, requires: str, module: str) -> None:
    """A ``.dist-info`` on ``root`` (put on sys.path) registering ``module`` as plugin ``name``."""
    info = root / f"omnisdk_{name}-9.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: omnisdk-{name}\nVersion: 9.0.0\nRequires-Dist: {requires}\n"
        'Requires-Dist: omnisdk[testkit]; extra == "test"\n')
    (info / "entry_points.txt").write_text(f"[omnisdk]\n{name} = {module}\n")


def test_a_distribution_requiring_another_core_version_is_refused_everywhere(tmp_path, monkeypatch):
    _install_fake_distribution(tmp_path, "fromthefuture", "omnisdk>=9,<10", "sample_plugin")
    _install_fake_distribution(tmp_path, "inrange", f"omnisdk>={core_version()}", "sample_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {s.name: s for s in discover()}
    assert found["fromthefuture"].requires_core == "<10,>=9"
    assert found["fromthefuture"].distribution == "omnisdk-fromthefuture"
    # the runtime's and the CLI's loader
    host = PluginHost(allow=["fromthefuture", "inrange"])
    host.load_entrypoints()
    assert host.failures == {"fromthefuture": (
        f"omnisdk-fromthefuture 9.0.0 requires omnisdk<10,>=9, but omnisdk {core_version()} is installed")}
    assert [(p.name, p.distribution, p.version) for p in host.describe()] == [
        ("inrange", "omnisdk-inrange", "9.0.0")]
    # omnisdk certify walks the same discovery and applies the same checks
    with pytest.raises(LookupError, match="does not load: omnisdk-fromthefuture 9.0.0 requires"):
        find_suites("fromthefuture")
    assert find_suites("inrange").origin == "default suite (no certification module)"
    with pytest.raises(LookupError, match="installed: .*fromthefuture.*inrange"):
        find_suites("nothere")


def test_certify_refuses_a_plugin_built_for_another_plugin_api(tmp_path, monkeypatch):
    _install_fake_distribution(tmp_path, "oldapi", "omnisdk", "future_api")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LookupError, match="does not load: built for plugin API 2"):
        find_suites("oldapi")


def test_describe_lists_hooks_and_adapters():
    host = PluginHost()
    host.load_modules(["sample_plugin"])
    (info,) = host.describe()
    assert info.hooks == ["omnisdk_adapters"] and info.adapters == ["sample"]
