"""The Python client against a real server on localhost: documents, search, answers, media, errors."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from omnidex import errors
from omnidex.api.app import create_app
from omnidex.client import AsyncClient, Client, ClientError
from omnidex.client.base import Call
from omnidex.runtime import Runtime
from omnidex.schemas import AudioEvent, CitationsEvent, DoneEvent, RetrievalEvent, TextEvent
from tests.files import make_pdf, make_picture, recording, speak, write_audio
from tests.omni_fakes import FakeOmni, Script, serve, stop


@pytest.fixture
def server(
    omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime]
) -> Iterator[tuple[str, FakeOmni]]:
    fake = omni("vllm-omni")
    fake.script = Script(text="The lion does [1].")
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url, max_upload_bytes=2_000_000)
    server, thread, url = serve(create_app(runtime=rt, workers=1))
    yield url, fake
    stop(server, thread)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    picture = tmp_path / "lion.png"
    make_picture("LION").save(picture)
    return [
        make_pdf(tmp_path / "zoo.pdf", [["The lion puts on sunscreen every morning."]]),
        picture,
        write_audio(tmp_path / "talk.wav", recording([(1.0, speak("the lion and the parade"))], 4.0)),
    ]


def test_documents_search_media_and_delete(
    server: tuple[str, FakeOmni], files: list[Path], tmp_path: Path
) -> None:
    url, _ = server
    seen: dict[str, int] = {}
    with Client(url) as client:
        uploaded = client.upload(files, progress=lambda name, sent, total: seen.__setitem__(name, sent))
        assert [doc.name for doc in uploaded] == ["zoo.pdf", "lion.png", "talk.wav"]
        assert seen == {path.name: path.stat().st_size for path in files}
        done = client.wait(uploaded, timeout=120)
        assert [doc.status for doc in done] == ["ready"] * 3
        assert {doc.id for doc in client.documents()} == {doc.id for doc in done}
        pdf = client.document(done[0].id)
        assert pdf.items_by_modality == {"text": 1}
        assert client.items(pdf.id).items[0].page == 1

        found = client.search("sunscreen", top_k=5)
        assert found.hits[0].source == "zoo.pdf"
        by_picture = client.search(image=files[1], top_k=3, modalities=["image"])
        assert [hit.source for hit in by_picture.hits] == ["lion.png"]
        picture = by_picture.hits[0]
        assert client.media(picture.id)[:4] == b"\x89PNG"
        thumb = client.media(picture.id, thumb=True, to=tmp_path / "thumb.jpg")
        assert isinstance(thumb, Path)
        assert thumb.read_bytes()[:2] == b"\xff\xd8"

        client.delete(pdf.id)
        with pytest.raises(errors.NotFound) as missing:
            client.document(pdf.id)
        assert missing.value.code == "not_found"
        assert "zoo.pdf" not in [hit.source for hit in client.search("sunscreen").hits]


def test_answers_whole_and_streamed(server: tuple[str, FakeOmni], files: list[Path]) -> None:
    url, _ = server
    with Client(url) as client:
        client.upload(files[:1], wait=True, timeout=120)
        whole = client.answer("Who wears sunscreen?", speak=True)
        assert whole.answer == "The lion does [1]."
        assert whole.citations[0].source == "zoo.pdf"
        assert whole.audio
        events = list(client.stream_answer("Who wears sunscreen?", speak=True))
    kinds = [type(event) for event in events]
    assert kinds[0] is RetrievalEvent
    assert kinds[-2:] == [CitationsEvent, DoneEvent]
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == "The lion does [1]."
    audio = [e for e in events if isinstance(e, AudioEvent)]
    assert sum(len(e.pcm()) for e in audio) == 2 * 4800


def test_errors_are_typed(server: tuple[str, FakeOmni], tmp_path: Path) -> None:
    url, fake = server
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 3_000_000)
    with Client(url, retries=0) as client:
        with pytest.raises(errors.PayloadTooLarge) as too_big:
            client.upload([big])
        assert too_big.value.status == 413
        with pytest.raises(errors.NotFound):
            client.media("no-such-item")
        with pytest.raises(errors.InvalidRequest):
            client.search()
        with pytest.raises(errors.UnsupportedMediaType) as not_a_form:  # the client always sends forms
            client._send(Call("POST", "/v1/documents", json={"files": []}))
        assert not_a_form.value.code == "unsupported_media_type"
        fake.script = Script(status=500)
        failed = client.answer("anything")
        assert failed.error is not None
        assert failed.error.code == "generator_failed"
    with Client("http://127.0.0.1:9", retries=1) as nowhere, pytest.raises(ClientError):
        nowhere.documents()


def test_overload_is_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "starting up"}})
        return httpx.Response(200, json={"documents": []})

    with Client("http://omnidex.test", transport=httpx.MockTransport(handler)) as client:
        assert client.documents() == []
    assert calls == ["/v1/documents"] * 3
    with Client("http://omnidex.test", retries=1, transport=httpx.MockTransport(handler)) as client:
        calls.clear()
        with pytest.raises(errors.Unavailable, match="starting up"):
            client.documents()


def test_a_stream_can_be_uploaded(server: tuple[str, FakeOmni]) -> None:
    url, _ = server
    data = io.BytesIO(b"Plain words about a lion in the sun.\n" * 10)
    data.name = "notes.txt"
    with Client(url) as client:
        [doc] = client.upload([data], wait=True, timeout=60)
    assert (doc.name, doc.status) == ("notes.txt", "ready")
    assert json.loads(doc.model_dump_json())["size"] == len(data.getvalue())


def test_the_async_client_through_the_asgi_transport(
    omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime], files: list[Path]
) -> None:
    fake = omni("dashscope")
    rt = make_runtime(generator="dashscope", generator_url=fake.url)
    app = create_app(runtime=rt)
    app.state.runtime = rt  # the ASGI transport runs no lifespan
    rt.start_workers(1)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://omnidex.test", transport=transport) as client:
            uploaded = await client.upload(files[:2])
            done = await client.wait(uploaded, timeout=120)
            assert [doc.status for doc in done] == ["ready", "ready"]
            assert len(await client.documents(status="ready")) == 2
            found = await client.search("sunscreen", top_k=3)
            assert found.hits[0].source == "zoo.pdf"
            picture = (await client.search(image=files[1], modalities=["image"])).hits[0]
            assert (await client.media(picture.id))[:4] == b"\x89PNG"
            events = [event async for event in client.stream_answer("Who wears sunscreen?", speak=True)]
            assert isinstance(events[-1], DoneEvent)
            assert events[-1].answer == Script().text
            assert sum(len(e.pcm()) for e in events if isinstance(e, AudioEvent)) == 2 * 4800
            assert (await client.answer("Who wears sunscreen?")).answer == Script().text
            await client.delete(done[0].id)
            with pytest.raises(errors.NotFound):
                await client.items(done[0].id)
            assert (await client.document(done[1].id)).status == "ready"
        assert rt.generator is not None
        await rt.generator.aclose()  # no lifespan here to close its connections

    try:
        asyncio.run(scenario())
    finally:
        rt.stop_workers()
