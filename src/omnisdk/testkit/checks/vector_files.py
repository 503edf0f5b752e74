"""Provider vectors: webhook requests signed by the provider itself, or by the provider's own
SDK code, shipped by a plugin with their provenance (rule ``signature.provider_vectors``).

Where: ``<recordings>/vectors/*.json`` by default (a subfolder, so the vectors are not loaded
as recordings), or the file or folder named by the suite's ``provider_vectors`` (a relative
path is taken from the recordings folder).  Each file is a JSON list of objects:

=================  ========  ============================================================
key                required  meaning
=================  ========  ============================================================
``name``           yes       unique name, used in messages
``source``         yes       where it comes from, in words: say who signed it (the
                             provider, its SDK) and how it was copied
``provenance``     yes       where it comes from, checkable: ``{"url": "https://…"}`` (the
                             provider's documentation page) or ``{"repository":
                             "owner/name", "path": "…", "commit": "<40 hex digits>"}``
                             (the file of the provider's SDK that holds it, at a commit)
``licence``        yes       the licence the source is under (``MIT``, ``Apache-2.0``,
                             ``documentation example`` …)
``headers``        yes       the request's headers as sent, at least the signature
``body``           one of    the raw body text, byte for byte (UTF-8)
``form``           one of    form parameters, ``{name: value}`` or ``[[name, value], …]``
                             (repeated names): encoded with :func:`urllib.parse.urlencode`;
                             only for schemes that sign the decoded parameters (Twilio)
``settings``       no        account settings overriding the suite's (the published
                             secret): ``{"app_secret": "…"}``
``url``            no        the URL the provider called (default: the suite's webhook URL)
``method``         no        default ``POST``
``content_type``   no        default ``application/x-www-form-urlencoded`` with ``form``,
                             else ``application/json``
``received_at``    no        RFC 3339 arrival time (default the kit's), for schemes whose
                             timestamp the verifier checks against it
``note``           no        anything else worth knowing
=================  ========  ============================================================

Example (the Meta vector the WhatsApp plugin ships)::

    [{"name": "pywa_real_text_message",
      "source": "david-lev/pywa tests/test_server.py::test_webhook_updates_validator: a real "
                "Cloud API webhook signed by Meta (app secret since reset)",
      "provenance": {"repository": "david-lev/pywa", "path": "tests/test_server.py",
                     "commit": "eed34da4923291f832ff218b8b08265e7c6326e9"},
      "licence": "MIT",
      "settings": {"app_secret": "1222e786b144d0e85b9f365372d93676"},
      "headers": {"X-Hub-Signature-256": "sha256=54edfa1d…"},
      "body": "{\\"object\\":\\"whatsapp_business_account\\",…}"}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from omnisdk.adapters import WebhookRequest

REQUIRED = ("name", "source", "provenance", "licence", "headers")
OPTIONAL = ("body", "form", "settings", "url", "method", "content_type", "received_at", "note")
FORM = "application/x-www-form-urlencoded"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def provenance_problems(value: Any) -> list[str]:
    """What is wrong with a vector's ``provenance`` (see the module docstring); [] when it is
    a documentation URL or a repository, path and commit."""
    if not isinstance(value, Mapping):
        return ["'provenance' must be {\"url\": \"https://…\"} or {\"repository\": \"owner/name\", "
                "\"path\": \"…\", \"commit\": \"<40 hex digits>\"}, not free text"]
    if set(value) == {"url"}:
        url = value["url"]
        ok = isinstance(url, str) and urlsplit(url).scheme == "https" and bool(urlsplit(url).netloc)
        return [] if ok else ["provenance.url must be an https URL of the provider's documentation"]
    if set(value) == {"repository", "path", "commit"}:
        problems = []
        if not (isinstance(value["repository"], str) and _REPOSITORY.match(value["repository"])):
            problems.append("provenance.repository must be 'owner/name'")
        if not (isinstance(value["path"], str) and value["path"].strip() and not value["path"].startswith("/")):
            problems.append("provenance.path must be the file's path inside the repository")
        if not (isinstance(value["commit"], str) and _COMMIT.match(value["commit"])):
            problems.append("provenance.commit must be the commit's 40 lower-case hex digits")
        return problems
    return [f"provenance has keys {sorted(value)}: give either url, or repository, path and commit"]


@dataclass(frozen=True)
class Vector:
    """One provider-signed request (see the module docstring)."""

    name: str
    source: str
    licence: str
    headers: dict[str, str]
    body: bytes
    content_type: str
    form: list[tuple[str, str]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    method: str = "POST"
    received_at: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)

    def request(self, default_url: str, default_received_at: str, *, body: bytes | None = None) -> WebhookRequest:
        """The request exactly as the provider sent it (or with ``body`` instead)."""
        url = self.url or default_url
        headers = {"content-type": self.content_type}
        headers.update({k.lower(): v for k, v in self.headers.items()})
        try:
            query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        except ValueError:
            query = {}
        return WebhookRequest(method=self.method, url=url, headers=headers,
                              body=self.body if body is None else body, query=query,
                              received_at=self.received_at or default_received_at)


def vector_files(path: Path) -> list[Path]:
    """The vector files at ``path`` (a file, or the ``*.json`` of a folder); empty if none."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if p.is_file())
    return []


def load_vectors(path: Path) -> tuple[list[Vector], list[str]]:
    """The vectors at ``path`` and the problems found in them (unreadable file, not a list,
    a missing or empty field, an unknown key, both or neither of body and form …)."""
    vectors: list[Vector] = []
    problems: list[str] = []
    seen: set[str] = set()
    for file in vector_files(path):
        try:
            doc = orjson.loads(file.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            problems.append(f"{file.name}: not readable JSON ({exc})")
            continue
        if not isinstance(doc, list):
            problems.append(f"{file.name}: must be a JSON list of vector objects")
            continue
        for i, item in enumerate(doc):
            where = f"{file.name}[{i}]"
            vector, found = _vector(item, where)
            problems += found
            if vector is not None:
                if vector.name in seen:
                    problems.append(f"{where}: duplicate name {vector.name!r}")
                seen.add(vector.name)
                vectors.append(vector)
    return vectors, problems


def _vector(item: Any, where: str) -> tuple[Vector | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"{where}: not an object"]
    where = f"{where} ({item['name']})" if isinstance(item.get("name"), str) else where
    problems = [f"{where}: unknown key {k!r} (keys: {', '.join(REQUIRED + OPTIONAL)})"
                for k in item if k not in REQUIRED + OPTIONAL]
    for key in ("name", "source", "licence"):
        if not (isinstance(item.get(key), str) and item[key].strip()):
            problems.append(f"{where}: {key!r} missing or empty: every vector needs its provenance "
                            "(name, source — repository + path or documentation URL —, licence)")
    if "provenance" in item:
        problems += [f"{where}: {p}" for p in provenance_problems(item["provenance"])]
    else:
        problems.append(f"{where}: 'provenance' missing: where the vector can be checked, "
                        "{\"url\": …} or {\"repository\", \"path\", \"commit\"}")
    headers = item.get("headers")
    if not (isinstance(headers, dict) and headers and all(isinstance(k, str) and isinstance(v, str)
                                                           for k, v in headers.items())):
        problems.append(f"{where}: 'headers' must be a non-empty object of strings (the signature as sent)")
    for key in ("url", "method", "content_type", "received_at", "note"):
        if key in item and not isinstance(item[key], str):
            problems.append(f"{where}: {key!r} must be a string")
    settings = item.get("settings", {})
    if not isinstance(settings, Mapping):
        problems.append(f"{where}: 'settings' must be an object of account settings")
    if ("body" in item) == ("form" in item):
        problems.append(f"{where}: give exactly one of 'body' (raw text) and 'form' (parameters)")
    form = _form(item.get("form")) if "form" in item else None
    if "body" in item and not isinstance(item["body"], str):
        problems.append(f"{where}: 'body' must be the raw body as a string")
    if "form" in item and form is None:
        problems.append(f"{where}: 'form' must be {{name: value}} or [[name, value], ...] of strings")
    if problems:
        return None, problems
    body = urlencode(form).encode("ascii") if form is not None else item["body"].encode("utf-8")
    ctype = item.get("content_type") or (FORM if form is not None else "application/json")
    return Vector(item["name"], item["source"], item["licence"], dict(headers), body, ctype, form,
                  dict(settings), item.get("url"), item.get("method", "POST"), item.get("received_at"),
                  dict(item["provenance"])), []


def _form(value: Any) -> list[tuple[str, str]] | None:
    pairs = list(value.items()) if isinstance(value, dict) else value
    if not isinstance(pairs, list):
        return None
    out = []
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            return None
        out.append((pair[0], pair[1]))
    return out


def changed_bodies(vector: Vector, tamper: Any) -> list[tuple[str, bytes]]:
    """``(what changed, body)``: one byte of a raw body (``tamper(body)``), or each form
    parameter's value changed in turn (``tamper`` on the value)."""
    if vector.form is None:
        return [("one byte of the body changed", tamper(vector.body))]
    out = []
    for i, (name, value) in enumerate(vector.form):
        new = tamper(value.encode("utf-8")).decode("utf-8", "replace") if value else "x"
        form = [*vector.form[:i], (name, new), *vector.form[i + 1:]]
        out.append((f"form parameter {name} changed", urlencode(form).encode("ascii")))
    return out
