"""Leadership of a routing domain: the leader lease, the standby, the fence.

- :mod:`~omnisdk.leadership.lease`: what a lease does, its timing, the local lease (SQLite);
- :mod:`~omnisdk.leadership.postgres_lease`: the PostgreSQL lease (a session-level advisory
  lock; imported only for a PostgreSQL store);
- :mod:`~omnisdk.leadership.standby`: :class:`Leadership`, which runs ``on_lead`` / ``on_lose``;
- :mod:`~omnisdk.leadership.select`: :func:`lease_for`, the lease of a store.

docs/scale-out.md, "Core leader and hot standby", has the design, its failure modes and bounds.
"""

from omnisdk.leadership.lease import (
    KEEPALIVE_INTERVAL,
    RETRY_INTERVAL,
    VALIDITY,
    LeaderLease,
    LocalLease,
)
from omnisdk.leadership.select import lease_for
from omnisdk.leadership.standby import Leadership

__all__ = ["KEEPALIVE_INTERVAL", "RETRY_INTERVAL", "VALIDITY", "LeaderLease", "Leadership", "LocalLease", "lease_for"]
