"""The rules of :class:`~omnisdk.testkit.ChannelAdapterSuite`, with their tiers and capabilities.

``docs/plugins.md`` renders this table (``python -m omnisdk.testkit.certify.matrix``).
"""

from __future__ import annotations

from omnisdk.testkit.rules import Rule, RuleBook
from omnisdk.testkit.tiers import Tier

B, S, G = Tier.BRONZE, Tier.SILVER, Tier.GOLD

CHANNEL_CAPABILITIES = frozenset(
    {"inbound", "statuses", "send_text", "send_media", "send_template", "handshake"}
)
"""What a channel adapter may declare:

- ``inbound``: verifies and parses provider webhooks (every channel adapter does);
- ``statuses``: its webhooks carry delivery statuses (``io.omnisdk.message.status``);
- ``send_text``, ``send_media``, ``send_template``: ``send()`` carries that content;
- ``handshake``: answers the provider's GET verification handshake.
"""

CHANNEL_RULES = RuleBook(
    [
        Rule("adapter.declaration", B, "class attributes, settings, recordings and sign() are usable"),
        Rule("adapter.capabilities", B, "declared capabilities match what the adapter does"),
        Rule("recordings.parse", B, "every recording verifies when signed and parses to valid events "
             "(matching its expected-events file when there is one)", "inbound"),
        Rule("recordings.expected", B, "every expected-events file is valid and names a recording", "inbound"),
        Rule("signature.missing", B, "a request without its signature is rejected (SignatureError)", "inbound"),
        Rule("signature.forged", B, "a wrong signature or a tampered body is rejected (SignatureError)", "inbound"),
        Rule("signature.malformed", B, "a malformed signature is rejected (SignatureError), never "
             "another exception", "inbound"),
        Rule("signature.constant_time", B, "signatures are compared with hmac.compare_digest", "inbound"),
        Rule("dedupe.redelivery", B, "a redelivered payload gives the same event ids and nothing new "
             "downstream", "inbound"),
        Rule("parse.malformed", B, "malformed and truncated bodies raise PayloadError, never another "
             "exception", "inbound"),
        Rule("secrets.redacted", B, "secrets never appear in reprs, error messages or logs"),
        Rule("parse.fuzz", S, "fuzzed bodies (byte flips, JSON/form mutations, bodies at the size "
             "limit) give valid events or PayloadError; JSON nested 254–1,024 levels raises "
             "PayloadError", "inbound"),
        Rule("status.forward_only", S, "out-of-order delivery statuses never move a message's status "
             "backwards", "statuses"),
        Rule("handshake.verified", S, "the GET handshake answers a valid request and refuses a wrong "
             "token in constant time", "handshake"),
        Rule("outbound.send_text", S, "a text send returns the provider's message id in one request",
             "send_text"),
        Rule("outbound.retry", S, "429 (after Retry-After) and 5xx are retried", "send_text"),
        Rule("outbound.no_retry_4xx", S, "4xx answers are not retried", "send_text"),
        Rule("outbound.idempotency", S, "the idempotency key and body are unchanged across retries",
             "send_text"),
        Rule("outbound.typed_errors", S, "failed sends raise OutboundError subclasses (ValueError for "
             "an answer that can never succeed)", "send_text"),
        Rule("outbound.send_media", G, "a media send succeeds in one request", "send_media"),
        Rule("outbound.send_template", G, "a template send succeeds in one request", "send_template"),
        Rule("events.attributes", G, "message events carry subject, partitionkey and an RFC 3339 time; "
             "statuses a subject; routing and call events a subject and a time", "inbound"),
        Rule("recordings.pinned", G, "every recording has an expected-events file", "inbound"),
    ]
)
