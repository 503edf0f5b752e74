"""Calls as voice interactions.

- :mod:`omnisdk.voice.calls`: ``io.omnisdk.call.*`` events applied to voice interactions (the
  processor's part: ring → offer, answered → work in progress, hold, transfer, hang-up → wrap-up,
  missed or abandoned → closed with an automatic code, recording links);
- :mod:`omnisdk.voice.caller`: the context an inbound call's offer carries (the contact matched
  from the caller's number, their open cases and recent interactions on any channel);
- :mod:`omnisdk.voice.controls`: the agent's call controls (answer, hold, resume, transfer,
  hang-up, dial, softphone token): a lifecycle operation, then a
  :class:`~omnisdk.connectors.CallCommand` to the CTI connector.
"""
