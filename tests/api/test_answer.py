"""/v1/answer end to end: real retrieval over real files, a fake Qwen3-Omni server on the wire."""

from __future__ import annotations

import base64
import io
import json
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from omnidex.api.app import create_app
from omnidex.runtime import Runtime
from tests.conftest import upload, wait_until_done
from tests.files import make_pdf, make_picture, speak, write_audio
from tests.omni_fakes import FakeOmni, Script, serve, stop

Start = Callable[[str], FakeOmni]
MakeRuntime = Callable[..., Runtime]
QUESTION = "Which animal puts on sunscreen?"


@pytest.fixture
def zoo_pdf(tmp_path: Path) -> Path:
    return make_pdf(
        tmp_path / "zoo.pdf",
        [["The lion puts on sunscreen every morning before the parade."], ["Penguins prefer cold water."]],
    )


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@contextmanager
def ready_client(rt: Runtime, *paths: Path) -> Iterator[TestClient]:
    """The app on ``rt`` once ``paths`` are indexed."""
    with TestClient(create_app(runtime=rt, workers=1)) as client:
        docs = upload(client, *paths)
        done = wait_until_done(client, [d["id"] for d in docs])
        assert all(d["status"] == "ready" for d in done.values()), done
        yield client


def test_without_a_generator_the_hits_come_with_a_notice(make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    with ready_client(make_runtime(), zoo_pdf) as client:
        response = client.post("/v1/answer", json={"query": QUESTION})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answer"] is None
        assert body["hits"][0]["source"] == "zoo.pdf"
        assert body["notices"][0]["code"] == "generator_not_configured"
        assert "OMNIDEX_GENERATOR" in body["notices"][0]["message"]
        streamed = client.post("/v1/answer", json={"query": QUESTION, "stream": True})
        names = [name for name, _ in sse_events(streamed.text)]
        assert names == ["retrieval", "notice", "done"]
        chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
        assert chat.status_code == 503
        assert chat.json()["error"]["code"] == "generator_not_configured"
        info = client.get("/v1/info").json()
        assert info["answers"]["enabled"] is False


def test_a_cited_answer(omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(text="The lion does [1]. Penguins do not [2][9].")
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), zoo_pdf) as client:
        body = client.post("/v1/answer", json={"query": QUESTION}).json()
    assert body["answer"] == "The lion does [1]. Penguins do not [2][9]."
    assert [c["number"] for c in body["citations"]] == [1, 2]  # no source 9: dropped
    first = body["citations"][0]
    assert (first["source"], first["page"]) == ("zoo.pdf", 1)
    assert first["media_url"].endswith("/file#page=1")
    assert first["id"] == body["hits"][0]["id"]
    assert body["usage"]["completion_tokens"] > 0
    sent = fake.requests[0]
    system, user = sent["messages"]
    assert "I don't know" in system["content"][0]["text"]
    words = " ".join(p["text"] for p in user["content"] if p["type"] == "text")
    assert "[1] zoo.pdf, page 1:\nThe lion puts on sunscreen" in words
    assert words.endswith(f"Question: {QUESTION}")
    assert sent["modalities"] == ["text"]


def test_streamed_answer_with_speech(omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    fake = omni("vllm-omni")
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), zoo_pdf) as client:
        response = client.post(
            "/v1/answer", json={"query": QUESTION, "stream": True, "speak": True, "voice": "Chelsie"}
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "retrieval"
    assert names[-2:] == ["citations", "done"]
    assert "".join(data["text"] for name, data in events if name == "text") == Script().text
    audio = [data for name, data in events if name == "audio"]
    assert len(audio) == 2
    assert {a["sample_rate"] for a in audio} == {24_000}
    assert sum(len(base64.b64decode(a["data"])) for a in audio) == 2 * 4800
    done = events[-1][1]
    assert set(done["timings_ms"]) >= {"retrieval_ms", "first_token_ms", "first_audio_ms", "total_ms"}
    assert done["timings_ms"]["retrieval_ms"] <= done["timings_ms"]["total_ms"]
    # the written and the spoken answer are two requests on the same sources
    by_kind = {tuple(body["modalities"]): body for body in fake.requests}
    assert by_kind[("audio",)]["speaker"] == "chelsie"
    assert "Never say source numbers" in by_kind[("audio",)]["messages"][0]["content"][0]["text"]
    assert by_kind[("audio",)]["messages"][1] == by_kind[("text",)]["messages"][1]


def test_json_answer_carries_the_speech_as_wav(omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    fake = omni("dashscope")
    with ready_client(make_runtime(generator="dashscope", generator_url=fake.url), zoo_pdf) as client:
        body = client.post("/v1/answer", json={"query": QUESTION, "speak": True}).json()
    assert body["answer"] == Script().text
    with wave.open(io.BytesIO(base64.b64decode(body["audio"]))) as reader:
        assert (reader.getframerate(), reader.getnframes()) == (24_000, 4800)


def test_a_backend_without_speech_says_so(omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    fake = omni("openai")
    with ready_client(make_runtime(generator="openai", generator_url=fake.url), zoo_pdf) as client:
        body = client.post("/v1/answer", json={"query": QUESTION, "speak": True}).json()
    assert body["answer"] == Script().text
    assert body["audio"] is None
    assert body["notices"][0]["code"] == "speech_unavailable"
    assert len(fake.requests) == 1


def test_generator_failure_keeps_the_hits(omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(status=500)
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url, generator_retries=1)
    with ready_client(rt, zoo_pdf) as client:
        response = client.post("/v1/answer", json={"query": QUESTION})
        assert response.status_code == 502
        body = response.json()
        assert body["error"]["code"] == "generator_failed"
        assert "HTTP 500" in body["error"]["message"]
        assert body["hits"][0]["source"] == "zoo.pdf"
        events = sse_events(client.post("/v1/answer", json={"query": QUESTION, "stream": True}).text)
    assert [name for name, _ in events] == ["retrieval", "error"]
    assert events[1][1]["part"] == "answer"
    assert len(fake.requests) == 4  # each answer tried twice


def test_bad_questions_are_refused_before_the_generator(omni: Start, make_runtime: MakeRuntime) -> None:
    fake = omni("vllm-omni")
    client = TestClient(create_app(runtime=make_runtime(generator="vllm-omni", generator_url=fake.url)))
    with client:
        assert client.post("/v1/answer", json={"stream": True}).status_code == 422
        bad = client.post("/v1/answer", json={"query": "x", "temperature": 9})
        assert bad.status_code == 422
        assert "temperature" in bad.json()["error"]["message"]
    assert fake.requests == []


def test_a_client_that_leaves_cancels_the_upstream_request(
    omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path
) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(text=" ".join(["word"] * 200), chunk_delay=0.05)
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url)
    with ready_client(rt, zoo_pdf):
        pass
    server, thread, url = serve(create_app(runtime=rt, workers=0))
    try:
        with httpx.stream("POST", f"{url}/v1/answer", json={"query": QUESTION, "stream": True}) as response:
            for line in response.iter_lines():
                if line == "event: text":
                    break
        deadline = time.monotonic() + 10
        while fake.abandoned == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.abandoned == 1
        assert fake.finished == 0
    finally:
        stop(server, thread)


def test_a_spoken_question_with_a_picture_goes_to_the_model_natively(
    omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path, tmp_path: Path
) -> None:
    fake = omni("vllm-omni")
    question = write_audio(tmp_path / "question.wav", speak("Who is wearing the sunscreen?"))
    picture = io.BytesIO()
    make_picture("LION").save(picture, format="PNG")
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), zoo_pdf) as client:
        files = {"audio": ("question.wav", question.read_bytes()), "image": ("lion.png", picture.getvalue())}
        response = client.post("/v1/answer", files=files, data={"top_k": "3"})
    assert response.status_code == 200, response.text
    body = response.json()
    heard = body["transcript"]
    assert heard
    assert body["hits"][0]["source"] == "zoo.pdf"
    parts = fake.requests[0]["messages"][-1]["content"]
    kinds = [p["type"] for p in parts]
    assert kinds[-4:] == ["text", "image_url", "input_audio", "text"]  # question, picture, voice, transcript
    assert parts[-1]["text"] == f"(The question was asked aloud; it was heard as: {heard})"
    with wave.open(io.BytesIO(base64.b64decode(parts[-2]["input_audio"]["data"]))) as reader:
        assert reader.getframerate() == 16_000


def test_the_conversation_goes_along_as_json_or_beside_a_picture(
    omni: Start, make_runtime: MakeRuntime, zoo_pdf: Path, tmp_path: Path
) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(text="Every morning [1].")
    history = [
        {"role": "user", "content": "Who puts on sunscreen?"},
        {"role": "assistant", "content": "The lion does [1]."},
    ]
    picture = tmp_path / "lion.png"
    make_picture("LION").save(picture)
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), zoo_pdf) as client:
        body = client.post("/v1/answer", json={"query": "When?", "history": history}).json()
        assert body["answer"] == "Every morning [1]."
        assert body["hits"][0]["source"] == "zoo.pdf"  # "When?" alone finds nothing; with the question, this
        sent = fake.requests[-1]["messages"]
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        assert sent[2]["content"][0]["text"] == "The lion does [1]."
        form = {"query": "And this one?", "history": json.dumps(history)}
        with picture.open("rb") as handle:
            pictured = client.post(
                "/v1/answer", data=form, files={"image": ("lion.png", handle, "image/png")}
            )
        assert pictured.status_code == 200, pictured.text
        assert [m["role"] for m in fake.requests[-1]["messages"]] == ["system", "user", "assistant", "user"]
        broken = client.post(
            "/v1/answer", data={"query": "x", "history": "[{not json"}, files={"image": ("a.png", b"x")}
        )
        assert broken.status_code == 400
        assert "history" in broken.json()["error"]["message"]
