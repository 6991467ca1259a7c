"""Server-sent events: the wire format, one place."""

from __future__ import annotations

import json
from typing import Any


def sse_event(event: str, data: Any, event_id: str | int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'), default=str)}")
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str = "keep-alive") -> str:
    return f": {text}\n\n"


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
