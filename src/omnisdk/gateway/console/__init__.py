"""The reference agent console, served at ``/console`` (docs/console.md).

Three committed static files (``static/index.html``, ``static/console.js``, ``static/console.css``;
no build step), one JSON document, ``/console/config.json``, that tells the page whether
people may sign in with an OIDC bearer token (``[api.oidc]`` configured) and at the issuer
itself (``[api.oidc.console]``: authorization code + PKCE, whose code the gateway redeems at
``POST /console/oidc/token``, :mod:`omnisdk.gateway.console.oidc_login`).  The page talks only
to the agent API (``/v1/…``, docs/agent-api.md) with the credential the user types in; it keeps
that credential in ``sessionStorage`` and sends it as ``X-API-Key`` or ``Authorization: Bearer``,
never in a URL.  The live updates are ``GET /v1/events`` read with ``fetch()`` and a
``ReadableStream`` (an ``EventSource`` cannot send those headers).

The files are served inside the agent API's application, so its host check and security headers
apply; :mod:`omnisdk.gateway.browser_safety` gives ``/console`` the strict policy
:data:`CONSOLE_CSP` (own scripts, styles and connections only, no inline code).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from omnisdk.gateway.console.oidc_login import make_login, token_endpoint

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

STATIC = Path(__file__).parent / "static"
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""The console's Content-Security-Policy: everything from the gateway itself, nothing inline."""


def console_config(runtime: Runtime, login: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page needs before sign-in: ``{"oidc": {"issuer": str, "login":
    {"authorization_endpoint", "client_id", "scope"} | null} | null, "wrap_up_codes": [str],
    "default_wrap_up_code": str}`` (nothing secret: the issuer, its endpoints and a public
    client's id are public, the audience and claims stay on the server; the codes are
    ``[lifecycle] wrap_up_codes``).  ``login``: the sign-in at the issuer
    (:mod:`omnisdk.gateway.console.oidc_login`), None when not configured or unavailable."""
    settings = runtime.settings
    oidc = settings.api.oidc
    return {"oidc": {"issuer": str(oidc.issuer), "login": login} if oidc is not None else None,
            "wrap_up_codes": list(settings.lifecycle.wrap_up_codes),
            "default_wrap_up_code": settings.lifecycle.default_wrap_up_code}


def console_routes(runtime: Runtime) -> list[Any]:
    """``/console`` (redirect to ``/console/``), ``/console/config.json``,
    ``POST /console/oidc/token`` (the OIDC sign-in's code exchange) and the static files."""
    login = make_login(runtime)

    async def config(request: Request) -> Response:
        page = await login.page_config() if login is not None else None
        return JSONResponse(console_config(runtime, page), headers={"cache-control": "no-store"})

    async def oidc_token(request: Request) -> Response:
        status, body = await token_endpoint(login, request)
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

    async def bare(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    return [
        Route("/console", bare, methods=["GET"]),
        Route("/console/config.json", config, methods=["GET"]),
        Route("/console/oidc/token", oidc_token, methods=["POST"]),
        Mount("/console", app=StaticFiles(directory=STATIC, html=True)),
    ]


__all__ = ["CONSOLE_CSP", "STATIC", "console_config", "console_routes"]
