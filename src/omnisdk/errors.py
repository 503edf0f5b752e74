"""The typed error hierarchy of the core.

Every error the core raises on bad input derives from :class:`OmniError`.  Webhook errors carry
the HTTP status the gateway answers with, so a bad request is always a 4xx, never a 500.
Messages never contain secrets: build them from field *names*, never from values that may be
credentials.
"""

from __future__ import annotations

from typing import Literal, get_args

WebhookReason = Literal[
    "bad_request", "not_found", "method_not_allowed", "payload_too_large", "client_disconnected",
    "plugin_error", "store_unavailable", "bus_unavailable", "foreign_business_address", "request_timeout", "too_many_bodies",
    # an event naming a message of another conversation (403: a web chat receipt)
    "foreign_message",
    # the signature or token (401)
    "bad_signature", "missing_signature", "malformed_signature", "stale_signature", "bad_verify_token",
    # the body (400)
    "bad_handshake", "malformed_payload", "missing_field", "stale_event", "unknown_status", "unknown_type",
    "unknown_charset", "unsupported_object", "unsupported_content_type",
]
"""The reason codes a webhook refusal may carry to the caller (the ``error`` of the gateway's
JSON answer, the ``rejected.<reason>`` counters and the metrics' ``reason`` label)."""

WEBHOOK_REASONS: frozenset[str] = frozenset(get_args(WebhookReason))
""":data:`WebhookReason` as a set."""

WEBHOOK_REASON_MEANINGS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "the request is wrong in a way no other code names (the default of `WebhookError`, "
                    "and the code a plugin's own unknown reason is answered with)"),
    "not_found": (404, "no such plugin, or no such account of it (`UnknownTargetError`)"),
    "method_not_allowed": (405, "a method the adapter's webhooks do not use (not POST, nor a GET it handshakes "
                           "or lists in `webhook_methods`)"),
    "payload_too_large": (413, "the body is over the adapter's `max_body_bytes` (`PayloadTooLargeError`)"),
    "client_disconnected": (400, "the sender closed the connection before the whole body arrived"),
    "plugin_error": (400, "the plugin raised something other than a `WebhookError`, or returned invalid "
                     "events: a contract breach, logged with its traceback"),
    "store_unavailable": (503, "the store could not commit the events (with `Retry-After`; the provider "
                          "retries, nothing is lost)"),
    "bus_unavailable": (503, "a gateway (`serve --role gateway`) could not get JetStream's acknowledgement of "
                        "the events in time: NATS is down or slow (with `Retry-After`; nothing was answered 2xx, "
                        "the provider retries)"),
    "foreign_business_address": (403, "an event names a business address the account does not own "
                                 "(`business_addresses()`); nothing of the webhook is stored"),
    "foreign_message": (403, "an event names a message of another conversation (a web chat visitor's "
                        "receipt for a message id its session was not given); nothing is stored"),
    "request_timeout": (408, "the body did not arrive within `[gateway] body_timeout` seconds "
                        "(`RequestTimeoutError`; the connection is closed)"),
    "too_many_bodies": (503, "`[gateway] max_concurrent_bodies` bodies are already arriving "
                        "(`GatewayBusyError`, with `Retry-After`)"),
    "bad_signature": (401, "the signature or token does not verify (the default of `SignatureError`)"),
    "missing_signature": (401, "the signature header (or token) is absent"),
    "malformed_signature": (401, "the signature is not in the scheme's form (wrong prefix, length, "
                            "encoding)"),
    "stale_signature": (401, "the signature's timestamp is outside the scheme's tolerance of the receive "
                        "time (a replay, or a clock far off)"),
    "bad_verify_token": (401, "the GET handshake's verify token is wrong"),
    "bad_handshake": (400, "the GET handshake lacks a parameter or has a bad one (mode, challenge)"),
    "malformed_payload": (400, "the body is not what the provider documents: invalid, truncated, too deep "
                          "(the default of `PayloadError`)"),
    "missing_field": (400, "a field the provider always sends is absent"),
    "stale_event": (400, "the event's own timestamp is older than the adapter allows (a replay of a signed "
                    "body whose signature covers no time, e.g. Genesys Cloud's outbound webhooks)"),
    "unknown_status": (400, "a delivery status word the provider does not document"),
    "unknown_type": (400, "an event or message type the provider does not document, where the plugin "
                     "cannot keep it as an unsupported or notice event"),
    "unknown_charset": (400, "a text declared in a character set the plugin cannot decode"),
    "unsupported_object": (400, "a webhook for another product of the provider (Messenger's `object` is "
                           "not `page`)"),
    "unsupported_content_type": (400, "a body of a content type the adapter does not read"),
}
"""What each of :data:`WEBHOOK_REASONS` means: ``{code: (the HTTP status it is answered with,
what it means)}``.  A code refined by a plugin is answered with its error class's status
(``SignatureError`` 401, ``PayloadError`` 400).  ``docs/plugin-contract.md`` renders it
(``python -m omnisdk.catalog hooks docs/plugin-contract.md``); a test checks that it covers
every code and nothing else."""


class OmniError(Exception):
    """Base class of every omnisdk error."""


class ConfigError(OmniError):
    """The configuration file or environment is invalid (raised at start-up)."""


class PluginError(OmniError):
    """A plugin failed to load or broke the plugin contract."""


class WebhookError(OmniError):
    """A webhook request was refused.

    Attributes:
        status: the HTTP status code the gateway answers with (4xx).
        reason: a short, secret-free, machine-friendly reason (``"bad_signature"`` …).
    """

    status: int = 400
    reason: str = "bad_request"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def public_reason(self) -> str:
        """The reason code safe to tell the caller: :attr:`reason` when it is one of
        :data:`WEBHOOK_REASONS`, else the default of the nearest core error class it derives
        from (``bad_signature`` for a :class:`SignatureError`, ``malformed_payload`` for a
        :class:`PayloadError`, ``bad_request`` otherwise).  A plugin's own text in ``reason``
        (which might hold a digest or a secret) never leaves the process: the gateway logs
        it for the operator."""
        if isinstance(self.reason, str) and self.reason in WEBHOOK_REASONS:
            return self.reason
        for klass in type(self).__mro__:
            default = vars(klass).get("reason")
            if klass.__module__.startswith("omnisdk.") and default in WEBHOOK_REASONS:
                return default
        return "bad_request"


class SignatureError(WebhookError):
    """The request's signature or token is missing, malformed or does not verify (HTTP 401)."""

    status = 401
    reason = "bad_signature"


class PayloadError(WebhookError):
    """The request body is malformed, truncated or not what the provider documents (HTTP 400)."""

    status = 400
    reason = "malformed_payload"


class UnknownTargetError(WebhookError):
    """Unknown plugin or account (HTTP 404)."""

    status = 404
    reason = "not_found"


class PayloadTooLargeError(WebhookError):
    """The body exceeds the configured limit (HTTP 413)."""

    status = 413
    reason = "payload_too_large"


class PhoneNumberError(OmniError, ValueError):
    """A phone number that is not E.164 (``+``, country code, number) or not possible for its
    country (:func:`omnisdk.model.addresses.check_e164`): HTTP 400 ``bad_request`` over the
    agent API.  A ``ValueError``, so pydantic validators and older callers still catch it."""


class StateError(OmniError):
    """An illegal interaction state transition (HTTP 409 over the agent API)."""


class OptedOutError(StateError):
    """A send to an address whose customer opted out (SMS STOP): refused before any I/O (HTTP
    409 over the agent API), until the customer opts in again (START)."""


class InteractionHeldError(StateError):
    """An agent starts a conversation (SMS) with a customer whose conversation on that number
    is active with another agent: refused (HTTP 409 ``held_by_another_agent``), naming the
    holder, so that the agent asks them (or a supervisor) for a transfer.

    Attributes:
        interaction_id: the active interaction.  holder: the agent who holds it.
    """

    def __init__(self, message: str, *, interaction_id: str, holder: str) -> None:
        super().__init__(message)
        self.interaction_id = interaction_id
        self.holder = holder


class WindowClosedError(StateError):
    """A free-form send to a customer whose customer-service window is closed: the channel lets
    a business answer only within a time after the customer's last message (WhatsApp: 24 hours,
    a template may open a conversation at any time; Messenger: 24 hours, 7 with the HUMAN_AGENT
    tag).  Refused before any I/O (HTTP 409 ``window_closed`` over the agent API).

    Attributes:
        closes_at: when the window closed (epoch seconds, UTC), or None if the customer never
            wrote on this account.
    """

    def __init__(self, message: str, *, closes_at: float | None = None) -> None:
        super().__init__(message)
        self.closes_at = closes_at


class NotFoundError(StateError):
    """An operation names an interaction (or agent, queue, case) that does not exist (HTTP 404
    over the agent API).  A :class:`StateError`, so callers that catch that still catch it."""


class RequestTimeoutError(WebhookError):
    """The client did not send the whole webhook body within ``[gateway] body_timeout``
    seconds (HTTP 408; the gateway then closes the connection)."""

    status = 408
    reason = "request_timeout"


class GatewayBusyError(WebhookError):
    """``[gateway] max_concurrent_bodies`` webhook bodies are already being received (HTTP 503
    with ``Retry-After``; the provider retries)."""

    status = 503
    reason = "too_many_bodies"


class AccessError(OmniError):
    """A request to the agent API was refused by its access controls.

    Attributes:
        status: the HTTP status the API answers with.
        reason: the ``error`` field of the answer.
    """

    status: int = 401
    reason: str = "unauthorized"


class UnauthenticatedError(AccessError):
    """No credentials, or credentials that are malformed, unknown, revoked, expired, for
    another audience or badly signed (HTTP 401 with ``WWW-Authenticate``).  The message says
    which, never the credential."""


class ForbiddenError(AccessError):
    """Valid credentials whose role or scopes do not allow the call, or that name work, an
    agent or a queue outside the caller's reach (HTTP 403)."""

    status = 403
    reason = "forbidden"


class RateLimitedError(AccessError):
    """Too many requests for one API key, token subject or client address (HTTP 429 with
    ``Retry-After``).

    Attributes:
        retry_after: whole seconds until the window lets the next request through (at least 1).
    """

    status = 429
    reason = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class AuthUnavailableError(AccessError):
    """The identity provider's keys (JWKS) cannot be fetched and none are cached (HTTP 503):
    the token may be good, so this is not a 401."""

    status = 503
    reason = "auth_unavailable"
