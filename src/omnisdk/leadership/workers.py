"""What a leader-only worker is: :class:`LeaderWorker`."""

from __future__ import annotations

from typing import Protocol


class LeaderWorker(Protocol):
    """A worker that must run on the routing domain's leader only (a bus inbox consumer, an
    events-out publisher …): :meth:`omnisdk.runtime.Runtime.add_leader_worker`.

    ``start`` is awaited when the process becomes leader (the engine is restored, the processor
    runs), ``stop`` when it stops being one: at once when the lease is lost, so ``stop`` must
    not wait on the network for long (cancel, do not drain).  Either may be called several
    times over a process's life (it can lead, lose, stand by and lead again).
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
