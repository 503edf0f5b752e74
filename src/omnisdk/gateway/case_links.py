"""``/links/cases/{token}``: the pages behind the signed links of our case mail.

``GET`` shows the case's status (a ``view`` link), or what the link does with one button (a form that POSTs the same URL): a mail
scanner or a link preview that opens the link changes nothing.  ``POST`` applies it: accept or
reject the proposed solution, or store the survey's score (a ``score`` form field, 1–5).
Answers are small HTML pages, never a traceback: a forged or expired link is 400 (410 when
expired), an unknown case 404, an action the case's state does not allow 409.  Every page is
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (the token is in the URL), with
a Content-Security-Policy that allows no script and forms only to this page.
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from omnisdk.errors import NotFoundError, StateError
from omnisdk.lifecycle.case_links import LinkError
from omnisdk.runtime import Runtime

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
}
_ASK = {
    "accept": ("Accept the proposed solution of case {number}?", "Accept"),
    "reject": ("Reject the proposed solution of case {number}? We will keep working on it.", "Reject"),
}


def _rfc3339(at: datetime) -> str:
    """``at`` as the stored documents spell it (RFC 3339, ``Z`` for UTC)."""
    return at.isoformat().replace("+00:00", "Z")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
    return HTMLResponse(doc, status_code=status, headers=HEADERS)


def routes(runtime: Runtime) -> list[Route]:
    """The GET and POST routes of the case links of ``runtime``."""

    async def show(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        links = runtime.case_links()
        try:
            if links is None:
                raise LinkError("case links are not enabled here")
            case_id, action = links.read(token)
        except LinkError as exc:
            return _page("This link does not work", f"<p>{html.escape(str(exc))}.</p>",
                         410 if "expired" in str(exc) else 400)
        case = await runtime.store.transact(lambda tx: tx.get_case(case_id))
        if case is None:
            return _page("No such case", "<p>This case does not exist.</p>", 404)
        number = html.escape(case.number)
        if action == "view":
            state = case.state.value.replace("_", " ")
            steps = "".join(f"<li>{html.escape(_rfc3339(h.at))}: {html.escape(h.to_state.value.replace('_', ' '))}</li>"
                            for h in case.state_history)
            return _page(f"Case {case.number}", f"<p>{html.escape(case.subject)}</p><p>Status: "
                         f"<strong>{html.escape(state)}</strong></p>" + (f"<ol>{steps}</ol>" if steps else ""))
        if action == "survey":
            buttons = "".join(f'<button name="score" value="{n}">{n}</button> ' for n in range(1, 6))
            return _page(f"How did we do on case {case.number}?",
                         f'<form method="post"><p>1 is poor, 5 is excellent.</p>{buttons}</form>')
        question, label = _ASK[action]
        return _page(question.format(number=case.number),
                     f'<p>Case {number}: {html.escape(case.subject)}</p>'
                     f'<form method="post"><button>{label}</button></form>')

    async def apply(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        body = (await request.body())[:1024]
        fields = parse_qs(body.decode("latin-1"))
        score: int | None = None
        if fields.get("score"):
            try:
                score = int(fields["score"][0])
            except ValueError:
                return _page("That answer is not a score", "<p>Choose a score from 1 to 5.</p>", 400)
        try:
            case = await runtime.answer_case_link(token, score)
        except LinkError as exc:
            return _page("This link does not work", f"<p>{html.escape(str(exc))}.</p>",
                         410 if "expired" in str(exc) else 400)
        except NotFoundError:
            return _page("No such case", "<p>This case does not exist.</p>", 404)
        except StateError as exc:
            return _page("Nothing to do", f"<p>{html.escape(str(exc))}.</p>", 409)
        except ValueError as exc:
            return _page("That answer is not a score", f"<p>{html.escape(str(exc))}.</p>", 400)
        if score is not None:
            return _page("Thank you", f"<p>Your answer on case {html.escape(case.number)} is kept.</p>")
        return _page("Thank you", f"<p>Case {html.escape(case.number)} is now "
                     f"{html.escape(case.state.value.replace('_', ' '))}.</p>")

    return [Route("/links/cases/{token}", show, methods=["GET"]),
            Route("/links/cases/{token}", apply, methods=["POST"])]
