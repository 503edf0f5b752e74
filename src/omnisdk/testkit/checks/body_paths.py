"""Values inside a webhook body, addressed by path, and bodies with some of them changed.

A body is a JSON document (``application/json``), a form (``application/x-www-form-urlencoded``,
Twilio's webhooks) or a mail (``message/rfc822``: header fields, their parameters and report
fields, see :mod:`omnisdk.testkit.checks.mime_paths`); anything else has no addressable values.

Paths (the format of the channel suite's ``dispatch_fields``):

- a JSON path is a tuple of steps: a ``str`` object key, an ``int`` list index, or ``"*"``
  (every item of a list, every value of an object), e.g.
  ``("entry", "*", "changes", "*", "value", "statuses", "*", "status")``;
- a form parameter is a one-step path ``("MessageStatus",)``; a plain ``str`` is accepted for
  a one-step path (``"MessageStatus"``).

Changed bodies are re-serialized: JSON with orjson (same keys and order, compact), forms with
:func:`urllib.parse.urlencode` (same parameters and order).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from omnisdk.testkit.checks.mime_paths import MimeDoc

WILDCARD = "*"
FORM = "application/x-www-form-urlencoded"
MIME = "message/rfc822"
Path = tuple[str | int, ...]
_MAX_LEAVES = 4096


def as_path(pattern: Any) -> Path | None:
    """``pattern`` as a path tuple, or None when it is not one (a str is one step; a tuple or
    list of str/int steps, not empty; bools are not indices)."""
    if isinstance(pattern, str):
        return (pattern,) if pattern else None
    if isinstance(pattern, (tuple, list)) and pattern and all(
        (isinstance(s, str) and s) or (isinstance(s, int) and not isinstance(s, bool)) for s in pattern
    ):
        return tuple(pattern)
    return None


def show(path: Path) -> str:
    """A path for messages: ``entry[*].changes[0].field``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) or step == WILDCARD else (f".{step}" if out else step)
    return out


@dataclass
class Body:
    """A decoded body: ``kind`` is ``"json"``, ``"form"``, ``"mime"`` (``doc`` is a
    :class:`~omnisdk.testkit.checks.mime_paths.MimeDoc`) or ``"opaque"`` (not addressable)."""

    kind: str
    doc: Any

    @classmethod
    def decode(cls, body: bytes, content_type: str) -> Body:
        """Decode a recorded body by its content type (opaque when it does not decode)."""
        ctype = content_type.split(";")[0].strip().lower()
        if ctype == FORM:
            try:
                return cls("form", parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except (UnicodeDecodeError, ValueError):
                return cls("opaque", None)
        if ctype == MIME:
            try:
                mail = MimeDoc.parse(body)
            except Exception:  # noqa: BLE001 - whatever the stdlib parser raises: not addressable
                mail = None
            return cls("mime", mail) if mail is not None else cls("opaque", None)
        if ctype.endswith("json"):
            try:
                return cls("json", orjson.loads(body))
            except orjson.JSONDecodeError:
                return cls("opaque", None)
        return cls("opaque", None)

    def leaves(self) -> Iterator[tuple[Path, Any]]:
        """Every scalar (str, int, float; not bool or null) with its concrete path, in document
        order (at most 4,096)."""
        if self.kind == "mime":
            yield from self.doc.leaves()
        elif self.kind == "form":
            seen: set[str] = set()
            for key, value in self.doc:
                if key not in seen:
                    seen.add(key)
                    yield (key,), value
        elif self.kind == "json":
            stack: list[tuple[Path, Any]] = [((), self.doc)]
            count = 0
            while stack and count < _MAX_LEAVES:
                path, node = stack.pop()
                if isinstance(node, dict):
                    stack.extend(reversed([(path + (k,), v) for k, v in node.items()]))
                elif isinstance(node, list):
                    stack.extend(reversed([(path + (i,), v) for i, v in enumerate(node)]))
                elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
                    count += 1
                    yield path, node

    def get(self, path: Path, default: Any = None) -> Any:
        """The value at a concrete path, else ``default``."""
        if self.kind == "mime":
            return self.doc.get(path, default)
        if self.kind == "form":
            return next((v for k, v in self.doc if (k,) == path), default)
        node = self.doc
        for step in path:
            if isinstance(node, dict) and isinstance(step, str) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                node = node[step]
            else:
                return default
        return node if path else default

    def matches(self, pattern: Path) -> list[Path]:
        """The concrete paths of the string values ``pattern`` selects."""
        if self.kind == "mime":
            return self.doc.matches(pattern)
        if self.kind == "form":
            return [p for p, v in self.leaves() if p == pattern and isinstance(v, str)]
        if self.kind != "json":
            return []
        found: list[Path] = []

        def walk(node: Any, i: int, path: Path) -> None:
            if i == len(pattern):
                if isinstance(node, str):
                    found.append(path)
                return
            step = pattern[i]
            if isinstance(node, dict):
                keys = list(node) if step == WILDCARD else [step] if step in node else []
                for k in keys:
                    walk(node[k], i + 1, path + (k,))
            elif isinstance(node, list):
                idx = range(len(node)) if step == WILDCARD else (
                    [step] if isinstance(step, int) and 0 <= step < len(node) else [])
                for k in idx:
                    walk(node[k], i + 1, path + (k,))

        walk(self.doc, 0, ())
        return found

    def replaced(self, changes: Mapping[Path, Any]) -> bytes:
        """The body re-serialized with the values at the concrete paths of ``changes`` set."""
        if self.kind == "mime":
            return self.doc.replaced(changes)
        if self.kind == "form":
            return urlencode([(k, changes.get((k,), v)) for k, v in self.doc]).encode()
        if self.kind != "json":
            raise ValueError("an opaque body has no addressable values")
        doc = orjson.loads(orjson.dumps(self.doc))  # a deep copy
        for path, value in changes.items():
            node = doc
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
        return orjson.dumps(doc)
