"""The log handler ``omnisdk serve`` installs: one line per record on stderr, ``text`` or ``json``.

JSON lines come from python-json-logger's formatter for the standard :mod:`logging` module:
omnisdk, its plugins, uvicorn and every library log through ``logging`` already, so one
formatter on one handler covers them all (structlog would add a second logging API and still
need this formatter's job done for the stdlib records).

Each JSON line has ``time`` (RFC 3339 UTC, milliseconds, ``Z``), ``level``, ``logger``,
``message``, then whichever of the context fields are known
(:data:`omnisdk.observability.log_context.FIELDS`: ``request_id``, ``plugin``, ``account``,
``interaction_id``, ``event_id``, ``trace_id``), then any ``extra=`` fields of the call, and
``exc_info`` (the traceback, one string) for an exception.  A text line is
``time level logger: message`` followed by the known context fields as ``key=value``.  Both are
passed through the :data:`~omnisdk.observability.redaction.REDACTOR` last.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from omnisdk.observability.log_context import FIELDS, current
from omnisdk.observability.redaction import REDACTOR, Redactor

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
_MARK = "_omnisdk_handler"


def rfc3339_ms(created: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds and a ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z"


class ContextFilter(logging.Filter):
    """Copies the bound context fields (:mod:`omnisdk.observability.log_context`) onto each
    record that does not carry them already; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current()
        if fields:
            attrs = record.__dict__
            for key, value in fields.items():
                attrs.setdefault(key, value)
        return True


class TextFormatter(logging.Formatter):
    """``2026-12-03T10:00:00.123Z WARNING omnisdk.gateway: message request_id=… plugin=…``,
    redacted."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line = f"{rfc3339_ms(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        attrs = record.__dict__
        context = " ".join(f"{k}={attrs[k]}" for k in FIELDS if attrs.get(k) is not None)
        if context:
            line += " " + context
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return self.redactor.text(line)


class JsonFormatter(_JsonFormatter):
    """One JSON object per record (fields: see the module), redacted."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__("%(message)s", json_ensure_ascii=False)
        self.redactor = redactor

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = rfc3339_ms(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        attrs = record.__dict__
        log_data["message"] = attrs.get("message", "")
        for key in FIELDS:
            if attrs.get(key) is not None:
                log_data[key] = attrs[key]
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: self.redactor.value(k, v) for k, v in log_data.items()}


def make_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the context filter and the ``fmt`` formatter.

    Raises:
        ValueError: ``fmt`` is not one of :data:`LOG_FORMATS`.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    return handler


def configure_logging(fmt: str = "text", level: str = "warning", stream: IO[str] | None = None) -> logging.Handler:
    """Install one handler on the root logger (replacing one an earlier call installed): records
    of ``omnisdk.*`` at ``level`` and above, every other logger's (uvicorn, httpx, plugins'
    libraries) at WARNING and above (or ``level`` when that is higher).  Returns the handler.

    Raises:
        ValueError: an unknown format or level.
    """
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    handler = make_handler(fmt, stream)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("omnisdk").setLevel(numeric)
    return handler


__all__ = ["LOG_FORMATS", "LOG_LEVELS", "ContextFilter", "JsonFormatter", "TextFormatter", "configure_logging",
           "make_handler", "rfc3339_ms"]
