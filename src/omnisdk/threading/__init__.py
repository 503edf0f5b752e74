"""The threading step of the flow: which interaction a customer message belongs to."""

from omnisdk.threading.conversations import Threaded, thread_message

__all__ = ["Threaded", "thread_message"]
