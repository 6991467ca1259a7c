"""The client installs alone (no torch, no parsers, no Qdrant) and works against a full server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve import launch_serve, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).with_name("light_checks.py")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``omnidex serve`` from this (full) environment, on a fresh data dir."""
    process, url = launch_serve(
        tmp_path / "data", OMNIDEX_WORKERS="1", OMNIDEX_VISUAL_SEARCH="false", OMNIDEX_SPEECH="false"
    )
    try:
        wait_healthy(process, url, path="/readyz")
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
