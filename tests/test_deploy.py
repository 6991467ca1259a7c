"""docker-compose.yml and the Dockerfile: valid for Compose, and speaking only settings omnidex knows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.main import get_command

from omnidex.cli import app
from omnidex.config import Settings

ROOT = Path(__file__).resolve().parent.parent
OMNIDEX_SERVICES = ("api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _known(variable: str) -> bool:
    name = variable.removeprefix("OMNIDEX_").lower()
    return variable.startswith("OMNIDEX_") and name in Settings.model_fields


def test_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    # check-jsonschema vendors the Compose Specification's schema (compose-spec/compose-spec).
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The schema is permissive; a wrong shape must still fail, or the check proves nothing.
    broken = {**compose, "services": {"api": {"depends_on": {"postgres": {"condition": "healthy-ish"}}}}}
    assert list(validator.iter_errors(broken))


def test_every_omnidex_variable_is_a_setting(compose: dict[str, Any]) -> None:
    for name in OMNIDEX_SERVICES:
        environment = compose["services"][name]["environment"]
        unknown = [v for v in environment if v.startswith("OMNIDEX_") and not _known(v)]
        assert unknown == [], f"service {name} sets variables no setting reads"
        assert "OMNIDEX_DATABASE_URL" in environment
        assert "OMNIDEX_QDRANT_URL" in environment
    dockerfile = (ROOT / "Dockerfile").read_text()
    set_there = re.findall(r"\b(OMNIDEX_[A-Z_]+)=", dockerfile)
    assert set_there
    assert [v for v in set_there if not _known(v)] == []


def test_services_run_commands_that_exist(compose: dict[str, Any]) -> None:
    cli = get_command(app)
    commands = cli.commands  # type: ignore[attr-defined]
    for name in OMNIDEX_SERVICES:
        program, command, *options = compose["services"][name]["command"]
        assert program == "omnidex"
        assert command in commands
        known = {opt for param in commands[command].params for opt in param.opts}
        assert set(options) <= known


def test_the_sync_service_follows_a_folder_through_the_api(compose: dict[str, Any]) -> None:
    sync = compose["services"]["sync"]
    program, command, folder, *options = sync["command"]
    assert (program, command, folder) == ("omnidex", "sync", "/sync")
    params = get_command(app).commands["sync"].params  # type: ignore[attr-defined]
    assert {o for o in options if o.startswith("--")} <= {opt for param in params for opt in param.opts}
    # Settings, or the command's own variables (its key for the API).
    envvars = {param.envvar for param in params if isinstance(param.envvar, str)}
    assert sync["profiles"] == ["sync"]
    assert sync["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert any(volume.endswith(":/sync:ro") for volume in sync["volumes"])
    unknown = [v for v in sync["environment"] if v.startswith("OMNIDEX_") and not (_known(v) or v in envvars)]
    assert unknown == []


def test_dependencies_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in OMNIDEX_SERVICES:
        for dependency, condition in services[name]["depends_on"].items():
            assert condition == {"condition": "service_healthy"}
            assert "test" in services[dependency]["healthcheck"]
    # The workers share the API's blob volume: uploads land where the workers read.
    assert services["api"]["volumes"] == services["worker"]["volumes"]


def _compose_cli() -> list[str] | None:
    """Compose v2 (the docker plugin) or v1 (Debian's docker-compose): ``config`` needs no engine."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else None


def test_the_gpu_profile_is_valid_compose_and_serves_every_role(compose: dict[str, Any]) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is here (apt-get install docker-compose)")
    checked = subprocess.run(
        [*cli, "--profile", "gpu", "config"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(checked.stdout)["services"]
    roles = {"qwen": 8091, "qwen-thinking": 8092, "whisper": 8093}
    assert set(roles) <= set(resolved)
    for name, port in roles.items():
        service = compose["services"][name]
        assert service["profiles"] == ["gpu"]
        assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]
    # The omnidex services reach each role by its service name and port.
    environment = compose["services"]["api"]["environment"]
    assert environment["OMNIDEX_GENERATOR_URL"] == "http://qwen:8091/v1"
    assert environment["OMNIDEX_REASONING_URL"] == "http://qwen-thinking:8092/v1"
    assert environment["OMNIDEX_ASR_URL"] == "http://whisper:8093/v1"
    assert "--reasoning-parser=qwen3" in compose["services"]["qwen-thinking"]["command"]
