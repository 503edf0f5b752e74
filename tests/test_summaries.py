"""Summaries on demand (``omnisdk_summarize``): a plugin's answer wins; otherwise the core's
local extractive summary, deterministic, over the thread's new text; from the runtime, the API
and the CLI."""

from __future__ import annotations

import api_access
from sample_wire import ingest, message_event

from omnisdk.gateway import create_app
from omnisdk.hookspecs import hookimpl
from omnisdk.plugins import PluginHost
from omnisdk.summaries import MAX_SENTENCES, extractive_summary

THREAD = [
    {"direction": "inbound", "body": {"text": "Hello. My order 42 arrived with a broken screen. "
                                              "The screen has a crack across the middle."}},
    {"direction": "outbound", "body": {"text": "Sorry about that! We will send a new screen for order 42 today."}},
    {"direction": "inbound", "body": {"text": "Thanks. Please send the screen to my office address."}},
    {"direction": "outbound", "body": None},  # a status placeholder row has no body
]


def test_the_summary_keeps_the_threads_key_sentences_in_order_with_their_speakers():
    summary = extractive_summary(THREAD)
    lines = summary.split("\n")
    assert 2 <= len(lines) <= MAX_SENTENCES
    assert lines[0].startswith("Customer: ") and any(line.startswith("Agent: ") for line in lines)
    assert "Customer: My order 42 arrived with a broken screen." in lines
    assert "Hello." not in summary  # a greeting carries no content word
    assert extractive_summary(THREAD) == summary  # deterministic
    assert extractive_summary([]) == "" and extractive_summary(THREAD[3:]) == ""


def test_a_long_sentence_is_cut():
    long = "screen " * 100
    assert extractive_summary([{"direction": "inbound", "body": {"text": long}}]).endswith("…")


class _Llm:
    @hookimpl
    def omnisdk_summarize(self, interaction, messages):
        return f"{len(messages)} messages about {interaction.customer}"


async def test_a_plugins_summary_wins_and_the_builtin_answers_otherwise(runtime):
    await ingest(runtime, message_event(1, text="My order 42 arrived broken."), message_event(2, text="Any news?"))
    (inter,) = await runtime.interactions()
    builtin = await runtime.summarize(inter.id)
    assert builtin.startswith("Customer: My order 42 arrived broken.")
    host = PluginHost()
    host.register(_Llm(), "llm")
    _, _, messages = await runtime.interaction(inter.id)
    assert host.omnisdk_summarize(inter, messages) == "2 messages about +15550100001"
    assert PluginHost().omnisdk_summarize(inter, messages) == builtin


async def test_the_api_serves_the_summary_and_404s_an_unknown_interaction(runtime):
    await ingest(runtime, message_event(1, text="My order 42 arrived broken."))
    (inter,) = await runtime.interactions()
    async with api_access.client(create_app(runtime), await api_access.api_key(runtime)) as client:
        ok = await client.get(f"/v1/interactions/{inter.id}/summary")
        assert ok.status_code == 200
        assert ok.json() == {"interaction_id": inter.id, "summary": "Customer: My order 42 arrived broken."}
        missing = await client.get("/v1/interactions/nope/summary")
        assert missing.status_code == 404


def test_omnisdk_summary_prints_the_summary_and_exits_1_for_an_unknown_id(tmp_path):
    import asyncio

    from typer.testing import CliRunner

    from omnisdk.cli import app
    from omnisdk.config import Settings
    from omnisdk.runtime import Runtime

    db = tmp_path / "omni.db"

    async def one_message():
        rt = Runtime(Settings(store={"url": f"sqlite:///{db}"}, routing={"queues": [{"name": "support"}]}))
        await rt.start()
        try:
            await ingest(rt, message_event(1, text="My order 42 arrived broken. [Please] call me."))
            return (await rt.interactions())[0]
        finally:
            await rt.stop()

    inter = asyncio.run(one_message())
    config = tmp_path / "omnisdk.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    result = CliRunner().invoke(app, ["summary", inter.id[-12:], "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Customer: My order 42 arrived broken.\nCustomer: [Please] call me.\n"
    missing = CliRunner().invoke(app, ["summary", "nope", "--config", str(config)])
    assert missing.exit_code == 1 and "no interaction nope" in missing.output
