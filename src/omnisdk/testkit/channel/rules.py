"""The rules of :class:`~omnisdk.testkit.ChannelAdapterSuite`, with their tiers and capabilities.

``docs/plugins.md`` renders this table (``python -m omnisdk.testkit.certify.matrix``).
"""

from __future__ import annotations

from omnisdk.testkit.rules import Rule, RuleBook
from omnisdk.testkit.tiers import Tier

B, S, G = Tier.BRONZE, Tier.SILVER, Tier.GOLD

CHANNEL_CAPABILITIES = frozenset(
    {"inbound", "statuses", "send_text", "send_media", "send_template", "handshake", "batches"}
)
"""What a channel adapter may declare:

- ``inbound``: verifies and parses provider webhooks (every channel adapter does);
- ``statuses``: its webhooks carry delivery statuses (``io.omnisdk.message.status``);
- ``send_text``, ``send_media``, ``send_template``: ``send()`` carries that content;
- ``handshake``: answers the provider's GET verification handshake;
- ``batches``: the provider puts several items (messages, statuses, events) in one body; the
  suite's ``batch_path`` says where they are.
"""

CHANNEL_RULES = RuleBook(
    [
        Rule("adapter.declaration", B, "class attributes, settings, recordings and sign() are usable"),
        Rule("adapter.capabilities", B, "declared capabilities match what the adapter does (a recording "
             "holding several provider items needs batches)"),
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
        Rule("signature.one_secret", B, "changing exactly one secret or setting of the account refuses the "
             "request when it is a signing secret (or a declared verification setting), and changes "
             "nothing when it is not", "inbound"),
        Rule("signature.one_change", B, "one changed byte, parameter, URL part, header prefix or encoding "
             "is refused, including changes that keep the body's meaning", "inbound"),
        Rule("signature.no_oracle", B, "a refusal's message, cause chain and log hold nothing derived from "
             "a secret (no 8 characters of a secret, its encodings or the expected signature) and its "
             "reason is one of the core's codes", "inbound"),
        Rule("parse.pure", B, "verify() and parse() open no file, socket or subprocess, and read no clock "
             "when the times come from the payload (audit hook)", "inbound"),
        Rule("dedupe.whole_event", B, "parsing the same request twice gives identical events: every "
             "attribute and all data", "inbound"),
        Rule("events.unique_ids", B, "two different recordings never give the same event id (unless "
             "declared redeliveries of each other)", "inbound"),
        Rule("parse.fuzz", S, "fuzzed bodies (byte flips, JSON/form mutations, bodies at the size "
             "limit) give valid events or PayloadError; JSON nested 254–1,024 levels raises "
             "PayloadError", "inbound"),
        Rule("signature.provider_vectors", S, "requests signed by the provider or its own SDK, shipped "
             "with provenance, verify unchanged; the plugin's sign() plays no part", "inbound"),
        Rule("signature.published_scheme", S, "for a published scheme (Meta, Twilio, LINE, Standard "
             "Webhooks) the kit's own signer, checked on the published test values, signs every "
             "recording and verify() accepts it; sign() agrees with it", "inbound"),
        Rule("parse.unknown_values", S, "an undocumented value in each declared dispatch field gives an "
             "unsupported or notice event or PayloadError: never a known type, never a crash", "inbound"),
        Rule("parse.batches", S, "a body holding several recorded items (built by the declared merge "
             "rule) gives every item's events", "batches"),
        Rule("outbound.round_trip", S, "every field the plugin declares it sends appears in the captured "
             "request where its declared mapping says", "send_text"),
        Rule("outbound.credentials", S, "credentials travel only in the declared header, never in the URL, "
             "the body or another header", "send_text"),
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
