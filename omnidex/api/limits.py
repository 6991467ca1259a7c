"""A bound on request bodies other than uploads: past ``max_bytes`` a request gets 413.

A declared Content-Length over the bound is refused before a byte is read; a body sent in
chunks is counted as it arrives and refused once it passes the bound, so a huge JSON body
never sits in memory. Multipart uploads have their own per-file limit (``api/uploads.py``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnidex.api.errors import error_response
from omnidex.errors import PayloadTooLarge


class LimitBodies:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_upload(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, PayloadTooLarge.code, self._message())(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes:,} bytes (OMNIDEX_MAX_JSON_BYTES)"


def _is_upload(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return bool(scope["method"] == "POST" and content_type.startswith(b"multipart/form-data"))
