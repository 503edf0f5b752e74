"""Signed, expiring links in our case mail: accept or reject a proposed solution, answer the
satisfaction survey.

A link is ``{public_url}/links/cases/{token}``; the token is an HS256 JWT (RFC 7519, with PyJWT)
signed with ``[lifecycle] case_links_secret``, carrying the case id (``case``), the action
(``act``: ``view`` (the case's status, read-only), ``accept``, ``reject`` or ``survey``), and ``iat``/``exp`` (``case_link_ttl`` seconds).
The link only names what to do: opening it (GET) shows a page whose button POSTs it
(:mod:`omnisdk.gateway.case_links`), so a mail scanner that follows links changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

ACTIONS = ("view", "accept", "reject", "survey")
ALGORITHM = "HS256"


class LinkError(ValueError):
    """A link token that is malformed, forged, expired, or names no known action."""


@dataclass(frozen=True, slots=True)
class CaseLinks:
    """Makes and reads case links.  ``base_url`` is the gateway's public URL; ``ttl`` in
    seconds."""

    base_url: str
    secret: str
    ttl: float

    def __repr__(self) -> str:
        return f"CaseLinks(base_url={self.base_url!r}, ttl={self.ttl})"

    def url(self, case_id: str, action: str, now: float) -> str:
        """The link for ``action`` on ``case_id``, valid for ``ttl`` seconds from ``now``
        (Unix seconds)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown case link action {action!r}")
        token = jwt.encode({"case": case_id, "act": action, "iat": int(now), "exp": int(now + self.ttl)},
                           self.secret, algorithm=ALGORITHM)
        return f"{self.base_url.rstrip('/')}/links/cases/{token}"

    def read(self, token: str) -> tuple[str, str]:
        """``(case id, action)`` of a link token.

        Raises:
            LinkError: expired, forged, malformed, or an unknown action (the message says
                which, never the secret).
        """
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "case", "act"]})
        except jwt.ExpiredSignatureError:
            raise LinkError("this link has expired") from None
        except jwt.InvalidTokenError:
            raise LinkError("this link is not valid") from None
        if claims.get("act") not in ACTIONS or not isinstance(claims.get("case"), str):
            raise LinkError("this link is not valid")
        return claims["case"], claims["act"]
