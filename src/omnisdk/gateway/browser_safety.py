"""What keeps a browser from being turned against the agent API (pure ASGI middleware).

- **Host check** (DNS rebinding): a request whose ``Host`` is not one of the served names
  (:meth:`omnisdk.access.settings.ApiSettings.hosts`) gets 421 ``misdirected_request``
  before anything else runs.  A web page that rebinds its own name to 127.0.0.1 still sends
  its own name as ``Host``.
- **JSON only on state-changing calls**: POST, PUT, PATCH and DELETE need
  ``Content-Type: application/json``, with or without a body (415
  ``unsupported_media_type``).  A cross-site form or ``fetch`` without a preflight can only
  send ``text/plain``, form or multipart types, so it never reaches a handler.
- **Security headers** on every answer: ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``
  (answers hold customers' messages) and ``Content-Security-Policy`` (``default-src 'none';
  frame-ancestors 'none'`` for the JSON API; the ``/docs`` page keeps the scripts it needs
  and only gets ``frame-ancestors 'none'``; the agent console under ``/console`` gets
  :data:`omnisdk.gateway.console.CONSOLE_CSP`: its own scripts, styles and connections, nothing
  inline).

CORS is off unless ``[api] cors_origins`` lists origins (Starlette's ``CORSMiddleware``, with
that exact allow-list).

Plugins' own routes (``/{route_prefix}/{account}/…``: the web chat's widget, sample page,
session and frame calls) get the same headers from :class:`PluginRouteSafety`, without the
host check and the JSON rule (a visitor's browser calls them from the portal's origin): a
route may give its own ``Content-Security-Policy`` (:func:`page_csp` for a page embedding a
widget, with the ``frame-ancestors`` the account allows), else the JSON API's is set; when its
policy lets some origin frame the page, ``X-Frame-Options`` (which cannot name origins) is left
out, as the policy's ``frame-ancestors`` governs framing.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnisdk.gateway.console import CONSOLE_CSP
from omnisdk.gateway.webhooks import error_response
from omnisdk.urls import check_origins

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = b"frame-ancestors 'none'"
_CONSOLE_CSP = CONSOLE_CSP.encode()


def page_csp(*, connect: Sequence[str] = (), frame_ancestors: Sequence[str] = (),
             inline_styles: bool = False) -> str:
    """The Content-Security-Policy of a gateway page running the gateway's own scripts: scripts,
    connections (and the ``connect`` sources, e.g. ``wss://host`` for a WebSocket) from the
    gateway only; styles from the gateway (and inline ones, e.g. a widget's injected
    ``<style>``, with ``inline_styles``); no plugins, base URL or form posts; framed only by
    ``frame_ancestors`` (checked origins: :func:`omnisdk.urls.check_origins`; none: ``'none'``).

    Raises:
        ValueError: a ``frame_ancestors`` or ``connect`` entry that is no origin.
    """
    ancestors = " ".join(check_origins(frame_ancestors)) or "'none'"
    for source in connect:
        check_origins([source.replace("wss://", "https://", 1).replace("ws://", "http://", 1)])
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    connects = " ".join(("'self'", *connect))
    return (f"default-src 'none'; script-src 'self'; style-src {styles}; "
            f"connect-src {connects}; img-src 'self' data:; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}")


def _set_headers(headers: MutableHeaders, csp: str) -> None:
    """The common headers (:data:`_COMMON`), each unless the answer set it, and ``csp`` unless it
    has a policy; no ``X-Frame-Options`` when the policy lets an origin frame the page."""
    policy = headers.setdefault("content-security-policy", csp)
    framed = "frame-ancestors 'none'" not in policy and "frame-ancestors" in policy
    for k, v in _COMMON:
        if framed and k == b"x-frame-options":
            continue
        headers.setdefault(k.decode(), v.decode())


def _host_of(value: bytes) -> str:
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):  # [::1]:8080
        return text[1:text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class BrowserSafety:
    """The host check, the JSON rule and the security headers around the API application.

    Args:
        app: the API application.
        hosts: the Host names served (lower case, no port).
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = content_type = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"content-type":
                content_type = value
        path = scope["path"]
        csp = (_DOCS_CSP if path.startswith("/docs")
               else _CONSOLE_CSP if path == "/console" or path.startswith("/console/") else _API_CSP).decode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set_headers(MutableHeaders(scope=message), csp)
            await send(message)

        if host is None or _host_of(host) not in self.hosts:
            resp = error_response(421, "misdirected_request",
                                  "this server does not answer to that Host (see [api] allowed_hosts)")
            await resp(scope, receive, with_headers)
            return
        if scope["method"] in STATE_CHANGING and (
                content_type is None or content_type.split(b";", 1)[0].strip().lower() != b"application/json"):
            resp = error_response(415, "unsupported_media_type",
                                  "state-changing calls need Content-Type: application/json")
            await resp(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


class PluginRouteSafety:
    """The security headers around a plugin's routes (see the module): each HTTP answer gets
    the common headers and, unless it gives its own, the JSON API's policy.

    Args:
        app: the plugin's routes (a Starlette router).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set_headers(MutableHeaders(scope=message), _API_CSP.decode())
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = ["STATE_CHANGING", "BrowserSafety", "PluginRouteSafety", "page_csp"]
