"""Interaction lifecycle: legal state transitions and closing with a wrap-up code."""

from omnisdk.lifecycle.states import TRANSITIONS, transition

__all__ = ["TRANSITIONS", "transition"]
