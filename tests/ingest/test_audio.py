"""Speech: every audio format, long recordings, voice questions, video soundtracks, silence."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from omnidex.encoders.asr import SpeechSegment
from omnidex.ingest.audio import group_segments
from tests.conftest import search, upload, wait_until_done
from tests.files import AUDIO_FORMATS, make_video, mux, recording, speak, tone, write_audio

FOX = "The quick brown fox jumps over the lazy dog near the riverbank."
GIRAFFE = "The purple giraffe sold seventeen umbrellas at the harbour market on Tuesday."
FILLER = [
    "Welcome to the weekly planning meeting of the garden club.",
    "First we will review the budget for seeds and tools.",
    "Next, the committee will discuss the autumn flower show.",
    "Volunteers are needed to water the greenhouse in August.",
    "Please remember to return borrowed ladders to the shed.",
    "The compost heap should be turned every two weeks.",
    "Our next meeting will be held in the library annex.",
]
GIRAFFE_AT = 100.0


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three minutes: filler sentences, a distinctive one at 100 s, pauses between."""
    pieces: list[tuple[float, object]] = [(8.0 + 24 * n, speak(text)) for n, text in enumerate(FILLER)]
    pieces.append((GIRAFFE_AT, speak(GIRAFFE)))
    path = tmp_path_factory.mktemp("audio") / "meeting.mp3"
    return write_audio(path, recording(pieces, 180.0))


@pytest.mark.parametrize("fmt", sorted(AUDIO_FORMATS))
def test_every_audio_format(client: TestClient, tmp_path: Path, fmt: str) -> None:
    path = write_audio(tmp_path / f"fox.{fmt}", recording([(1.0, speak(FOX))], 7.0))
    [doc] = upload(client, path)
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"] == {"audio": 1}
    [hit] = search(client, "a fox jumping over a lazy dog", top_k=1)
    assert hit["doc_id"] == doc["id"]
    assert hit["kind"] == "speech"
    assert "lazy dog" in hit["text"].lower()
    assert 0.5 <= hit["start"] <= 1.6
    assert 4.5 <= hit["end"] <= 6.5


def test_real_recording(client: TestClient, external: Path) -> None:
    [doc] = upload(client, external / "multimodal_test.wav")
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    [hit] = search(client, "the first section of the document", top_k=1)
    assert hit["source"] == "multimodal_test.wav"
    assert "first section" in hit["text"].lower()
    assert hit["start"] < 1.0


def test_long_recording_finds_the_moment_by_words_and_by_voice(client: TestClient, meeting: Path) -> None:
    [doc] = upload(client, meeting)
    done = wait_until_done(client, [doc["id"]], timeout=300)[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"]["audio"] >= 5

    [hit] = search(client, "Who sold umbrellas at the market?", top_k=1)
    assert "umbrella" in hit["text"].lower()
    assert hit["start"] - 2 <= GIRAFFE_AT <= hit["end"] + 2
    assert hit["end"] - hit["start"] <= 30.5

    question = write_audio(
        Path(str(meeting) + ".question.wav"), speak("How many umbrellas did the giraffe sell?")
    )
    by_voice = client.post("/v1/search", files={"audio": ("q.wav", question.read_bytes(), "audio/wav")})
    assert by_voice.status_code == 200, by_voice.text
    body = by_voice.json()
    assert "umbrella" in body["transcript"].lower()
    assert body["hits"][0]["id"] == hit["id"]
    as_json = client.post(
        "/v1/search", json={"audio": base64.b64encode(question.read_bytes()).decode(), "top_k": 1}
    )
    assert as_json.json()["hits"][0]["id"] == hit["id"]

    clip = client.get(hit["media_url"])
    assert clip.status_code == 200
    assert clip.headers["content-type"] == "audio/wav"
    with av.open(io.BytesIO(clip.content)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        seconds = samples / stream.sample_rate
    assert seconds == pytest.approx(hit["end"] - hit["start"] + 0.5, abs=0.5)
    ranged = client.get(hit["media_url"], headers={"Range": "bytes=0-43"})
    assert ranged.status_code == 206
    assert ranged.content[:4] == b"RIFF"


def test_silence_and_a_pure_tone_give_no_segments(client: TestClient, tmp_path: Path) -> None:
    silent = write_audio(tmp_path / "silence.flac", np.zeros(60 * 16_000, dtype=np.float32))
    beep = write_audio(tmp_path / "tone.wav", tone(60.0))
    docs = upload(client, silent, beep)
    done = wait_until_done(client, [d["id"] for d in docs], timeout=300)
    for doc in done.values():
        assert doc["item_count"] == 0
        assert doc["status"] == "failed"
        assert "no speech" in doc["error"]["message"]


def test_corrupt_mp3_fails_with_a_reason(client: TestClient, tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.mp3", speak(FOX)).read_bytes()
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(good[:600] + bytes((i * 37) % 256 for i in range(20_000)))
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes((i * 91) % 256 for i in range(20_000)))
    docs = upload(client, corrupt, garbage)
    done = wait_until_done(client, [d["id"] for d in docs])
    for doc in done.values():
        assert doc["status"] == "failed"
        assert doc["error"]["message"], doc
        assert "speech" in doc["error"]["message"] or "audio" in doc["error"]["message"]


def test_narrated_video_has_speech_and_keyframes_in_one_document(
    visual_client: TestClient, tmp_path: Path
) -> None:
    silent_video = make_video(
        tmp_path / "slides.mp4", [("lightblue", "APPLE", 4.0), ("orange", "BANANA", 4.0)]
    )
    narration = write_audio(tmp_path / "narration.m4a", recording([(4.5, speak(GIRAFFE))], 8.0))
    narrated = tmp_path / "narrated.mp4"
    mux(silent_video, narration, narrated)
    [doc] = upload(visual_client, narrated)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"]["video"] >= 3  # two keyframes and the speech
    hits = [h for h in search(visual_client, "purple giraffe umbrellas", top_k=5) if h["kind"] == "speech"]
    assert hits[0]["doc_id"] == doc["id"]
    assert hits[0]["modality"] == "video"
    assert 3.5 <= hits[0]["start"] <= 5.5
    clip = visual_client.get(hits[0]["media_url"] + "?clip=1")
    assert clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as container:
        assert container.streams.video
        assert container.streams.audio


def test_segments_are_grouped_at_pauses_and_capped() -> None:
    segments = [SpeechSegment(float(s), float(s) + 4.0, f"s{s}", "en") for s in range(0, 100, 5)]
    segments.append(SpeechSegment(130.0, 134.0, "after a pause", "en"))
    groups = list(group_segments(iter(segments)))
    assert all(g.end - g.start <= 30.0 for g in groups)
    assert groups[-1].texts == ["after a pause"]
    assert groups[1].texts[0] == groups[0].texts[-1]  # a short sentence carried over
