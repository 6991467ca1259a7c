"""Context packing: mixed hits (text, picture, recording, video moment) against each backend's rules."""

from __future__ import annotations

import asyncio
import base64
import io
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from omnidex.answering.answer import Ask
from omnidex.answering.context import Question, pack
from omnidex.generation.base import AudioPart, Budget, GenerationRequest, ImagePart, TextPart
from omnidex.generation.dashscope import DashScope
from omnidex.generation.openai_compat import OpenAICompatible
from omnidex.generation.vllm_omni import VllmOmni
from omnidex.generation.wire import ChatClient
from omnidex.media.clips import clip_wav
from omnidex.media.images import jpeg
from omnidex.runtime import Runtime
from omnidex.types import Hit, ItemKind, Modality
from tests.api.test_answer import ready_client
from tests.files import make_pdf, make_picture, make_video, mux, recording, speak, write_audio
from tests.omni_fakes import FakeOmni

LION = "the lion puts on sunscreen before the parade"


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("zoo")
    pdf = make_pdf(folder / "zoo.pdf", [[f"Zoo news: {LION}."]])
    picture = folder / "poster.png"
    make_picture("LION SUNSCREEN").save(picture)
    talk = write_audio(folder / "talk.wav", recording([(1.0, speak(LION))], 6.0))
    slides = make_video(folder / "slides.mp4", [("orange", "LION", 3.0), ("lightblue", "PARADE", 3.0)])
    narration = write_audio(folder / "narration.m4a", recording([(0.5, speak(LION))], 6.0))
    video = folder / "parade.mp4"
    mux(slides, narration, video)
    return [pdf, picture, talk, video]


def content_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [part for message in body["messages"] for part in message["content"]]


def wav_seconds(data: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        return reader.getframerate(), reader.getnframes() / reader.getframerate()


def test_mixed_hits_are_packed_for_every_backend(
    omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime], zoo_files: list[Path]
) -> None:
    fake = omni("vllm-omni")
    rt = make_runtime(generator="vllm-omni", generator_url=fake.url, context_max_images=3)
    with ready_client(rt, *zoo_files) as client:
        answer = client.post("/v1/answer", json={"query": LION, "top_k": 20}).json()
        prepared = asyncio.run(rt.answerer.prepare(rt.settings.tenant, Ask(query=LION, top_k=20)))
    kinds = {(hit["modality"], hit["kind"]) for hit in answer["hits"]}
    assert {("text", "chunk"), ("image", "image"), ("audio", "speech"), ("video", "keyframe")} <= kinds
    sources = prepared.context.sources
    assert [s.number for s in sources] == list(range(1, len(sources) + 1))

    # vLLM-Omni, as it went over the wire: pictures as JPEG data URLs, sound as 16 kHz WAV
    sent = content_of(fake.requests[0])
    headers = [p["text"] for p in sent if p["type"] == "text" and p["text"].startswith("[")]
    assert [h.split("]")[0] for h in headers] == [f"[{n}" for n in range(1, len(sources) + 1)]
    pictures = [p["image_url"]["url"] for p in sent if p["type"] == "image_url"]
    assert 1 <= len(pictures) <= 3
    for url in pictures:
        assert url.startswith("data:image/jpeg;base64,")
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
            assert max(image.size) <= 768
    clips = [base64.b64decode(p["input_audio"]["data"]) for p in sent if p["type"] == "input_audio"]
    assert clips
    for data in clips:
        rate, seconds = wav_seconds(data)
        assert rate == 16_000
        assert 1.0 <= seconds <= 30.0
    assert not any(p["type"] == "video_url" for p in sent)  # a moment is frames plus its sound
    moment = next(s for s in sources if s.hit.modality is Modality.VIDEO)
    assert any(isinstance(p, ImagePart) for p in moment.parts)
    assert any(isinstance(p, AudioPart) for p in moment.parts)
    assert "video parade.mp4" in moment.parts[0].text  # type: ignore[union-attr]
    recorded = next(s for s in sources if s.hit.modality is Modality.AUDIO)
    assert "recording talk.wav, 0:0" in recorded.parts[0].text  # type: ignore[union-attr]
    assert "sunscreen" in recorded.parts[0].text  # type: ignore[union-attr]

    request = GenerationRequest(prepared.context.messages())
    client_stub = ChatClient("http://127.0.0.1:9/v1")
    # DashScope: one kind of media per user message
    dashscope = DashScope(client_stub).body(request)
    for message in dashscope["messages"]:
        kinds_here = {p["type"] for p in message["content"] if p["type"] != "text"}
        assert len(kinds_here) <= 1, message
    vllm = VllmOmni(client_stub).body(request)
    assert [p["type"] for p in content_of(dashscope)] == [p["type"] for p in content_of(vllm)]
    assert len(dashscope["messages"]) > len(vllm["messages"])  # split, nothing lost
    audio_data = [p["input_audio"]["data"] for p in content_of(dashscope) if p["type"] == "input_audio"]
    assert all(d.startswith("data:audio/wav;base64,") for d in audio_data)
    spoken = DashScope(client_stub).body(GenerationRequest(request.messages, text=False, speech=True))
    assert [m["role"] for m in spoken["messages"]].count("system") == 0
    # a text-only server gets the words: OCR text, transcripts, passages
    plain = content_of(OpenAICompatible(client_stub).body(request))
    assert {p["type"] for p in plain} == {"text"}
    assert "sunscreen" in " ".join(p["text"] for p in plain if "recording talk.wav" in p["text"])


class FileMedia:
    """Media cut from real files on disk, standing in for the stored blobs."""

    def __init__(self, picture: Path, sound: Path) -> None:
        self.picture_path = picture
        self.sound = sound
        self.asked: list[float] = []

    def picture(self, item_id: str, side: int) -> bytes | None:
        with Image.open(self.picture_path) as image:
            return jpeg(image.convert("RGB"), side)

    def keyframes(self, item_id: str, start: float, end: float, count: int, side: int) -> list[bytes]:
        return [data for data in [self.picture(item_id, side)] * count if data]

    def audio(self, item_id: str, start: float, seconds: float) -> tuple[bytes, float] | None:
        self.asked.append(seconds)
        return clip_wav(self.sound, start, seconds)


def hit(number: int, modality: Modality, kind: ItemKind, **fields: Any) -> Hit:
    base: dict[str, Any] = {
        "page": None,
        "start": None,
        "end": None,
        "t": None,
        "text": "",
        "media_url": None,
    }
    return Hit(id=f"h{number}", score=1.0 / number, modality=modality, kind=kind, doc_id="d",
               source=f"file{number}", **{**base, **fields})  # fmt: skip


def test_budgets_and_the_clip_cap(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    Image.new("RGB", (2000, 1000), "red").save(picture)
    sound = write_audio(tmp_path / "long.wav", recording([], 70.0))
    media = FileMedia(picture, sound)
    hits = [
        hit(1, Modality.TEXT, ItemKind.CHUNK, text="alpha " * 100, page=2),
        hit(2, Modality.AUDIO, ItemKind.SPEECH, start=0.0, end=60.0, text="a long talk"),
        hit(3, Modality.IMAGE, ItemKind.IMAGE, text="poster words"),
        hit(4, Modality.IMAGE, ItemKind.IMAGE),
        hit(5, Modality.VIDEO, ItemKind.KEYFRAME, t=10.0, text="LION"),
        hit(6, Modality.VIDEO, ItemKind.KEYFRAME, t=40.0),
        hit(7, Modality.AUDIO, ItemKind.SPEECH, start=61.0, end=69.0, text="the end"),
        hit(8, Modality.TEXT, ItemKind.CHUNK, text="omega " * 400),
        hit(9, Modality.TEXT, ItemKind.CHUNK, text="zeta"),
    ]
    budget = Budget(max_tokens=300, max_images=3, max_audio_seconds=40.0, max_video_clips=1, image_side=256)
    context = pack(hits, Question(text="what?"), media, budget)
    by_hit = {source.hit.id: source for source in context.sources}
    parts = [p for s in context.sources for p in s.parts]
    assert sum(isinstance(p, ImagePart) for p in parts) == 3
    assert all(max(Image.open(io.BytesIO(p.jpeg)).size) <= 256 for p in parts if isinstance(p, ImagePart))
    sounds = [p for p in parts if isinstance(p, AudioPart)]
    assert media.asked[0] == 30.0  # a 60 s segment is cut to 30 s
    assert sum(p.seconds for p in sounds) <= 40.0 + 0.01
    assert [wav_seconds(p.wav)[0] for p in sounds] == [16_000] * len(sounds)
    moments = [s for s in context.sources if s.hit.modality is Modality.VIDEO]
    assert sum(any(not isinstance(p, TextPart) for p in s.parts) for s in moments) == 1  # one clip
    assert "h4" in by_hit  # a picture without words still counts: it is sent as a picture
    text = sum(len(p.text) for p in parts if isinstance(p, TextPart))
    assert text <= 300 * 4 + 50
    assert by_hit["h8"].parts[0].text.endswith("omega…")  # type: ignore[union-attr]
    assert "h9" not in by_hit  # no room left for more words
    assert [s.number for s in context.sources] == list(range(1, len(context.sources) + 1))
    assert by_hit["h1"].parts[0].text.startswith("[1] file1, page 2:\nalpha")  # type: ignore[union-attr]
    messages = context.messages(language="German")
    assert messages[0].parts[0].text.endswith("Answer in German.")  # type: ignore[union-attr]
    assert messages[-1].parts[-1] == TextPart("Question: what?")


def test_captions_go_into_the_context_with_their_pictures_and_sounds(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    Image.new("RGB", (400, 300), "green").save(picture)
    media = FileMedia(picture, write_audio(tmp_path / "birds.wav", recording([], 12.0)))
    hits = [
        hit(1, Modality.IMAGE, ItemKind.IMAGE, caption="A red kite above a green hill."),
        hit(2, Modality.AUDIO, ItemKind.SOUND, start=0.0, end=12.0, caption="Birdsong at dawn, no voices."),
    ]
    context = pack(hits, Question(text="what?"), media, Budget())
    first, second = context.sources
    assert first.parts[0] == TextPart("[1] picture in file1:\n(Described: A red kite above a green hill.)")
    assert isinstance(first.parts[1], ImagePart)
    label = (
        "[2] recording file2, 0:00–0:12, sounds without speech:\n(Described: Birdsong at dawn, no voices.)"
    )
    assert second.parts[0] == TextPart(label)
    assert isinstance(second.parts[1], AudioPart)
