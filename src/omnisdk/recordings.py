"""Recorded provider payloads: loading them for tests, replay, the demo and the test kit.

File formats (by extension):

- ``*.json``: one JSON body; **or**, when every top-level value is a JSON object, a
  collection of named bodies (``{"text": {...}, "image": {...}}``, the layout of pywa's
  recorded updates).  Content type ``application/json``.
- ``*.form``: one ``application/x-www-form-urlencoded`` body (Twilio webhooks), one per file.
- ``*.eml``: one ``message/rfc822`` message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

CONTENT_TYPES = {
    ".json": "application/json",
    ".form": "application/x-www-form-urlencoded",
    ".eml": "message/rfc822",
}


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded webhook body.

    Attributes:
        name: ``file-stem`` or ``file-stem/key`` for a named entry of a collection.
        body: the raw bytes to POST.
        content_type: the Content-Type header to send.
    """

    name: str
    body: bytes
    content_type: str


def load(path: Path | str) -> list[Recording]:
    """Load one recording file, or every recording file in a folder (sorted by name).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: a ``.json`` file is not valid JSON.
    """
    path = Path(path)
    if path.is_dir():
        out: list[Recording] = []
        for child in sorted(path.iterdir()):
            if child.suffix in CONTENT_TYPES and child.is_file():
                out.extend(_load_file(child))
        return out
    if not path.exists():
        raise FileNotFoundError(path)
    return _load_file(path)


def load_many(paths: Iterable[Path | str]) -> list[Recording]:
    """:func:`load` over several paths, concatenated."""
    return [r for p in paths for r in load(p)]


def _load_file(path: Path) -> list[Recording]:
    raw = path.read_bytes()
    ctype = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    if path.suffix != ".json":
        return [Recording(path.stem, raw, ctype)]
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path.name}: not JSON ({exc})") from None
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        return [
            Recording(f"{path.stem}/{key}", orjson.dumps(value), ctype)
            for key, value in doc.items()
        ]
    return [Recording(path.stem, raw, ctype)]
