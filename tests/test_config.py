"""Settings come from OMNIDEX_ variables and .env, and the README documents every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_setting() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`OMNIDEX_{name.upper()}`" not in text]
    assert missing == []


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OMNIDEX_TOP_SECRET=ignored\nOMNIDEX_WORKERS=5\nOMNIDEX_DATA_DIR=here\n")
    monkeypatch.setenv("OMNIDEX_WORKERS", "3")
    settings = Settings()
    assert settings.workers == 3  # the environment wins over .env
    assert settings.data_dir == tmp_path / "here"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'here' / 'omnidex.db'}"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDEX_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
