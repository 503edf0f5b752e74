"""omnisdk: omnichannel customer-service SDK and runtime.

The core defines the contact-centre vocabulary (messages, interactions, cases, queues, agents,
wrap-up codes) and threads, routes and closes work.  Providers live in separately installed
pluggy plugins (entry-point group ``omnisdk``) that turn webhooks into CloudEvents.
"""

from omnisdk.errors import (
    ConfigError,
    OmniError,
    PayloadError,
    PluginError,
    SignatureError,
    WebhookError,
)
from omnisdk.events import Event

__all__ = [
    "ConfigError",
    "Event",
    "OmniError",
    "PayloadError",
    "PluginError",
    "SignatureError",
    "WebhookError",
]
__version__ = "0.1.0"
