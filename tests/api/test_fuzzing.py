"""The OpenAPI schema holds: schemathesis, with every check, through its examples, coverage and
fuzzing phases, finds no failure (a fixed seed and a bounded number of cases, for CI); and
no error it provokes names a server path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnidex.api.app import create_app
from omnidex.runtime import Runtime
from tests import omni_fakes
from tests.omni_fakes import FakeOmni
from tests.paths import leaked_paths

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20261204
EXAMPLES = 10


class ErrorBodies:
    """Wraps an app and keeps the body of every error response it gives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.bodies = app, []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, chunks = 0, []

        async def keep(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(b"".join(chunks).decode("utf-8", "replace"))
            await send(message)

        await self.app(scope, receive, keep)


@pytest.fixture
def database_url() -> None:
    return None


def _schemathesis() -> str:
    found = shutil.which("st") or str(Path(sys.executable).parent / "st")
    if not Path(found).exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[server,test]')")
    return found


def test_schemathesis_finds_nothing(
    make_runtime: Callable[..., Runtime], omni: Callable[[str], FakeOmni], tmp_path: Path
) -> None:
    fake = omni("vllm-omni")
    runtime = make_runtime(generator="vllm-omni", generator_url=fake.url)
    errors = ErrorBodies(create_app(runtime=runtime, workers=0))
    server, thread, url = omni_fakes.serve(errors)  # type: ignore[arg-type]
    try:
        run = subprocess.run(
            [
                _schemathesis(),
                "--config-file",
                str(CONFIG),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--report",
                "ndjson",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its cache folder goes there
        )
    finally:
        omni_fakes.stop(server, thread)
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    # Not one of the errors it provoked names a server folder.
    print(f"{len(errors.bodies)} error responses scanned for server paths")
    assert len(errors.bodies) > 100
    leaks = {body for body in errors.bodies if leaked_paths(body, runtime.settings.data_dir)}
    assert not leaks, sorted(leaks)[:5]
