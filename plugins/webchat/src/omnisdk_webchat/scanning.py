"""The virus-scan hook of attachments: ``virus_scan = "module:function"`` in the account's
settings names a callable ``(data: bytes, mime_type: str, filename: str | None) -> bool``
(True: clean), sync or async, run on each attachment before its frame is committed.  Without
one, attachments that pass the size and type limits are allowed.  A scanner that raises makes
the frame refused as *unavailable* (retry later), never accepted unscanned.
"""

from __future__ import annotations

import base64
import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from omnisdk.errors import ConfigError
from omnisdk.events import Event

Scanner = Callable[[bytes, str, str | None], Any]


class ScanRefused(Exception):
    """An attachment the scanner called infected (frame refused, 422 / close 4422)."""


class ScanUnavailable(Exception):
    """The scanner failed (frame refused for now, 503 / close 4503)."""


def load(spec: str | None) -> Scanner | None:
    """The callable named ``"module:function"``, or None.

    Raises:
        ConfigError: the module or the function cannot be found.
    """
    if spec is None:
        return None
    module, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise ConfigError(f"webchat: virus_scan {spec!r} names no importable callable") from None
    if not callable(fn):
        raise ConfigError(f"webchat: virus_scan {spec!r} is not callable")
    return fn  # type: ignore[no-any-return]


async def check(scanner: Scanner | None, events: Sequence[Event]) -> None:
    """Scan every attachment of ``events``.

    Raises:
        ScanRefused: one is infected.
        ScanUnavailable: the scanner raised.
    """
    if scanner is None:
        return
    for event in events:
        for item in (event.data or {}).get("attachments") or ():
            url = item.get("url") or ""
            data = base64.b64decode(url.partition(",")[2]) if url.startswith("data:") else b""
            try:
                verdict = scanner(data, item.get("mime_type") or "", item.get("filename"))
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception as exc:
                raise ScanUnavailable(type(exc).__name__) from None
            if verdict is not True:
                raise ScanRefused(item.get("filename") or "attachment")
