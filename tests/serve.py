"""`omnidex serve` in a child process, on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def launch_serve(data_dir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `omnidex serve` over ``data_dir`` (with ``env`` added to this environment); returns
    the process and its base URL at once (see ``wait_healthy``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = shutil.which("omnidex") or str(Path(sys.executable).parent / "omnidex")
    assert Path(command).exists(), "the omnidex command is not installed"
    environment = {**os.environ, "OMNIDEX_DATA_DIR": str(data_dir), "OMNIDEX_LOG_LEVEL": "WARNING", **env}
    process = subprocess.Popen([command, "serve", "--port", str(port)], env=environment)
    return process, f"http://127.0.0.1:{port}"


def wait_healthy(
    process: subprocess.Popen[bytes], url: str, timeout: float = 180, path: str = "/healthz"
) -> None:
    """Return once ``path`` (/healthz, or /readyz) answers 200; fail if the process exits first
    or it takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "omnidex serve exited at start-up"
        assert time.monotonic() < deadline, "omnidex serve did not start"
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def wait_warm(url: str, timeout: float = 180) -> None:
    """Return once /readyz names no part as still warming up (a first start's export, the readers)."""
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "omnidex serve did not finish warming up"
        try:
            checks = httpx.get(f"{url}/readyz", timeout=5).json().get("checks", {})
            if checks and not any(str(value).startswith("warming") for value in checks.values()):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
