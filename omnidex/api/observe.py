"""Request ids, access logs and latency metrics, as one plain ASGI middleware.

Each request gets an id (the caller's ``X-Request-ID`` when it is sane, a new
one otherwise) that is echoed in the response, set for every log record made
while serving it, and written in its access-log line.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnidex.logs import request_id

log = logging.getLogger("omnidex.access")
HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            runtime = getattr(scope["app"].state, "runtime", None)
            if runtime is not None:
                runtime.metrics.requests.labels(scope["method"], route, str(status)).observe(seconds)
            log.info(
                "%s %s %d %.1f ms",
                scope["method"],
                scope["path"],
                status,
                seconds * 1000,
                extra={"method": scope["method"], "route": route, "status": status, "ms": seconds * 1000},
            )
            request_id.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _SANE_ID.fullmatch(value):
            return str(value.decode())
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    """The matched route's template (``/v1/documents/{doc_id}``): bounded label values."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"
