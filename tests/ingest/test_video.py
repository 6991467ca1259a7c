"""Video: keyframes at scene changes with their moments, searchable by printed words and by look."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from omnidex.ingest.video import extract_keyframes
from omnidex.runtime import Runtime
from tests.conftest import search, upload, wait_until_done
from tests.files import make_video

SLIDES = [
    ("lightblue", "APPLE", 3.0),
    ("orange", "BANANA", 3.0),
    ("lightgreen", "CHERRY", 3.0),
    ("pink", "DAMSON", 3.0),
]


@pytest.fixture(scope="module")
def slides_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "slides.mp4", SLIDES)


def test_keyframes_fall_in_their_slides(slides_video: Path) -> None:
    frames = list(extract_keyframes(slides_video))
    assert len(frames) == len(SLIDES)
    for (_, _, seconds), frame, start in zip(SLIDES, frames, (0, 3, 6, 9), strict=True):
        assert start - 1 <= frame.t <= start + seconds - 1
        assert frame.scene_start == frame.t
    assert [f.scene_end for f in frames[:-1]] == [f.t for f in frames[1:]]
    assert frames[-1].scene_end == pytest.approx(12.0, abs=0.2)


def test_keyframes_per_minute_cap(slides_video: Path) -> None:
    assert len(list(extract_keyframes(slides_video, max_per_minute=2))) == 2


@pytest.mark.parametrize("fmt", ["mkv", "webm", "mov", "avi"])
def test_other_containers(visual_client: TestClient, tmp_path: Path, slides_video: Path, fmt: str) -> None:
    target = tmp_path / f"clip.{fmt}"
    codec = "libvpx" if fmt == "webm" else "mpeg4"
    with av.open(str(slides_video)) as source, av.open(str(target), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"g": "10"} if fmt != "webm" else {"g": "10", "deadline": "realtime"}
        for frame in source.decode(video=0):
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    [doc] = upload(visual_client, target)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"] == {"video": len(SLIDES)}


def test_video_search_finds_the_moment(visual_client: TestClient, slides_video: Path) -> None:
    [doc] = upload(visual_client, slides_video)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    hits = [h for h in search(visual_client, "banana", top_k=5) if h["kind"] == "keyframe"]
    assert hits[0]["modality"] == "video"
    assert 2.0 <= hits[0]["t"] <= 5.0
    assert (hits[0]["start"], hits[0]["end"]) == (hits[0]["t"], pytest.approx(hits[0]["t"] + 3, abs=1))
    assert "BANANA" in hits[0]["text"]

    frame = Image.open(io.BytesIO(visual_client.get(hits[0]["media_url"]).content))
    assert frame.format == "JPEG"
    assert frame.size == (320, 240)

    clip = visual_client.get(hits[0]["media_url"] + "?clip=1")
    assert clip.status_code == 200
    assert clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as container:
        decoded = list(container.decode(video=0))
    assert 3 <= len(decoded) / 10 <= 9  # about six seconds, snapped to key frames
    part = visual_client.get(hits[0]["media_url"] + "?clip=1", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == clip.content[:100]


def test_broken_videos_fail_with_a_reason(client: TestClient, tmp_path: Path, slides_video: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(slides_video.read_bytes()[: slides_video.stat().st_size // 3])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.mp4"
    header_only.write_bytes(slides_video.read_bytes()[:64])
    docs = upload(client, truncated, empty, header_only)
    done = {d["name"]: d for d in wait_until_done(client, [d["id"] for d in docs]).values()}
    assert all(d["status"] == "failed" for d in done.values())
    assert done["empty.mp4"]["error"]["message"] == "the file is empty (0 bytes)"
    for name in ("truncated.mp4", "header.mp4"):
        assert done[name]["error"]["code"] == "corrupt_file", done[name]["error"]
        assert "video" in done[name]["error"]["message"]


def test_keyframes_and_other_documents_share_the_index(visual_runtime: Runtime, slides_video: Path) -> None:
    from omnidex.ingest.intake import add_file
    from omnidex.ingest.worker import Worker

    add_file(visual_runtime.db, visual_runtime.blobs, slides_video, "default")
    Worker(visual_runtime.db, visual_runtime.pipeline).run_once()
    only_video = visual_runtime.retriever.search("default", "cherry", modalities=["video"]).hits
    assert only_video
    assert all(hit.modality == "video" for hit in only_video)
    assert only_video[0].t == pytest.approx(6.0, abs=1.0)
