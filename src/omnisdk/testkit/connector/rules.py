"""The rules of :class:`~omnisdk.testkit.CCaaSConnectorSuite` and
:class:`~omnisdk.testkit.CTIConnectorSuite`, with their tiers and capabilities.

A connector receives webhooks like a channel adapter, so both rule books start with the
channel rules that apply to any webhook receiver (same ids, tiers and titles:
:data:`SHARED_RULE_IDS`), then add their own.  ``docs/plugins.md`` renders the tables
(``python -m omnisdk.testkit.certify.matrix``).
"""

from __future__ import annotations

from omnisdk.testkit.channel.rules import CHANNEL_RULES
from omnisdk.testkit.rules import Rule, RuleBook
from omnisdk.testkit.tiers import Tier

B, S, G = Tier.BRONZE, Tier.SILVER, Tier.GOLD

SHARED_RULE_IDS = (
    "adapter.declaration", "adapter.capabilities", "recordings.parse", "recordings.expected",
    "signature.missing", "signature.forged", "signature.malformed", "signature.constant_time",
    "signature.one_secret", "signature.one_change", "signature.no_oracle",
    "dedupe.redelivery", "dedupe.whole_event", "events.unique_ids", "parse.pure",
    "parse.malformed", "secrets.redacted", "parse.fuzz", "signature.provider_vectors",
    "signature.published_scheme", "handshake.verified", "events.attributes", "recordings.pinned",
)
"""Channel rules every connector suite checks too (webhooks, secrets, recordings)."""

CCAAS_CAPABILITIES = frozenset({"inbound", "handshake"})
"""What a CCaaS connector may declare: ``inbound`` (its platform's webhooks: every connector),
``handshake`` (it answers a GET verification handshake)."""

CTI_CAPABILITIES = frozenset({"inbound", "handshake", "place_call"})
"""What a CTI connector may declare: ``inbound``, ``handshake``, and ``place_call`` (it
implements ``dial()``)."""


def _shared() -> list[Rule]:
    return [CHANNEL_RULES[rid] for rid in SHARED_RULE_IDS]


CCAAS_RULES = RuleBook([
    *_shared(),
    Rule("ccaas.declaration", B, "CCaaSSettings with client credentials and a mapped queue, agent and "
         "wrap-up code; recordings of routing.assigned, accepted and ended"),
    Rule("ccaas.token_refresh", B, "a 401 fetches a new token and retries the call once with it, "
         "never more than once"),
    Rule("ccaas.transfer_mapped", B, "transfers go only to mapped queues and agents (their ids sent); "
         "an unmapped target raises MappingError before any HTTP call"),
    Rule("ccaas.wrap_up_mapped", B, "wrap-up sends the mapped code; an unmapped code raises MappingError "
         "before any HTTP call"),
    Rule("ccaas.capacity_released", B, "a transfer makes a call labelled release naming the conversation, "
         "so the CCaaS frees the transferring agent"),
    Rule("ccaas.route", B, "an interaction entering an external queue is routed to the mapped CCaaS queue "
         "with our interaction id; recorded assigned and accepted webhooks offer it and start the work "
         "in a real runtime"),
    Rule("ccaas.disconnect", B, "disconnect() makes a call labelled disconnect naming the conversation, and "
         "the recorded ended webhook then closes the interaction in a real runtime"),
    Rule("ccaas.token_cached", S, "the token is fetched once, reused until it expires, then fetched again"),
])

CTI_RULES = RuleBook([
    *_shared(),
    Rule("cti.declaration", B, "the connector is a CTIConnector whose recordings hold at least one whole "
         "call (ringing to ended)"),
    Rule("cti.transitions", B, "every recorded call's events follow the legal transitions "
         "(omnisdk.connectors.CALL_TRANSITIONS)"),
    Rule("cti.illegal_refused", B, "the connector's call tracker refuses every illegal transition "
         "(ringing → held …)"),
    Rule("cti.call_shape", B, "place_call() sends the E.164 numbers, the agent and the timeout in one "
         "request and returns the CTI's call id", "place_call"),
    Rule("cti.invalid_number", B, "a number that is not E.164 raises ValueError before any HTTP call",
         "place_call"),
])
