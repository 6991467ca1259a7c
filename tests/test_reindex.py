"""`omnidex reindex`: a new text encoder (MiniLM cut to 256 dimensions), nothing parsed again.

The same questions find the same sources afterwards; an interrupted run
resumes; on a Qdrant server searches keep using the old collection until the
alias switches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omnidex.api.app import create_app
from omnidex.cli import app as cli
from omnidex.config import Settings, get_settings
from omnidex.runtime import Runtime, prepared_reindex
from omnidex.store.versions import EDGE_FOLDER, live_edge_dir
from tests.conftest import search, upload, wait_until_done
from tests.files import make_pdf, make_picture
from tests.qdrant_fake import FakeQdrant

QUESTIONS = {
    "how do bees tell the hive where clover grows": "bees.pdf",
    "which ship sank in the winter storm": "ships.pdf",
    "what do owls eat at night": "owls.pdf",
    "HARBOUR": "harbour.png",
}


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "corpus"
    folder.mkdir()
    files = [
        make_pdf(folder / "bees.pdf", [["Bees dance to tell the hive where the clover grows."]]),
        make_pdf(folder / "ships.pdf", [["The schooner Aurora sank in the winter storm of 1887."]]),
        make_pdf(folder / "owls.pdf", [["Owls hunt mice and voles at night in the meadow."]]),
    ]
    make_picture("HARBOUR").save(folder / "harbour.png")
    return [*files, folder / "harbour.png"]


@pytest.fixture
def clip_env(monkeypatch: pytest.MonkeyPatch, tiny_clip_files: tuple[Path, Path]) -> Iterator[dict[str, str]]:
    """The tiny CLIP for every process and Settings() of the test, through the environment."""
    config, checkpoint = tiny_clip_files
    env = {
        "OMNIDEX_CLIP_MODEL": "tiny-clip",
        "OMNIDEX_CLIP_PRETRAINED": str(checkpoint),
        "OMNIDEX_CLIP_CONFIG": str(config),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def _index(settings: Settings, corpus: list[Path]) -> None:
    runtime = Runtime(settings)
    try:
        with TestClient(create_app(runtime=runtime, workers=1)) as client:
            docs = upload(client, *corpus)
            done = wait_until_done(client, [d["id"] for d in docs])
            assert {d["status"] for d in done.values()} == {"ready"}, done
            assert _answers(client) == QUESTIONS
    finally:
        runtime.close()


def _answers(client: TestClient) -> dict[str, str]:
    return {question: search(client, question)[0]["source"] for question in QUESTIONS}


def _search_after(settings: Settings) -> tuple[dict[str, str], list[dict]]:
    runtime = Runtime(settings)
    try:
        assert runtime.text_encoder.dim == 256
        with TestClient(create_app(runtime=runtime, workers=0)) as client:
            return _answers(client), search(client, "bees clover")
    finally:
        runtime.close()


class Interrupted(Exception):
    pass


def test_reindex_embedded_resumes_and_switches(
    clip_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus: list[Path]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(data))
    _index(Settings(), corpus)
    assert live_edge_dir(data).name == EDGE_FOLDER

    monkeypatch.setenv("OMNIDEX_TEXT_DIM", "256")
    monkeypatch.setenv("OMNIDEX_TEXT_BATCH_SIZE", "1")  # every item is stored as it is encoded

    def stop_after_two(done: int, _: int) -> None:
        if done == 2:
            raise Interrupted

    with prepared_reindex(Settings()) as (reindexer, target):
        assert target == f"{EDGE_FOLDER}-1"
        with pytest.raises(Interrupted):
            reindexer.run(target, progress=stop_after_two)
    assert live_edge_dir(data).name == EDGE_FOLDER  # not switched: searches still use the old one

    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["reindex"])
    assert result.exit_code == 0, result.output
    assert "searches now use qdrant-edge-1" in result.output
    assert "2 already there" in result.output
    assert live_edge_dir(data).name == f"{EDGE_FOLDER}-1"
    assert not (data / EDGE_FOLDER).exists()

    answers, hits = _search_after(Settings())
    assert answers == QUESTIONS
    assert hits[0]["page"] == 1  # the place of a chunk survives: from the database, not a new parse


def test_reindex_on_a_server_keeps_searches_on_the_old_collection(
    clip_env: dict[str, str], tmp_path: Path, corpus: list[Path], qdrant_server: FakeQdrant
) -> None:
    old = Settings(data_dir=tmp_path / "data", qdrant_url=qdrant_server.url)
    _index(old, corpus)
    searched_meanwhile: list[dict[str, str]] = []
    serving = Runtime(old)  # an API process still on the old encoder
    try:
        with TestClient(create_app(runtime=serving, workers=0)) as client:

            def search_meanwhile(done: int, total: int) -> None:
                if done == total:
                    searched_meanwhile.append(_answers(client))
                    # Deleted after the reindex passed it: it must not come back with the new index.
                    owls = search(client, "what do owls eat at night")[0]["doc_id"]
                    assert client.delete(f"/v1/documents/{owls}").status_code == 204

            with prepared_reindex(old.model_copy(update={"text_dim": 256})) as (reindexer, target):
                assert target == "omnidex-2"
                result = reindexer.run(target, progress=search_meanwhile)
    finally:
        serving.close()
    assert searched_meanwhile == [QUESTIONS]
    assert (result.previous, result.live, result.documents) == ("omnidex-1", "omnidex-2", 4)
    switch = qdrant_server.sent("POST", "/collections/aliases")[-1].body
    assert switch["actions"][1] == {"create_alias": {"collection_name": "omnidex-2", "alias_name": "omnidex"}}
    assert qdrant_server.sent("DELETE", "/collections/omnidex-1")
    assert qdrant_server.collections["omnidex-2"]["vectors"]["text"]["size"] == 256

    answers, _ = _search_after(old.model_copy(update={"text_dim": 256}))
    assert answers == {**QUESTIONS, "what do owls eat at night": answers["what do owls eat at night"]}
    assert answers["what do owls eat at night"] != "owls.pdf"
