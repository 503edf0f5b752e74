"""The agent console's HTTP side: ``/console`` serves its three static files and its config
under a strict Content-Security-Policy, and ``GET /v1/me`` says who a credential is."""

from __future__ import annotations

import re

import api_access
import pytest

from omnisdk.gateway import create_app
from omnisdk.gateway.console import CONSOLE_CSP, STATIC


@pytest.fixture
def app(runtime):
    return create_app(runtime, manage_runtime=False)


def _csp(resp) -> dict[str, str]:
    return {d.split()[0]: d.split(" ", 1)[1] if " " in d else "" for d in
            (p.strip() for p in resp.headers["content-security-policy"].split(";")) if d}


async def test_the_console_page_and_its_assets_are_served_with_a_strict_policy(app):
    async with api_access.client(app) as http:  # no credentials: the page itself is public
        bare = await http.get("/console")
        assert bare.status_code == 308 and bare.headers["location"] == "/console/"
        page = await http.get("/console/")
        js = await http.get("/console/console.js")
        css = await http.get("/console/console.css")
    assert page.status_code == js.status_code == css.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert js.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert css.headers["content-type"].startswith("text/css")
    assert page.text == (STATIC / "index.html").read_text()
    for resp in (page, js, css):
        assert resp.headers["content-security-policy"] == CONSOLE_CSP
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"
        assert resp.headers["cache-control"] == "no-store"
    policy = _csp(page)
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == "'self'"  # nothing inline, nothing from elsewhere
    assert "unsafe" not in page.headers["content-security-policy"]
    # the page works under that policy: no inline script, style or handler in it
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "<style" not in page.text and not re.search(r"\son[a-z]+=", page.text) and "style=" not in page.text
    assert 'src="console.js"' in page.text and 'href="console.css"' in page.text


async def test_the_json_api_keeps_its_own_policy_and_the_console_does_not_leak_to_other_paths(app):
    async with api_access.client(app) as http:
        api = await http.get("/v1/interactions")
        elsewhere = await http.get("/consoles")
        missing = await http.get("/console/nothing.js")
    assert api.status_code == 401
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert elsewhere.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == CONSOLE_CSP


async def test_the_console_is_under_the_host_check(app):
    async with api_access.client(app, base_url="http://rebound.example.com") as http:
        resp = await http.get("/console/")
    assert resp.status_code == 421 and resp.json()["error"] == "misdirected_request"


async def test_the_console_config_names_the_wrap_up_codes_and_no_oidc_by_default(app, runtime):
    async with api_access.client(app) as http:
        doc = (await http.get("/console/config.json")).json()
    assert doc == {"oidc": None, "wrap_up_codes": runtime.settings.lifecycle.wrap_up_codes,
                   "default_wrap_up_code": runtime.settings.lifecycle.default_wrap_up_code}
    assert "Issue resolved" in doc["wrap_up_codes"]


async def test_me_says_who_an_agent_key_is_and_never_echoes_the_key(app, runtime):
    key = await api_access.api_key(runtime, "agent", agent="alice")
    async with api_access.client(app, key) as http:
        resp = await http.get("/v1/me")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["role"] == "agent" and doc["agent"] == "alice" and doc["via"] == "api_key"
    assert doc["subject"].startswith("key:") and "interactions:work" in doc["scopes"]
    assert doc["queues"] is None
    assert key not in resp.text


async def test_me_of_a_supervisor_names_their_queues_and_needs_credentials(app, runtime):
    key = await api_access.api_key(runtime, "supervisor", queues=["support"])
    async with api_access.client(app, key) as http:
        doc = (await http.get("/v1/me")).json()
    assert doc["role"] == "supervisor" and doc["agent"] is None and doc["queues"] == ["support"]
    async with api_access.client(app) as http:
        resp = await http.get("/v1/me")
    assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"


def test_the_console_config_names_the_oidc_issuer_when_people_sign_in_with_tokens(tmp_path):
    from omnisdk.config import Settings
    from omnisdk.gateway.console import console_config

    settings = Settings(store={"url": f"sqlite:///{tmp_path / 'c.db'}"},
                        api={"oidc": {"issuer": "https://login.example.com/", "audience": "omnisdk"}})

    class Rt:  # console_config reads the settings only
        pass

    rt = Rt()
    rt.settings = settings  # type: ignore[attr-defined]
    doc = console_config(rt)  # type: ignore[arg-type]
    assert doc["oidc"] == {"issuer": "https://login.example.com/", "login": None}  # no [api.oidc.console]
    assert "omnisdk" not in str(doc["oidc"])  # the audience and claims stay on the server
