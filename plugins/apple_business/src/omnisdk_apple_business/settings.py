"""Per-account settings of the Apple Messages for Business plugin: one account is one
Messaging Service Provider (MSP) registration serving one or more businesses.

Where each value comes from (Apple's Messages for Business REST API documentation,
https://register.apple.com/resources/messages/msp-rest-api/ and the Business Chat REST API
https://developer.apple.com/documentation/businesschatapi):

- ``msp_id``: the MSP (formerly CSP) id Apple gives at registration; the ``aud`` of the JWT
  Apple sends, and the ``iss`` of the JWTs we send
  (https://developer.apple.com/documentation/businesschatapi/authorizing_messages).
- ``msp_secret``: the "Messaging API secret key", a base64-encoded string Apple gives at
  registration; its base64-decoded bytes are the HS256 key of every JWT, both ways (same page,
  "Create a JSON Web Token").
- ``business_id`` / ``business_ids``: the business ids (Apple Messages for Business account ids,
  register.apple.com) this account answers for; Apple sends the one a customer wrote to as
  ``destination-id`` (https://developer.apple.com/documentation/businesschatapi/integrating_with_business_chat,
  "HTTP Headers"), and every reply carries it as ``source-id``.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, SecretStr, field_validator

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://mspgw.push.apple.com"
"""Messages for Business service host (https://register.apple.com/resources/messages/msp-rest-api/messages-sent)."""
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
"""Apple: attachments "up to 100MB" (https://register.apple.com/resources/messages/msp-rest-api/, Required Features)."""


def decode_secret(value: str) -> bytes:
    """The HMAC key: the base64-decoded MSP secret.

    Raises:
        ValueError: not base64 (standard alphabet, padded), or empty once decoded.  The
            message never holds the value.
    """
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64 (Apple gives the secret base64-encoded)") from None
    if not key:
        raise ValueError("decodes to an empty key")
    return key


class AppleBusinessSettings(AccountSettings):
    """Settings of one MSP account (``[accounts.apple_business.<account>]``).

    The secret is a non-empty :class:`~pydantic.SecretStr` holding base64 text: masked in
    reprs, logs and validation errors.

    Raises:
        pydantic.ValidationError: on construction, for a missing, unknown or malformed key
            (a secret that is not base64 included).
    """

    msp_id: str = Field(min_length=1, max_length=200, pattern=r"^\S+$",
                        description="The MSP id: the JWT 'aud' Apple sends and our 'iss'.")
    msp_secret: SecretStr = Field(description="Messaging API secret key, base64 as Apple gives it.")
    business_id: str = Field(min_length=1, max_length=200, pattern=r"^\S+$",
                             description="The business id: destination-id inbound, source-id outbound.")
    business_ids: list[str] = Field(default_factory=list, description="More business ids of this MSP account.")
    api_base_url: str | None = Field(DEFAULT_API_BASE_URL, description="Messages for Business service root.")
    token_max_age: float = Field(600.0, gt=0, le=86400,
                                 description="Seconds after its iat an inbound JWT is still accepted.")
    clock_skew: float = Field(60.0, ge=0, le=600, description="Seconds an iat may lie in the future.")
    max_body_bytes: int = Field(1 << 20, ge=1024, le=64 << 20,
                                description="Largest decompressed webhook body (bytes); more is 413.")
    max_attachment_bytes: int = Field(MAX_ATTACHMENT_BYTES, ge=1, le=MAX_ATTACHMENT_BYTES,
                                      description="Largest attachment downloaded or uploaded (bytes).")

    @field_validator("msp_secret")
    @classmethod
    def _base64(cls, value: SecretStr) -> SecretStr:
        decode_secret(value.get_secret_value())
        return value

    @field_validator("business_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if any(not v or any(c.isspace() for c in v) for v in value):
            raise ValueError("business ids are non-empty and hold no whitespace")
        return value
