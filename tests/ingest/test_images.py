"""Pictures: every format, upright, OCR'd, CLIP-encoded; bombs and broken files refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from omnidex.runtime import Runtime
from tests.conftest import search, upload, wait_until_done
from tests.files import make_picture

FORMATS = [
    ("PNG", "png"),
    ("JPEG", "jpg"),
    ("WEBP", "webp"),
    ("GIF", "gif"),
    ("TIFF", "tiff"),
    ("BMP", "bmp"),
]


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_every_image_format_is_read_and_searchable_by_its_words(
    visual_client: TestClient, tmp_path: Path, fmt: str, suffix: str
) -> None:
    word = f"PELICAN{fmt}"
    path = tmp_path / f"sign.{suffix}"
    picture = make_picture(word)
    if fmt == "GIF":  # an animation: the first frame counts
        picture.save(path, save_all=True, append_images=[make_picture("OTHER")], duration=100)
    else:
        picture.save(path, format=fmt)
    [doc] = upload(visual_client, path)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"] == {"image": 1}
    [hit] = [h for h in search(visual_client, word.lower(), top_k=5) if h["doc_id"] == doc["id"]]
    assert word in hit["text"].replace(" ", "")
    assert hit["kind"] == "image"
    assert hit["media_url"] == f"/v1/media/{hit['id']}"
    assert hit["thumbnail_url"] == f"/v1/media/{hit['id']}?thumb=1"


@pytest.mark.parametrize(
    "name", ["multimodal_test.png", "multimodal_test.jpeg", "multimodal_test.tiff", "chart.png"]
)
def test_external_images(visual_client: TestClient, external: Path, name: str) -> None:
    [doc] = upload(visual_client, external / name)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready", done["error"]
    assert done["items_by_modality"] == {"image": 1}


def test_exif_rotated_jpeg_comes_out_upright(visual_client: TestClient, tmp_path: Path) -> None:
    wide = Image.new("RGB", (400, 200), "white")
    wide.paste(Image.new("RGB", (100, 200), "red"), (0, 0))  # red on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = tmp_path / "rotated.jpg"
    wide.save(path, format="JPEG", exif=exif)
    [doc] = upload(visual_client, path)
    wait_until_done(visual_client, [doc["id"]])
    [hit] = search(visual_client, "photo", top_k=1)
    thumb = Image.open(io.BytesIO(visual_client.get(hit["thumbnail_url"]).content))
    assert thumb.height > thumb.width  # upright: taller than wide
    top = thumb.getpixel((thumb.width // 2, 5))
    assert top[0] > 200
    assert top[1] < 80


def test_picture_inside_a_pdf_is_an_item_on_its_page(
    visual_client: TestClient, visual_runtime: Runtime, tmp_path: Path
) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Image as PdfImage
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    picture = tmp_path / "chart.png"
    make_picture("FLAMINGO", (600, 300), "yellow").save(picture)
    pdf = tmp_path / "report.pdf"
    style = getSampleStyleSheet()["BodyText"]
    story = [
        Paragraph("First page, words only.", style),
        PageBreak(),
        Paragraph("The chart:", style),
        PdfImage(str(picture), 300, 150),
    ]
    SimpleDocTemplate(str(pdf), pagesize=A4).build(story)
    [doc] = upload(visual_client, pdf)
    done = wait_until_done(visual_client, [doc["id"]])[doc["id"]]
    assert done["items_by_modality"]["image"] == 1
    [hit] = [h for h in search(visual_client, "flamingo", top_k=5) if h["kind"] == "image"]
    assert hit["page"] == 2
    assert hit["doc_id"] == doc["id"]
    stored = Image.open(io.BytesIO(visual_client.get(hit["media_url"]).content))
    assert stored.size == (600, 300)


def test_image_query_returns_the_identical_image_first(visual_client: TestClient, tmp_path: Path) -> None:
    paths = []
    for n, colour in enumerate(["red", "green", "blue", "purple"]):
        path = tmp_path / f"{colour}.png"
        Image.effect_noise((256, 256), 40 + n * 20).convert("RGB").save(path)
        paths.append(path)
    docs = upload(visual_client, *paths)
    wait_until_done(visual_client, [d["id"] for d in docs])
    target = paths[2]
    by_file = visual_client.post(
        "/v1/search", files={"image": (target.name, target.read_bytes(), "image/png")}, data={"top_k": "3"}
    )
    assert by_file.status_code == 200, by_file.text
    assert by_file.json()["hits"][0]["source"] == target.name
    import base64

    by_json = visual_client.post("/v1/search", json={"image": base64.b64encode(target.read_bytes()).decode()})
    assert by_json.json()["hits"][0]["source"] == target.name


def test_decompression_bomb_fails_with_a_reason(
    visual_client: TestClient, visual_runtime: Runtime, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 1_000_000
    visual_runtime.pipeline.max_image_pixels = 50_000_000
    good = tmp_path / "good.png"
    make_picture("HERON").save(good)
    docs = upload(visual_client, bomb, good)
    done = {d["name"]: d for d in wait_until_done(visual_client, [d["id"] for d in docs]).values()}
    assert done["good.png"]["status"] == "ready"
    assert done["bomb.png"]["status"] == "failed"
    assert "megapixel limit" in done["bomb.png"]["error"]["message"]


def test_broken_image_fails_with_a_reason(client: TestClient, tmp_path: Path) -> None:
    data = io.BytesIO()
    make_picture("BROKEN").save(data, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data.getvalue()[:300])
    [doc] = upload(client, path)
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "failed"
    assert done["error"]["code"] == "corrupt_file"
    assert "image" in done["error"]["message"]


def test_without_clip_weights_visual_search_is_off_and_ocr_still_indexes(
    client: TestClient, tmp_path: Path
) -> None:
    info = client.get("/v1/info").json()
    assert info["visual_search"]["enabled"] is False
    assert "not on this machine" in info["visual_search"]["reason"]
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["visual_search"].startswith("off: CLIP weights")
    path = tmp_path / "slide.png"
    make_picture("OSPREY").save(path)
    [doc] = upload(client, path)
    done = wait_until_done(client, [doc["id"]])[doc["id"]]
    assert done["status"] == "ready"
    assert search(client, "osprey")[0]["doc_id"] == doc["id"]


def test_info_with_clip(visual_client: TestClient) -> None:
    info = visual_client.get("/v1/info").json()
    assert info["visual_search"] == {"enabled": True, "model": "tiny-clip", "dim": 64, "reason": None}
    assert info["ocr"]["enabled"] is True


def test_pictures_uploaded_together_share_encoder_batches(
    visual_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnidex.ingest.intake import add_file
    from omnidex.ingest.worker import Worker

    batches: list[int] = []
    encode = visual_runtime.image_encoder.encode_images  # type: ignore[union-attr]

    def counting(images):  # type: ignore[no-untyped-def]
        batches.append(len(images))
        return encode(images)

    monkeypatch.setattr(visual_runtime.image_encoder, "encode_images", counting)
    ids = []
    for n in range(5):
        path = tmp_path / f"p{n}.png"
        Image.effect_noise((64, 64), 20 + n).convert("RGB").save(path)
        ids.append(add_file(visual_runtime.db, visual_runtime.blobs, path, "default").document.id)
    broken = tmp_path / "broken.png"
    Image.effect_noise((64, 64), 99).convert("RGB").save(broken)
    broken.write_bytes(broken.read_bytes()[:200])  # still a PNG to libmagic, not to Pillow
    ids.append(add_file(visual_runtime.db, visual_runtime.blobs, broken, "default").document.id)

    assert Worker(visual_runtime.db, visual_runtime.pipeline).run_once() == ids[0]
    assert batches == [5]
    from omnidex.db import documents

    rows = [documents.get_document(visual_runtime.db, "default", i) for i in ids]
    assert [r.status for r in rows] == ["ready"] * 5 + ["failed"]
    assert visual_runtime.store.count("default") == 5
