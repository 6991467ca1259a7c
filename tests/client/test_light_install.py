"""The client installs alone (no torch, no parsers, no Qdrant) and works against a full server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).with_name("light_checks.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``omnidex serve`` from this (full) environment, on a fresh data dir."""
    port = _free_port()
    env = {
        **os.environ,
        "OMNIDEX_DATA_DIR": str(tmp_path / "data"),
        "OMNIDEX_PORT": str(port),
        "OMNIDEX_WORKERS": "1",
        "OMNIDEX_VISUAL_SEARCH": "false",
        "OMNIDEX_SPEECH": "false",
    }
    process = subprocess.Popen([sys.executable, "-m", "omnidex.cli", "serve"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not become ready"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.mark.slow
def test_the_client_alone_against_a_server(server: str, tmp_path: Path) -> None:
    venv = tmp_path / "client-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{ROOT}[langchain]", "pytest"], check=True)

    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list"], check=True, capture_output=True, text=True
    ).stdout.lower()
    assert "torch" not in listed
    assert "unstructured" not in listed

    checks = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
         "--import-mode=importlib", "-c", os.devnull, "--rootdir", str(tmp_path), str(CHECKS)],
        env={**os.environ, "OMNIDEX_URL": server},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert checks.returncode == 0, checks.stdout + checks.stderr
    assert "5 passed" in checks.stdout
