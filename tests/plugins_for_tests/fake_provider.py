"""Test helper: a local fake provider the sample plugin sends to (``api_base_url``), counting
every send.

``POST /messages`` with ``{"to", "text"}`` and an ``Idempotency-Key`` header answers ``{"id"}``:
the same id again for a key it has seen (a provider honouring idempotency keys delivers that
message once).  :attr:`FakeProvider.requests` keeps every request as it came, in order.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeProvider:
    """Start with ``with FakeProvider() as provider:``; ``provider.url`` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                key = self.headers.get("idempotency-key", "")
                with owner._lock:
                    owner.requests.append({"key": key, "to": body.get("to"), "text": body.get("text")})
                    n = len(owner.requests)
                out = json.dumps({"id": f"out-{key or n}"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.requests)

    def delivered(self) -> dict[str, dict[str, str]]:
        """The messages delivered, by idempotency key (a repeated key is delivered once)."""
        out: dict[str, dict[str, str]] = {}
        for r in self.snapshot():
            out.setdefault(r["key"], r)
        return out
