"""Checks of the URLs a configuration names (the gateway's ``public_url``, a plugin's
``api_base_url``): an absolute ``http``/``https`` URL with a host, or a start-up error.

A URL such as ``file:///etc/passwd``, ``localhost:8080`` or ``//cx.example.com`` would be
accepted by a plain ``str`` field and fail later, at the first request (or worse, be read).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

HTTP_SCHEMES = frozenset({"http", "https"})
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


def check_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """``origins`` if each is an ``http(s)://host[:port]`` origin (a leading ``*.`` allowed in
    the host): what a Content-Security-Policy source list such as ``frame-ancestors`` may name.

    Raises:
        ValueError: one that is not (a path, a quote, a space or a ``;`` would change the policy).
    """
    for origin in origins:
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an http(s)://host[:port] origin")
    return tuple(origins)


def check_http_url(value: str) -> str:
    """Return ``value`` if it is an absolute ``http(s)://host[:port][/path]`` URL.

    Refused: another scheme or none, no host, a port outside 1–65535, credentials in the URL
    (``user:pass@`` would reach logs and reprs), a query or fragment, or whitespace.  The
    message never repeats the value (it may be mistyped next to a secret).

    Raises:
        ValueError: the value is not such a URL.
    """
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise ValueError("must be an absolute http(s) URL (no spaces)")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError("must be an absolute http(s) URL (its port is not a number in 1-65535)") from None
    if parts.scheme.lower() not in HTTP_SCHEMES:
        raise ValueError("must be an absolute http(s) URL (scheme http or https)")
    if not parts.hostname:
        raise ValueError("must be an absolute http(s) URL with a host")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("must be an absolute http(s) URL (its port is not a number in 1-65535)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@)")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("must not carry a query or fragment")
    return value


HttpURL = Annotated[str, AfterValidator(check_http_url)]
"""A ``str`` field holding an absolute http(s) URL, checked by :func:`check_http_url`."""
