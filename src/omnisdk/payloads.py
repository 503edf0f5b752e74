"""Bounded JSON decoding of webhook bodies, for every plugin whose provider posts JSON.

:func:`loads` refuses, **before parsing**, a body larger than ``max_bytes`` or nested deeper
than ``max_depth`` arrays/objects, with :class:`~omnisdk.errors.PayloadError` (reason
``malformed_payload``, HTTP 400), then decodes it with orjson.  Without the depth limit a body
nested 254–1,024 levels deep parsed (orjson stops at 1,024) but could not be serialised again
(orjson's writer stops at 254), so it broke the plugin's translation and the inbox writer.

Limits (``docs/security.md``, "Limits"):

- depth: :data:`MAX_DEPTH` = 64 levels of ``[``/``{`` (a WhatsApp Cloud API webhook uses
  about 8; a scalar or ``{}`` at the top is depth 0 or 1);
- size: :data:`MAX_BYTES` = 1 MiB, the gateway's default ``max_body_bytes``; the gateway also
  refuses larger bodies with 413 before reading them.

Cost: a body with at most ``max_depth`` opening brackets in all (every recorded WhatsApp
webhook: 10–25) is checked with two ``bytes.count`` calls, well under a microsecond.  Other
bodies get an exact check at C speed: escaped backslashes and quotes are removed, the
quotes and brackets kept with ``bytes.translate``, what lies inside strings dropped, and matched pairs removed one nesting level per pass (at most ``max_depth`` passes).
"""

from __future__ import annotations

from typing import Any

import orjson

from omnisdk.errors import PayloadError

MAX_DEPTH = 64
"""Deepest accepted nesting of JSON arrays and objects in a webhook body (levels)."""
MAX_BYTES = 1 << 20
"""Largest accepted JSON webhook body (bytes)."""

_KEEP = b'"[]{}'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _KEEP)
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")


def nesting_exceeds(body: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays/objects deeper than ``max_depth`` levels.

    Exact for valid JSON; brackets inside strings do not count.  For invalid JSON (an
    unterminated string, unbalanced brackets) the answer may be True where a parser would stop
    at the syntax error instead; such a body is refused either way.
    """
    if body.count(b"{") + body.count(b"[") <= max_depth:
        return False
    # escapes first, left to right as a JSON lexer reads them: an escaped backslash, then an
    # escaped quote (neither ends a string); other escapes hold no quote or bracket
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = text.translate(_OBJECTS_AS_ARRAYS, _NOT_STRUCTURE)
    # drop what lies inside strings: two adjacent quotes hold no bracket between them (removing
    # them keeps every bracket's side), which leaves no quote when no string holds a bracket;
    # otherwise the pieces between strings are the even ones of a split on quotes
    structure = structure.replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    if b"[" * (max_depth + 1) in structure:
        return True
    for _ in range(max_depth):
        if not structure:
            return False
        shorter = structure.replace(b"[]", b"")  # one nesting level gone
        if len(shorter) == len(structure):
            return True  # unbalanced: no complete pair left (invalid JSON)
        structure = shorter
    return bool(structure)


def loads(body: bytes, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """Decode a JSON webhook body within the size and depth limits.

    Args:
        body: the raw body bytes.
        max_depth: deepest nesting of arrays/objects accepted (levels).
        max_bytes: largest body accepted (bytes).

    Returns:
        The decoded document (dict, list, str, int, float, bool or None).

    Raises:
        PayloadError: (reason ``malformed_payload``) larger than ``max_bytes``, nested deeper
            than ``max_depth`` (both checked before parsing), or not valid UTF-8 JSON.
    """
    if len(body) > max_bytes:
        raise PayloadError(f"JSON body exceeds {max_bytes} bytes", reason="malformed_payload")
    if nesting_exceeds(body, max_depth):
        raise PayloadError(
            f"JSON body is nested deeper than {max_depth} levels (or unbalanced)",
            reason="malformed_payload",
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadError("body is not valid JSON", reason="malformed_payload") from None
