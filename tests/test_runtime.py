"""The composition root builds only what a role needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnidex.cli import app
from omnidex.config import get_settings
from omnidex.ingest.worker import Worker


def test_the_worker_builds_no_generator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "OMNIDEX_DATA_DIR": str(tmp_path / "data"),
        "OMNIDEX_GENERATOR": "vllm-omni",
        "OMNIDEX_GENERATOR_URL": "http://127.0.0.1:9/v1",
        "OMNIDEX_VISUAL_SEARCH": "false",
        "OMNIDEX_SPEECH": "false",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    built: list[object] = []
    ran: list[Worker] = []
    monkeypatch.setattr("omnidex.runtime.make_generator", lambda settings: built.append(settings))
    monkeypatch.setattr(Worker, "run", lambda self, stop: ran.append(self))
    monkeypatch.setattr("omnidex.cli.server.signal.signal", lambda *args: None)
    try:
        result = CliRunner().invoke(app, ["worker"])
        assert result.exit_code == 0, result.output
        assert len(ran) == 1
        assert built == []

        from omnidex.runtime import Runtime

        Runtime(get_settings()).close()  # the API's runtime does build one, through the same factory
        assert len(built) == 1
    finally:
        get_settings.cache_clear()
