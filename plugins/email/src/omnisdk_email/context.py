"""What the translation of one mail needs from its account and request (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from omnisdk.model.addresses import conversation_key

CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class Context:
    """The receiving account and request.

    Attributes:
        source: the adapter's CloudEvents source (``/email/{account}``).
        received_at: RFC 3339 receive time (the time of a mail without a readable Date).
        addresses: the account's business addresses, the default first.
        trusted_authserv_id: the MTA whose Authentication-Results are believed, or None.
    """

    source: str
    received_at: str
    addresses: tuple[str, ...]
    trusted_authserv_id: str | None = None

    def business(self, *candidates: str | None) -> str:
        """The first candidate that is one of the account's addresses (compared without case:
        mail systems treat local parts case-insensitively in practice, RFC 5321 section 2.4),
        in the account's spelling; else the default (the first address)."""
        owned = {a.lower(): a for a in self.addresses}
        for cand in candidates:
            if cand and cand.lower() in owned:
                return owned[cand.lower()]
        return self.addresses[0]

    def key(self, business: str, customer: str) -> str:
        """The conversation key (:func:`omnisdk.model.conversation_key`)."""
        return conversation_key(self.source, CHANNEL, business, customer)
