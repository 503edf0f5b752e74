"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify email`` and by ``tests/test_certification.py``.  Importing it needs
``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_email.adapter import EmailAdapter


class EmailSuite(ChannelAdapterSuite):
    """Inbound mail (raw MIME signed as Standard Webhooks specifies) and statuses from DSN
    bounces and MDN read receipts; text and media (as links) sent over SMTP, certified on the
    kit's own SMTP server (``outbound_protocol = "smtp"``).  No templates, no handshake."""

    adapter = EmailAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "statuses", "send_text", "send_media"})
    outbound_protocol = "smtp"  # the kit redirects the account's `smtp` settings to its server
    # Where the message's fields are in the mail (MIME paths, omnisdk.testkit.checks.mime_paths):
    # the To field (RFC 5322 section 3.6.3), the text/plain body; media go as a label line
    # and a URL line each (omnisdk_email.compose: no attachments without a content store).
    outbound_mapping = {
        "to": ("header", "To"),
        "text": ("body", "text/plain"),
        "media.url": ("body", "text/plain", "*"),
        "media.caption": ("body", "text/plain", "*"),
        # a reply threads by In-Reply-To/References from OutboundMessage.email (RFC 5322
        # section 3.6.4), not by reply_to; media goes as links in the text, so there is no
        # provider media id and no attachment file name
        "reply_to": None,
        "media.id": None,
        "media.filename": None,
    }
    # webhook-signature keys on webhook_secret; mailgun_signing_key only keys Mailgun form
    # posts, so changing it must change nothing for the raw-MIME recordings.
    signing_secrets = ("webhook_secret",)
    # spec/standard-webhooks.md; the reference libraries' own signed vector is in
    # recordings/vectors/.
    signature_scheme = "standard_webhooks"
    # The values that choose what a mail becomes (MIME paths of
    # omnisdk.testkit.checks.mime_paths): the report type (RFC 6522), a DSN's Action
    # (RFC 3464 section 2.3.3), an MDN's Disposition (RFC 8098 section 3.2.6), an ARF
    # report's Feedback-Type (RFC 5965 section 3.1).  Auto-Submitted is not one: any value
    # but "no" means automatic (RFC 3834 section 5), extension values included.
    dispatch_fields = {
        "report type": ("header", "Content-Type", "report-type"),
        "DSN action": ("part", "message/delivery-status", "Action"),
        "MDN disposition": ("part", "message/disposition-notification", "Disposition"),
        "feedback type": ("part", "message/feedback-report", "Feedback-Type"),
    }


Suite = EmailSuite
