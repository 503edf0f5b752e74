"""Logs and traces: what a record or a span carries, and what it must never carry.

- :mod:`omnisdk.observability.log_context`: the ids of the request or event being handled
  (``request_id``, ``plugin``, ``account``, ``interaction_id``, ``event_id``, ``trace_id``), in
  a :class:`contextvars.ContextVar`, so every record logged meanwhile carries them;
- :mod:`omnisdk.observability.redaction`: the last line of defence against a secret in a log
  line (key names, ``omk_`` API keys, bearer tokens, and the configured secrets' values);
- :mod:`omnisdk.observability.logs`: the handler ``omnisdk serve`` installs (``text`` or
  ``json``, python-json-logger);
- :mod:`omnisdk.observability.tracing`: OpenTelemetry spans around ingest, processing and
  sends (``opentelemetry-api`` only; no-op unless an SDK tracer provider is set).

See docs/operations.md, "Logs" and "Traces".
"""
