"""The plugin test kit against this plugin, at its declared tier (see omnisdk_email.certification)."""

from __future__ import annotations

from omnisdk_email.certification import EmailSuite


class TestEmailCertification(EmailSuite):
    pass
