"""Per-account settings of the ``email`` plugin: one set of business mailboxes each."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from pydantic import Field, SecretStr, field_validator

from omnisdk.adapters import AccountSettings
from omnisdk_email.imap import ImapSettings
from omnisdk_email.signature import secret_key
from omnisdk_email.smtp import SmtpSettings

DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""25 MiB: the largest mail accepted by default (Mailgun's own inbound limit is 25 MB,
documentation.mailgun.com "Receiving, Forwarding and Storing Messages")."""


def normalise_address(value: str) -> str:
    """``Local@Example.COM`` → ``Local@example.com``: an RFC 5322 section 3.4.1 addr-spec
    with its domain lower-cased (domains are case-insensitive, RFC 5321 section 2.4; local
    parts may not be, so they are kept).

    Raises:
        ValueError: not a bare addr-spec (a display name, no ``@``, an empty part).
    """
    name, spec = parseaddr(value)
    if name or not spec or spec != value.strip():
        raise ValueError("must be a bare address such as support@example.com")
    try:
        addr = Address(addr_spec=spec)
    except (ValueError, IndexError, TypeError):
        raise ValueError("must be a bare address such as support@example.com") from None
    if not addr.username or not addr.domain or "." not in addr.domain:
        raise ValueError("must be a bare address such as support@example.com")
    return f"{addr.username}@{addr.domain.lower()}"


class EmailSettings(AccountSettings):
    """Settings of one email account (a set of business mailboxes).

    Attributes:
        addresses: the business addresses the account receives mail for (addr-specs, RFC 5322
            section 3.4.1); their domains are lower-cased.  The first is the default sender
            and the ``business`` of a mail that names none of them.
        webhook_secret: the Standard Webhooks secret (``whsec_`` + base64 of at least 16
            bytes) that signs raw-MIME POSTs (``Content-Type: message/rfc822``), see
            :mod:`omnisdk_email.signature`.
        mailgun_signing_key: Mailgun's "HTTP webhook signing key", set when a Mailgun route
            forwards to this account (documentation.mailgun.com/docs/mailgun/user-manual/
            webhooks/securing-webhooks); None refuses Mailgun posts.
        max_message_bytes: the largest mail accepted (bytes of the MIME message); larger
            ones are refused with a PayloadError naming the size.
        trusted_authserv_id: the authserv-id (RFC 8601 section 2.5) of the receiving MTA
            whose ``Authentication-Results`` header fields are believed; None believes none.
        smtp: the submission server our mail goes out through
            (:class:`omnisdk_email.smtp.SmtpSettings`); None refuses sends.
        sender_name: the display name of our ``From`` (RFC 5322 section 3.6.2).
        imap: a mailbox the account's inbound mail is read from
            (:class:`omnisdk_email.imap.ImapSettings`, run by :class:`omnisdk_email.imap.ImapTransport`);
            None: mail arrives by webhook only.
    """

    addresses: tuple[str, ...] = Field(description="Business addresses the account receives for.")
    webhook_secret: SecretStr = Field(description="Standard Webhooks secret (whsec_…) of raw-MIME posts.")
    mailgun_signing_key: SecretStr | None = Field(
        None, description="Mailgun HTTP webhook signing key (Mailgun route posts)."
    )
    max_message_bytes: int = Field(
        DEFAULT_MAX_MESSAGE_BYTES, gt=0, description="Largest accepted mail, bytes."
    )
    trusted_authserv_id: str | None = Field(
        None, description="authserv-id of the MTA whose Authentication-Results are trusted."
    )
    smtp: SmtpSettings | None = Field(
        None, description="The SMTP server replies are sent through (omnisdk_email.smtp); None: no sending."
    )
    sender_name: str | None = Field(
        None, description="Display name of the From field of our mail (e.g. 'Acme Support')."
    )
    imap: ImapSettings | None = Field(
        None, description="The IMAP mailbox inbound mail is read from (omnisdk_email.imap); None: webhooks only."
    )

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one business address")
        out: list[str] = []
        for i, raw in enumerate(value):
            try:
                addr = normalise_address(raw)
            except ValueError as exc:
                raise ValueError(f"addresses[{i}] {exc}") from None
            if addr not in out:
                out.append(addr)
        return tuple(out)

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        secret_key(value.get_secret_value())  # ValueError says what is wrong, never the value
        return value

    @field_validator("trusted_authserv_id")
    @classmethod
    def _authserv(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not value or any(c.isspace() or c == ";" for c in value):
            raise ValueError("trusted_authserv_id must be one authserv-id such as mx.example.com")
        return value
