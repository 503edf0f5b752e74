"""Test-only CCaaS connector ``journal``: each call it makes is one JSON line in a file, and it can
SIGKILL its own process just before (or just after) a call.

Loaded by the connector-call durability test's server subprocess (``[plugins] modules``).  The
"CCaaS" is the journal file: a line ``{"op", "interaction_id", "key"}`` per call made, ``key``
the idempotency reference the outbox fixed (:data:`omnisdk.connectors.CALL_KEY`).  When the file
``kill_marker`` exists, the next call removes it and kills the process with SIGKILL, before
writing its line (``kill_when = "before"``, a crash between the commit and the call) or after it
(``"after"``, a crash between the call and the outbox's record of it).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Literal

import orjson

from omnisdk.connectors import CALL_KEY, CCaaSConnector, CCaaSSettings
from omnisdk.hookspecs import hookimpl

OMNISDK_PLUGIN_API = 1


class JournalSettings(CCaaSSettings):
    journal: str
    kill_marker: str
    kill_when: Literal["before", "after"] = "before"


class JournalConnector(CCaaSConnector):
    name = "journal"
    Settings = JournalSettings
    settings: JournalSettings

    def verify(self, request):  # no webhooks in this test
        return None

    def parse(self, request):
        return []

    def _call(self, op: str, interaction_id: str) -> None:
        marker = Path(self.settings.kill_marker)
        kill = marker.exists()
        if kill:
            marker.unlink()
            if self.settings.kill_when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
        line = orjson.dumps({"op": op, "interaction_id": interaction_id, "key": CALL_KEY.get()})
        with open(self.settings.journal, "ab") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)

    async def route(self, interaction, queue):
        self.map_queue(queue)
        self._call("route", interaction.id)

    async def transfer(self, interaction, to_agent=None, to_queue=None):
        self.transfer_target(to_agent, to_queue)
        self._call("transfer", interaction.id)

    async def wrap_up(self, interaction, code):
        self._call("wrap_up", interaction.id)

    async def disconnect(self, interaction):
        self._call("disconnect", interaction.id)


@hookimpl
def omnisdk_adapters():
    return [JournalConnector]
