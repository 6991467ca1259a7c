"""Connections that must make progress: a client that sends its headers too slowly, or stops
sending a body half-way, is disconnected.

uvicorn closes idle keep-alive connections but waits for ever on a request that never
finishes arriving, so 2,000 half-sent requests hold 2,000 descriptors. This protocol adds
two clocks to each connection: the headers must be complete ``header_timeout`` seconds
after a request starts, and a body may not pause for more than ``body_timeout`` seconds.
Once a request is complete, the application takes as long as it needs (an answer stream).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

TICK_SECONDS = 0.5


class TimelyH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with header and body timeouts."""

    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._request_began = self._last_data = self.loop.time()
        self._clock: asyncio.TimerHandle | None = self.loop.call_later(TICK_SECONDS, self._tick)

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        if self.conn.their_state is h11.DONE or (self.cycle is not None and self.cycle.response_complete):
            self._request_began = now  # the next request on this connection begins
        self._last_data = now
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._request_began = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        super().connection_lost(exc)

    def _tick(self) -> None:
        self._clock = None
        if self.transport.is_closing():
            return
        now, state = self.loop.time(), self.conn.their_state
        waiting_for_headers = state is h11.IDLE and now - self._request_began > self.header_timeout
        body_stalled = state is h11.SEND_BODY and now - self._last_data > self.body_timeout
        if (waiting_for_headers and not self._mid_response()) or body_stalled:
            self.transport.close()
            return
        self._clock = self.loop.call_later(TICK_SECONDS, self._tick)

    def _mid_response(self) -> bool:
        """Whether a response is still going out (the client owes nothing then)."""
        return self.cycle is not None and not self.cycle.response_complete


def timely_protocol(header_timeout: float, body_timeout: float) -> type[TimelyH11Protocol]:
    """The protocol class with these timeouts, for uvicorn's ``http=`` option."""
    attributes: dict[str, Any] = {"header_timeout": header_timeout, "body_timeout": body_timeout}
    return type("TimelyH11", (TimelyH11Protocol,), attributes)
