"""The client for a command: over HTTP to ``--url``, or to the API served in this process.

In-process, the API runs on a Unix socket in a private folder, in a thread of
this process, over the data dir (which it locks as ``omnidex serve`` does);
only this process can reach it, so it acts as the default tenant without a key.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import typer

from omnidex.cli.common import err_console, or_exit, setup_logging
from omnidex.client import Client
from omnidex.config import get_settings

LOCAL_URL = "http://omnidex.local"
START_SECONDS = 120.0
ANSWER_TIMEOUT = 600.0


@contextmanager
def connect(url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client of the server at ``url``, or of one started here for the duration."""
    if url:
        with Client(url, api_key=api_key, timeout=ANSWER_TIMEOUT) as client:
            yield client
        return
    with (
        serve_here() as socket,
        Client(
            LOCAL_URL, timeout=ANSWER_TIMEOUT, retries=0, transport=httpx.HTTPTransport(uds=str(socket))
        ) as client,
    ):
        yield client


@contextmanager
def serve_here() -> Iterator[Path]:
    """Serve the API over the data dir on a private Unix socket; yields the socket's path."""
    import uvicorn

    from omnidex.api.app import create_app
    from omnidex.runtime import Runtime

    settings = get_settings()
    setup_logging(settings)
    logging.getLogger().setLevel(logging.WARNING)
    with err_console.status("loading the models…", spinner="dots"):
        runtime = or_exit(lambda: Runtime(settings))
    folder = Path(tempfile.mkdtemp(prefix="omnidex-"))  # mode 0700: this user only
    socket = folder / "api.sock"
    config = uvicorn.Config(
        create_app(runtime=runtime, open_access=True),
        uds=str(socket),
        log_config=None,
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="local-api", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield socket
    finally:
        server.should_exit = True
        thread.join()
        runtime.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_started(server: object, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not getattr(server, "started", False):
        if not thread.is_alive() or time.monotonic() > deadline:
            err_console.print("[red]error:[/red] the API could not start in this process")
            raise typer.Exit(2)
        time.sleep(0.02)
