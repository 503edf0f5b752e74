"""A pull-based inbound transport that only records its runs: what a test of *where* a
transport runs (which role, the leader or not) needs, without a source to read."""

from __future__ import annotations


class Probe:
    """A transport that only records its runs (``runs`` started, ``running`` now), as a mailbox
    reader would poll until stopped; ``exclusive`` as :attr:`omnisdk.adapters.InboundTransport.exclusive`."""

    def __init__(self, name: str, exclusive: bool) -> None:
        self.name = name
        self.exclusive = exclusive
        self.runs = 0
        self.running = False

    async def run(self, deliver, stop, count) -> None:
        self.runs += 1
        self.running = True
        try:
            await stop.wait()
        finally:
            self.running = False
