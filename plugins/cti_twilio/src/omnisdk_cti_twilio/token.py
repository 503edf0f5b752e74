"""Softphone access tokens: a Twilio Access Token with a Voice grant, signed with pyjwt.

The token's shape is Twilio's (twilio.com/docs/iam/access-tokens, "JWT format"): an HS256 JWT
signed with an API key's secret, header ``cty: twilio-fpa;v=1``; claims ``jti`` (the API key
SID, a dash, the issue time), ``iss`` (the API key SID), ``sub`` (the Account SID), ``iat``,
``nbf``, ``exp`` and ``grants`` = ``{"identity": <the agent's client identity>, "voice":
{"incoming": {"allow": true}, "outgoing": {"application_sid": <TwiML App SID>}}}`` (the Voice
grant: twilio.com/docs/voice/sdks/javascript/get-started, access tokens with a VoiceGrant).
"""

from __future__ import annotations

import re
import time

import jwt

IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,121}")
"""What we allow as a client identity (Twilio: alphanumeric and underscore recommended, at most
121 characters; twilio.com/docs/voice/twiml/client)."""


def voice_token(*, account_sid: str, api_key_sid: str, api_key_secret: str, identity: str, ttl: int,
                application_sid: str | None = None, now: float | None = None) -> str:
    """A Voice-grant access token for ``identity``, valid ``ttl`` seconds from ``now`` (epoch
    seconds, default the clock).

    Raises:
        ValueError: an identity outside :data:`IDENTITY`, a ttl outside 1..3600 s, or an empty
            secret (the message never holds the secret).
    """
    if not IDENTITY.fullmatch(identity):
        raise ValueError("agent identity must be 1-121 characters of letters, digits, _ . @ -")
    if not 1 <= ttl <= 3600:
        raise ValueError("ttl must be between 1 and 3600 seconds")
    if not api_key_secret:
        raise ValueError("the API key secret is empty")
    issued = int(now if now is not None else time.time())
    voice: dict[str, object] = {"incoming": {"allow": True}}
    if application_sid:
        voice["outgoing"] = {"application_sid": application_sid}
    claims = {"jti": f"{api_key_sid}-{issued}", "iss": api_key_sid, "sub": account_sid, "iat": issued,
              "nbf": issued, "exp": issued + ttl, "grants": {"identity": identity, "voice": voice}}
    return jwt.encode(claims, api_key_secret, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})
