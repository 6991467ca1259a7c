"""Captions at ingest (OMNIDEX_CAPTIONER): a photo found by what it shows, a recording without speech
found by what it sounds like, a failed caption that fails nothing, and re-captioning a library.

The captioner is a protocol-faithful fake of each chat backend (tests/omni_fakes.py) on real HTTP;
pictures, sound, Whisper, OCR and the index are real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from omnidex.config import Settings
from omnidex.db import documents
from omnidex.errors import ConfigError
from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.runtime import Runtime, prepared_reindex
from omnidex.types import DocStatus, ItemKind
from tests.files import make_picture, write_audio
from tests.omni_fakes import FakeOmni, Script

Start = Callable[[str], FakeOmni]
KITE = "A red kite flies above a green hill under a pale blue sky."
PIANO = "A slow, gentle piano melody with soft chords and no voices."


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A picture with no words in it: a red kite-shaped diamond over a green hill."""
    image = Image.new("RGB", (640, 480), (170, 200, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((-200, 300, 840, 900), fill=(60, 150, 60))
    draw.polygon([(320, 60), (380, 140), (320, 230), (260, 140)], fill=(210, 30, 30))
    draw.line([(320, 230), (300, 380)], fill=(40, 40, 40), width=3)
    path = tmp_path / "IMG_2041.jpg"
    image.save(path, quality=92)
    return path


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """Twenty seconds of chords, with no speech at all."""
    rate = 16_000
    t = np.arange(20 * rate) / rate
    chord = sum(np.sin(2 * np.pi * hz * t) for hz in (261.6, 329.6, 392.0))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t) ** 2
    return write_audio(tmp_path / "track07.flac", (0.15 * chord * envelope).astype(np.float32))


@pytest.fixture
def make(
    settings: Settings, text_encoder: Any, sparse_encoder: Any, transcriber: Any
) -> Iterator[Callable[..., Runtime]]:
    """Runtimes without CLIP, so a picture without words can be found only through its caption.
    Not ``make_runtime``: that one loads the tiny CLIP (torch), which this file never needs."""
    made: list[Runtime] = []

    def runtime(**overrides: Any) -> Runtime:
        update = {"visual_search": False, **overrides}
        made.append(
            Runtime(
                settings.model_copy(update=update),
                text_encoder=text_encoder,
                sparse_encoder=sparse_encoder,
                transcriber=transcriber,
            )
        )
        return made[-1]

    yield runtime
    for rt in made:
        rt.close()


def ingest(rt: Runtime, path: Path) -> Any:
    doc = add_file(rt.db, rt.blobs, path, "default").document
    Worker(rt.db, rt.pipeline).run_once()
    return documents.get_document(rt.db, "default", doc.id)


def media_parts(fake: FakeOmni) -> list[str]:
    return [
        part["type"]
        for request in fake.requests
        for message in request["messages"]
        for part in (message["content"] if isinstance(message["content"], list) else [])
        if part["type"] != "text"
    ]


@pytest.mark.parametrize("flavor", ["vllm-omni", "dashscope", "openai"])
def test_a_photo_without_words_is_found_by_its_caption(
    omni: Start, make: Callable[..., Runtime], photo: Path, flavor: str
) -> None:
    fake = omni(flavor)
    fake.script = Script(text=KITE)
    rt = make(captioner=flavor, captioner_url=fake.url, ocr=False)
    doc = ingest(rt, photo)
    assert doc.status == DocStatus.READY, doc.error
    assert doc.caption_tokens > 0
    assert doc.notes is None
    hits = rt.retriever.search("default", "kite flying over a hill", top_k=3).hits
    assert hits[0].doc_id == doc.id
    assert hits[0].kind is ItemKind.IMAGE
    assert hits[0].caption == KITE
    assert media_parts(fake) == ["image_url"]
    asked = fake.requests[0]
    assert "audio" not in (asked.get("modalities") or [])  # a caption is written, never spoken


def test_a_recording_without_speech_becomes_a_described_sound(
    omni: Start, make: Callable[..., Runtime], music: Path
) -> None:
    without = make()
    failed = ingest(without, music)
    assert failed.status == DocStatus.FAILED
    assert failed.error == "nothing to index: no speech was heard in this FLAC audio"
    without.close()

    fake = omni("vllm-omni")
    fake.script = Script(text=PIANO)
    rt = make(captioner="vllm-omni", captioner_url=fake.url)
    doc = ingest(rt, music)
    assert doc.status == DocStatus.READY, doc.error
    items = documents.items_of(rt.db, doc.id)
    assert [item.kind for item in items] == [ItemKind.SOUND]
    assert items[0].start == 0.0
    assert items[0].end == pytest.approx(20.0, abs=0.1)
    assert items[0].extra["caption"] == PIANO
    hit = rt.retriever.search("default", "quiet piano music", top_k=1).hits[0]
    assert hit.kind is ItemKind.SOUND
    assert hit.media_url == f"/v1/media/{hit.id}"
    assert media_parts(fake) == ["input_audio"]


def test_a_failed_caption_leaves_the_item_indexed_and_says_why(
    omni: Start, make: Callable[..., Runtime], tmp_path: Path
) -> None:
    fake = omni("openai")
    fake.script = Script(status=400)  # refused, so no retries either
    path = tmp_path / "harbour.png"
    make_picture("HARBOUR").save(path)
    rt = make(captioner="openai", captioner_url=fake.url)
    doc = ingest(rt, path)
    assert doc.status == DocStatus.READY
    assert doc.notes == ["1 caption failed: the generator answered HTTP 400: the request was refused"]
    hit = rt.retriever.search("default", "HARBOUR", top_k=1).hits[0]
    assert hit.doc_id == doc.id
    assert hit.caption is None


def test_reindex_with_captions_describes_the_library_again(
    omni: Start, make: Callable[..., Runtime], settings: Settings, photo: Path
) -> None:
    fake = omni("dashscope")
    fake.script = Script(text=KITE)
    overrides = {"captioner": "dashscope", "captioner_url": fake.url, "ocr": False, "visual_search": False}
    rt = make(**overrides)
    doc = ingest(rt, photo)
    rt.close()

    fake.script = Script(text="A diamond-shaped toy glider in crimson against the sky above a meadow.")
    with prepared_reindex(settings.model_copy(update=overrides), captions=True) as (reindexer, target):
        reindexer.run(target)

    rt = make(**overrides)
    [item] = documents.items_of(rt.db, doc.id)
    assert item.extra["caption"].startswith("A diamond-shaped toy glider")
    hit = rt.retriever.search("default", "toy glider in crimson", top_k=1).hits[0]
    assert hit.doc_id == doc.id
    assert "glider" in (hit.caption or "")
    assert documents.get_document(rt.db, "default", doc.id).caption_tokens > 0


def test_reindex_with_captions_needs_a_captioner(settings: Settings) -> None:
    needs = "--captions needs a captioner: set OMNIDEX_CAPTIONER"
    with pytest.raises(ConfigError, match=needs), prepared_reindex(settings, captions=True):
        pass
