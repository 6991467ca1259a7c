"""Safe by default on localhost: without API keys, only same-origin browser writes, only known hosts.

A server without keys trusts whoever reaches it, which on a laptop must mean its user alone,
not any web page that user has open. So while no key exists:

- a request must name one of ``OMNIDEX_ALLOWED_HOSTS`` (localhost by default) in its Host
  header, which stops DNS rebinding (400 otherwise);
- a request that changes something (POST, PUT, PATCH, DELETE) from a browser must come from
  this server's own pages: a cross-site ``Sec-Fetch-Site``, or an ``Origin`` other than the
  Host, gets 403;
- a body sent with such a request must say what it is: JSON as ``application/json``, uploads
  as ``multipart/form-data`` (a page can send ``text/plain`` anywhere without asking; 415).

With keys, the key decides. The CLI's own in-process server, on a private socket, is exempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from omnidex.api.errors import error_response

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
BODY_TYPES = (b"application/json", b"multipart/form-data")
UNLABELLED = "send JSON as application/json and files as multipart/form-data"


class KeylessGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: str) -> None:
        self.app = app
        self.allowed = {host.strip().lower().strip("[]") for host in allowed_hosts.split(",") if host.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" and self._keyless(scope) else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refusal
        await error_response(status, code, message)(scope, receive, send)

    def _keyless(self, scope: Scope) -> bool:
        state = scope["app"].state
        runtime = getattr(state, "runtime", None)
        if getattr(state, "open_access", False) or runtime is None:
            return False
        return not runtime.keys.keys_exist()

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = {name: value for name, value in scope["headers"]}
        host = headers.get(b"host", b"").decode("latin-1")
        if _hostname(host) not in self.allowed:
            return (
                400,
                "invalid_request",
                (f"this server answers to {', '.join(sorted(self.allowed))} only (OMNIDEX_ALLOWED_HOSTS)"),
            )
        if scope["method"] not in UNSAFE:
            return None
        if from_another_page(headers):
            return 403, "forbidden", "without API keys this server takes changes only from its own pages"
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type and not (content_type in BODY_TYPES or content_type.endswith(b"+json")):
            return (
                415,
                "unsupported_media_type",
                "send JSON as application/json and files as multipart/form-data",
            )
        return None


def from_another_page(headers: Mapping[bytes, bytes]) -> bool:
    """Whether a browser sent this request from a page other than this server's own: a
    cross-site or same-site ``Sec-Fetch-Site``, or an ``Origin`` other than the Host."""
    host = headers.get(b"host", b"").decode("latin-1")
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1")
    origin = headers.get(b"origin", b"").decode("latin-1")
    return site in ("cross-site", "same-site") or bool(
        origin and origin != "null" and urlsplit(origin).netloc != host
    )


def _hostname(host: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` is ``::1``."""
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
