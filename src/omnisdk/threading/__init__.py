"""The threading step of the flow: which interaction a customer message belongs to
(:mod:`~omnisdk.threading.conversations`), and what it does to it: the ownership rules
(:mod:`~omnisdk.threading.ownership`)."""

from omnisdk.threading.conversations import Threaded, thread_message

__all__ = ["Threaded", "thread_message"]
