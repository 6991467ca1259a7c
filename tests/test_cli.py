"""The command line: ingest with a summary, search, and the data-dir lock."""

from __future__ import annotations

import json
import re
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnidex.api.app import create_app
from omnidex.cli import app
from omnidex.config import Settings, get_settings
from omnidex.runtime import Runtime
from tests.files import make_binary, make_pdf
from tests.omni_fakes import FakeOmni, Script, serve, stop

LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: .*\n?")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("OMNIDEX_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def test_ingest_folder_then_search(cli_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    make_pdf(folder / "nested" / "bees.pdf", [["Bees dance to tell the hive where the clover grows."]])
    make_binary(folder / "junk.dat")
    (folder / ".hidden.txt").write_text("not indexed")

    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 1, result.output  # junk.dat failed
    assert "bees.pdf" in result.output
    assert "ready" in result.output
    assert "junk.dat" in result.output
    assert "unrecognised" in result.output
    assert "hidden" not in result.output

    found = runner.invoke(app, ["search", "how do bees tell where clover grows", "--json", "-k", "3"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["source"] == "bees.pdf"
    assert hits[0]["page"] == 1

    pretty = runner.invoke(app, ["search", "bees clover"])
    assert "bees.pdf (p. 1)" in pretty.output


def test_ingest_refuses_while_a_server_holds_the_data_dir(cli_env: Path, tmp_path: Path) -> None:
    holder = Runtime(Settings(data_dir=cli_env, workers=0))
    try:
        result = CliRunner().invoke(app, ["ingest", str(make_pdf(tmp_path / "a.pdf", [["x"]]))])
    finally:
        holder.close()
    assert result.exit_code == 2
    assert "in use by pid" in " ".join(result.output.split())


def test_ingest_of_nothing_fails(cli_env: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "no such file or folder" in " ".join(result.output.split())
    assert "nothing to index" in result.output


def test_search_by_image(cli_env: Path, tmp_path: Path) -> None:
    from tests.files import make_picture

    folder = tmp_path / "pictures"
    folder.mkdir()
    make_picture("LIGHTHOUSE").save(folder / "a.png")
    make_picture("SUBMARINE").save(folder / "b.png")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(folder)]).exit_code == 0
    query = tmp_path / "query.png"
    make_picture("SUBMARINE", (500, 250)).save(query)
    found = runner.invoke(app, ["search", "--image", str(query), "--json", "-k", "1"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["hits"][0]["source"] == "b.png"


def test_ask_prints_the_cited_answer_and_writes_the_speech(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, omni: Callable[[str], FakeOmni]
) -> None:
    runner = CliRunner()
    pdf = make_pdf(tmp_path / "zoo.pdf", [["The lion puts on sunscreen every morning."]])
    assert runner.invoke(app, ["ingest", str(pdf)]).exit_code == 0

    no_generator = runner.invoke(app, ["ask", "Who wears sunscreen?"])
    assert no_generator.exit_code == 0, no_generator.output
    assert "no generator is configured" in no_generator.output
    assert "1. zoo.pdf (p. 1)" in no_generator.output

    fake = omni("vllm-omni")
    fake.script = Script(text="The lion does [1].")
    monkeypatch.setenv("OMNIDEX_GENERATOR", "vllm-omni")
    monkeypatch.setenv("OMNIDEX_GENERATOR_URL", fake.url)
    get_settings.cache_clear()
    speech = tmp_path / "answer.wav"
    result = runner.invoke(app, ["ask", "Who wears sunscreen?", "--speak", str(speech)])
    assert result.exit_code == 0, result.output
    assert "The lion does [1]." in result.output
    assert "[1] zoo.pdf (p. 1)" in result.output
    with wave.open(str(speech)) as reader:
        assert (reader.getframerate(), reader.getnframes()) == (24_000, 4800)

    fake.script = Script(status=500)
    failed = runner.invoke(app, ["ask", "Who wears sunscreen?"])
    assert failed.exit_code == 1
    assert "HTTP 500" in failed.output

    thinker = omni("openai")
    thinker.script = Script(replay=Path(__file__).parent / "transcripts" / "vllm-reasoning.sse")
    monkeypatch.setenv("OMNIDEX_REASONING_MODEL", "Qwen/Qwen3-Omni-30B-A3B-Thinking")
    monkeypatch.setenv("OMNIDEX_REASONING_URL", thinker.url)
    get_settings.cache_clear()
    thought = runner.invoke(app, ["ask", "Which report shows the larger rise?", "--mode", "think"])
    assert thought.exit_code == 0, thought.output
    # Log records share stderr with the reasoning, and one from a thread of an earlier test may
    # fall between two of its pieces: they are taken out before reading it.
    reasoning = LOG_RECORD.sub("", thought.stderr)
    said, written = " ".join(reasoning.split()), " ".join(thought.stdout.split())
    assert "Source [1] gives a rise of 4 %" in said  # the reasoning, apart
    assert "Source [1] gives" not in written
    assert "The northern report shows the larger rise" in written


def test_every_command_can_talk_to_a_server(
    tmp_path: Path, omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime]
) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(text="The lion does [1].")
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url)
    server, thread, url = serve(create_app(runtime=rt, workers=1))
    folder = tmp_path / "inbox"
    folder.mkdir()
    make_pdf(folder / "zoo.pdf", [["The lion puts on sunscreen every morning."]])
    make_binary(folder / "junk.dat")
    runner = CliRunner()
    try:
        ingested = runner.invoke(app, ["ingest", "--url", url, str(folder)])
        assert ingested.exit_code == 1, ingested.output  # junk.dat failed
        assert "zoo.pdf" in ingested.output
        assert "ready" in ingested.output
        assert "unrecognised" in ingested.output
        found = runner.invoke(app, ["search", "--url", url, "sunscreen", "--json"])
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout)["hits"][0]["source"] == "zoo.pdf"
        speech = tmp_path / "answer.wav"
        asked = runner.invoke(
            app, ["ask", "Who wears sunscreen?", "--speak", str(speech)], env={"OMNIDEX_URL": url}
        )
        assert asked.exit_code == 0, asked.output
        assert "The lion does [1]." in asked.output
        assert "[1] zoo.pdf (p. 1)" in asked.output
        with wave.open(str(speech)) as reader:
            assert reader.getnframes() == 4800
        refused = runner.invoke(app, ["search", "--url", url])
        assert refused.exit_code == 2
        assert "give a query" in refused.output
    finally:
        stop(server, thread)
