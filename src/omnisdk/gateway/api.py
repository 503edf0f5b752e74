"""A small JSON API over the runtime (the full agent API comes with the routing engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from omnisdk.errors import StateError
from omnisdk.gateway.webhooks import error_response

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


class Api:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def interactions(self, request: Request) -> Response:
        items = await self.rt.interactions(active_only=request.query_params.get("active") == "true")
        return _json([i.model_dump(mode="json") for i in items])

    async def stats(self, request: Request) -> Response:
        return _json(await self.rt.stats())

    async def reply(self, request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body())
            text = doc["text"]
            if not isinstance(text, str) or not text:
                raise ValueError
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return error_response(400, "malformed_payload", 'expected {"text": "..."}')
        try:
            key = await self.rt.reply(request.path_params["id"], text,
                                      idempotency_key=request.headers.get("idempotency-key"))
        except StateError as exc:
            return error_response(409, "conflict", str(exc))
        return _json({"idempotency_key": key}, 202)

    async def close(self, request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body() or b"{}")
            code = doc.get("wrap_up_code") or "Issue resolved"
        except (orjson.JSONDecodeError, AttributeError):
            return error_response(400, "malformed_payload", 'expected {"wrap_up_code": "..."}')
        try:
            await self.rt.close_interaction(request.path_params["id"], code)
        except StateError as exc:
            return error_response(409, "conflict", str(exc))
        return _json({"status": "closed"})
