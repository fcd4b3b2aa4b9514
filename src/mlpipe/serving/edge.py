"""The outermost ASGI layer: request ids, the body-size limit, status and latency metrics, and a
last guard so no exception reaches the server (uvicorn would drop the connection with it).

Pure ASGI (no BaseHTTPMiddleware) because it runs on every request of the hot path.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, HTTPException

from mlpipe.serving.metrics import Metrics
from mlpipe.serving.responses import error, json_response
from mlpipe.serving.scorer import new_id

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ENDPOINTS = frozenset(
    ("/predict", "/predict/batch", "/health", "/ready", "/metrics", "/version", "/docs", "/redoc", "/openapi.json")
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class Edge:
    """Wraps the FastAPI app (``.app``); ``limit`` is serve.max_body_bytes."""

    def __init__(self, app: FastAPI, metrics: Metrics, limit: int) -> None:
        self.app, self.metrics, self.limit = app, metrics, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope["headers"])
        rid = new_id()  # always the service's own: a client's could collide with another's, or be forged
        scope.setdefault("state", {})["request_id"] = rid
        if (given := headers.get(b"x-request-id")) is not None:  # logged beside ours: grep it to find ours
            theirs = given.decode("latin-1")
            log.info("request %s: client request id %s", rid, theirs if _REQUEST_ID.match(theirs) else "(invalid)")
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        status = 500
        rid_header = (b"x-request-id", rid.encode())

        status_sent = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, f"request body is larger than the limit of {self.limit} bytes")
            return message

        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                msg = f"request body of {int(declared)} bytes is larger than the limit of {self.limit} bytes"
                await error(413, msg)(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except Exception:
            # The app's handler has logged it and, normally, answered 500. Re-raised to the server,
            # uvicorn would also close the connection: a client's next request on it would fail.
            if status_sent:
                return
            log.exception("request %s failed", rid)
            await json_response({"error": "internal error; the service logged it", "request_id": rid}, 500)(
                scope, receive, send_wrapper
            )
        finally:
            m = self.metrics
            m.requests.labels(endpoint, str(status)).inc()
            if status >= 400:
                m.errors.labels(endpoint, str(status)).inc()
            m.latency.labels(endpoint).observe(time.perf_counter() - t0)
