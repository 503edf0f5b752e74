"""Session tokens and identity tokens (pyjwt).

A **session token** is an HS256 JWT keyed with the account's ``session_secret``, with the
claims ``iss`` = ``omnisdk-webchat``, ``aud`` = ``webchat:<account>``, ``sid`` (the session id,
the visitor's address on the channel), ``iat`` and ``exp`` (epoch seconds, UTC), and for an
identified visitor ``name`` and ``email`` from the portal.  A visitor reconnecting with an
unexpired token gets the same session id, hence the same conversation.

An **identity token** is the portal's JWT about its logged-in user (``RS256``/``ES256`` with
its public key, or ``HS256`` with a shared secret: ``identity_key``): ``sub`` (the portal's
user id, required), ``exp`` (required), optional ``iss`` (checked when ``identity_issuer`` is
set), ``name``, ``email``.  Its session id is ``u_<sub>``, so the same user on any browser is
the same customer address, linked to the same contact.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import jwt

from omnisdk.adapters import secret_value
from omnisdk.errors import SignatureError
from omnisdk_webchat.protocol import SESSION_ID
from omnisdk_webchat.settings import WebchatSettings

ISSUER = "omnisdk-webchat"
_SUB = re.compile(r"[A-Za-z0-9_.@+-]{1,100}")


@dataclass(frozen=True, slots=True)
class Session:
    """A checked session: ``sid`` (the customer address), ``exp`` (epoch seconds), and the
    identified visitor's ``name`` / ``email`` when the portal vouched for them."""

    sid: str
    exp: int
    name: str | None = None
    email: str | None = None

    @property
    def identified(self) -> bool:
        return self.sid.startswith("u_")


def audience(account: str) -> str:
    return f"webchat:{account}"


def issue(settings: WebchatSettings, account: str, now: int, *, sid: str | None = None,
          name: str | None = None, email: str | None = None) -> tuple[str, Session]:
    """A new session token (a fresh ``v_`` id unless ``sid`` is given) valid ``session_ttl``
    seconds from ``now`` (epoch seconds)."""
    sid = sid or "v_" + secrets.token_urlsafe(18)
    session = Session(sid=sid, exp=now + settings.session_ttl, name=name, email=email)
    claims: dict[str, object] = {"iss": ISSUER, "aud": audience(account), "sid": sid, "iat": now, "exp": session.exp}
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret_value(settings.session_secret), algorithm="HS256"), session


def check(settings: WebchatSettings, account: str, token: str, now: float) -> Session:
    """The session of ``token`` if it is ours, for this account, and unexpired at ``now``
    (epoch seconds; taken from the request's receive time, so checking reads no clock).

    Raises:
        SignatureError: anything else (reason ``bad_signature``; the message says what failed,
            never a secret).
    """
    try:
        claims = jwt.decode(token, secret_value(settings.session_secret), algorithms=["HS256"],
                            audience=audience(account), issuer=ISSUER,
                            options={"verify_exp": False, "verify_iat": False,
                                     "require": ["sid", "exp", "iat", "aud", "iss"]})
    except jwt.PyJWTError:
        raise SignatureError("webchat: the session token is not valid for this account") from None
    sid, exp = claims.get("sid"), claims.get("exp")
    if not isinstance(sid, str) or not SESSION_ID.fullmatch(sid) or not isinstance(exp, int):
        raise SignatureError("webchat: the session token's claims are malformed")
    if exp <= now:
        raise SignatureError("webchat: the session token has expired")
    name, email = claims.get("name"), claims.get("email")
    return Session(sid=sid, exp=exp, name=name if isinstance(name, str) else None,
                   email=email if isinstance(email, str) else None)


def claims(authorization: str | None) -> Session | None:
    """The session a ``Bearer`` session token names, *without* checking it (``verify()`` did):
    for reading an identified visitor's name in ``parse()``.  None when absent or unreadable."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    try:
        doc = jwt.decode(authorization[7:], options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sid, name, email = doc.get("sid"), doc.get("name"), doc.get("email")
    if not isinstance(sid, str):
        return None
    return Session(sid=sid, exp=0, name=name if isinstance(name, str) else None,
                   email=email if isinstance(email, str) else None)


def identify(settings: WebchatSettings, token: str, now: float) -> tuple[str, str | None, str | None]:
    """The ``(session id, name, email)`` of a portal's identity token.

    Raises:
        SignatureError: no ``identity_key`` configured, or the token is not signed by it with
            ``identity_algorithm``, has expired (``exp`` before ``now``, with 30 s leeway), lacks
            ``sub``/``exp``, names another issuer or (with ``identity_audience``) another
            audience, or its ``sub`` is not 1–100 characters of
            ``[A-Za-z0-9_.@+-]``.
    """
    if settings.identity_key is None:
        raise SignatureError("webchat: identified visitors are not configured for this account")
    try:
        audience = settings.identity_audience
        claims = jwt.decode(token, secret_value(settings.identity_key), algorithms=[settings.identity_algorithm],
                            options={"verify_exp": False, "verify_aud": audience is not None,
                                     "require": ["sub", "exp", *(["aud"] if audience else [])]},
                            issuer=settings.identity_issuer, audience=audience)
    except jwt.PyJWTError:
        raise SignatureError("webchat: the identity token is not valid") from None
    sub, exp = claims.get("sub"), claims.get("exp")
    if not isinstance(sub, str) or not _SUB.fullmatch(sub) or not isinstance(exp, int | float):
        raise SignatureError("webchat: the identity token's claims are malformed")
    if exp + 30 <= now:
        raise SignatureError("webchat: the identity token has expired")
    name, email = claims.get("name"), claims.get("email")
    return ("u_" + sub, name[:200] if isinstance(name, str) else None,
            email[:254] if isinstance(email, str) else None)
