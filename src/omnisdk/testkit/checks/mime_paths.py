"""Values inside a mail (``message/rfc822``), addressed by path, and mails with some changed.

The MIME side of :mod:`omnisdk.testkit.checks.body_paths`: what chooses an email event's type is
not a JSON field but a header field, a header parameter, or a field of a report part.  Paths:

- ``("header", "<Name>")``: the value of the mail's top-level header field (the first one);
- ``("header", "<Name>", "<param>")``: a parameter of it, e.g.
  ``("header", "Content-Type", "report-type")`` (RFC 6522);
- ``("part", "<content type>", "<Field>")``: a field of every block of every part of that
  type, e.g. ``("part", "message/delivery-status", "Action")`` (RFC 3464 section 2.3.3) or
  ``("part", "message/disposition-notification", "Disposition")`` (RFC 8098 section 3.2.6).
  Concrete paths add the part's and the block's index: ``("part", ctype, 2, 1, "Action")``;
- ``("body", "<content type>")``: the decoded text of the first part of that type (trailing
  line breaks dropped), and ``("body", "<content type>", "*")``: each of its non-empty lines
  (concrete: ``("body", ctype, <line index>)``).  Read-only: :meth:`MimeDoc.replaced` changes
  header and report fields only.

Mails are read and written with the stdlib ``email`` package (``compat32``, which keeps the
bytes of untouched header fields); a changed mail is re-serialized whole.
"""

from __future__ import annotations

import email
from collections.abc import Iterator, Mapping
from email.message import Message
from email.policy import compat32
from typing import Any

Path = tuple[str | int, ...]
_MAX_LEAVES = 512


def _parts(msg: Message) -> list[Message]:
    return list(msg.walk())


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a report part (a delivery-status part holds several)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):  # a field block the parser kept as text
        return [email.message_from_string(block, policy=compat32) for block in payload.split("\n\n") if block.strip()]
    return []


class MimeDoc:
    """A parsed mail with path access (format in the module docstring)."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg

    @classmethod
    def parse(cls, body: bytes) -> MimeDoc | None:
        """The mail, or None when ``body`` has no header field at all."""
        msg = email.message_from_bytes(body, policy=compat32)
        return cls(msg) if msg.keys() else None

    def leaves(self) -> Iterator[tuple[Path, Any]]:
        """Every top-level header field's value, as ``("header", name)``, in order."""
        seen: set[str] = set()
        for name, value in list(self.msg.items())[:_MAX_LEAVES]:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield ("header", name), str(value)

    def _text(self, ctype: str) -> str | None:
        for part in _parts(self.msg):
            if part.get_content_type() == ctype.lower() and not part.is_multipart():
                raw = part.get_payload(decode=True)
                if isinstance(raw, bytes):
                    return raw.decode(part.get_content_charset() or "utf-8", "replace").rstrip("\r\n")
        return None

    def _lines(self, ctype: str) -> list[str]:
        text = self._text(ctype)
        return [] if text is None else [line.rstrip("\r") for line in text.split("\n")]

    def matches(self, pattern: Path) -> list[Path]:
        """The concrete paths of the values ``pattern`` selects."""
        if pattern[:1] == ("body",) and len(pattern) == 2:
            return [pattern] if self._text(str(pattern[1])) is not None else []
        if pattern[:1] == ("body",) and len(pattern) == 3 and pattern[2] == "*":
            return [("body", pattern[1], i) for i, line in enumerate(self._lines(str(pattern[1]))) if line.strip()]
        if len(pattern) in (2, 3) and pattern[0] == "header":
            return [pattern] if self.get(pattern) is not None else []
        if len(pattern) == 3 and pattern[0] == "part":
            _, ctype, field = pattern
            found: list[Path] = []
            for i, part in enumerate(_parts(self.msg)):
                if part.get_content_type() == str(ctype).lower():
                    for j, block in enumerate(_blocks(part)):
                        if block.get(str(field)) is not None:
                            found.append(("part", ctype, i, j, field))
            return found
        return []

    def get(self, path: Path, default: Any = None) -> Any:
        """The value at a concrete path, else ``default``."""
        if path[:1] == ("body",) and len(path) == 2:
            text = self._text(str(path[1]))
            return default if text is None else text
        if path[:1] == ("body",) and len(path) == 3 and isinstance(path[2], int):
            lines = self._lines(str(path[1]))
            return lines[path[2]] if 0 <= path[2] < len(lines) else default
        if path[:1] == ("header",) and len(path) == 2:
            value = self.msg.get(str(path[1]))
            return default if value is None else str(value)
        if path[:1] == ("header",) and len(path) == 3:
            value = self.msg.get_param(str(path[2]), header=str(path[1]))
            return value if isinstance(value, str) else default
        if path[:1] == ("part",) and len(path) == 5:
            _, _, i, j, field = path
            parts = _parts(self.msg)
            if isinstance(i, int) and 0 <= i < len(parts):
                blocks = _blocks(parts[i])
                if isinstance(j, int) and 0 <= j < len(blocks):
                    value = blocks[j].get(str(field))
                    return default if value is None else str(value)
        return default

    def replaced(self, changes: Mapping[Path, Any]) -> bytes:
        """The mail re-serialized with the values at the concrete paths of ``changes`` set."""
        msg = email.message_from_bytes(self.msg.as_bytes(policy=compat32), policy=compat32)  # a copy
        parts = _parts(msg)
        for path, value in changes.items():
            if path[:1] == ("body",):
                raise ValueError("body paths are read-only")
            if path[:1] == ("header",) and len(path) == 2:
                msg.replace_header(str(path[1]), str(value))
            elif path[:1] == ("header",) and len(path) == 3:
                msg.set_param(str(path[2]), str(value), header=str(path[1]))
            elif path[:1] == ("part",) and len(path) == 5:
                _, _, i, j, field = path
                part = parts[int(i)]
                blocks = _blocks(part)
                blocks[int(j)].replace_header(str(field), str(value))
                if isinstance(part.get_payload(), str):  # written back as the text it was
                    part.set_payload("\n".join(b.as_string(policy=compat32) for b in blocks))
        return msg.as_bytes(policy=compat32)
