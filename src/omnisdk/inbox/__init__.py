"""The inbox step of the flow: durable webhook events, applied once each by the processor.

The gateway makes events durable (:meth:`omnisdk.store.Store.append_inbox`); the
:class:`~omnisdk.inbox.processor.Processor` reads the inbox in order and hands each event to
threading, routing and the lifecycle inside one store transaction.
"""

from omnisdk.inbox.processor import Processor, utcnow

__all__ = ["Processor", "utcnow"]
