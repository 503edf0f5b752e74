"""omnisdk-email: the email channel.

Inbound mail arrives as a signed raw-MIME POST or through a Mailgun route and becomes
CloudEvents: messages (with their threading fields), delivery statuses from bounces and read
receipts, notices for complaints.  See the package README for settings and URLs.
"""

from omnisdk_email.adapter import EmailAdapter
from omnisdk_email.settings import EmailSettings

__all__ = ["EmailAdapter", "EmailSettings"]
