"""Slow clients are cut off: half-sent headers and stalled bodies lose their connection within
the timeouts, and the server's descriptors return to where they were."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from omnidex.api.app import create_app
from omnidex.cli.server import server_config
from omnidex.runtime import Runtime

SLOW = 500
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5


@pytest.fixture
def database_url() -> None:
    """The connections are the point here, not the database: SQLite only."""
    return None


@pytest.fixture
def server(runtime: Runtime) -> Iterator[tuple[uvicorn.Server, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = runtime.settings.model_copy(
        update={"header_timeout_s": HEADER_TIMEOUT, "body_timeout_s": BODY_TIMEOUT, "log_level": "WARNING"}
    )
    served = uvicorn.Server(
        server_config(create_app(runtime=runtime, workers=0), settings, "127.0.0.1", port)
    )
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield served, port
    served.should_exit = True
    thread.join(timeout=30)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:  # reset: closed too
        return True


class _PeakConnections:
    """Samples how many connections the server holds, from a thread, and keeps the highest."""

    def __init__(self, served: uvicorn.Server) -> None:
        self.served = served
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(self.served.server_state.connections))
            time.sleep(0.005)

    def __enter__(self) -> _PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_half_sent_headers_are_cut_off_and_descriptors_come_back(server: tuple[uvicorn.Server, int]) -> None:
    served, port = server
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz").status_code == 200
    before = _open_descriptors()
    slow: list[socket.socket] = []
    try:
        with _PeakConnections(served) as connections:
            for _ in range(SLOW):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                slow.append(sock)
            opened = time.monotonic()
            # Each clock starts when the server accepts; on a busy machine that lags the client.
            deadline = opened + HEADER_TIMEOUT + 5.0
            closed = sum(_closed_by_server(sock, deadline) for sock in slow)
        print(
            f"{closed}/{SLOW} slow connections closed {time.monotonic() - opened:.1f} s after they opened; "
            f"the server held up to {connections.peak} at once"
        )
        assert closed == SLOW
        # The server really held them together, rather than one after another.
        assert connections.peak >= SLOW / 2
    finally:
        for sock in slow:
            sock.close()
    settle = time.monotonic() + 5
    while len(served.server_state.connections) and time.monotonic() < settle:
        time.sleep(0.05)
    assert len(served.server_state.connections) == 0
    assert _open_descriptors() <= before + 2
    # A prompt client is served as before.
    assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_stalled_body_is_cut_off_but_a_slow_answer_is_not(server: tuple[uvicorn.Server, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query": '
        )
        started = time.monotonic()
        assert _closed_by_server(sock, started + BODY_TIMEOUT + 5.0)
        assert time.monotonic() - started >= BODY_TIMEOUT - 0.1
    # A keep-alive client that takes its time between whole requests is not cut off mid-request.
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(HEADER_TIMEOUT / 2)
        assert client.get("/healthz").status_code == 200
