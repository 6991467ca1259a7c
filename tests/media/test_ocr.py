"""OCR runs Tesseract one thread a picture, several pictures at once, and reads the pictures
that wait for it in one run."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from omnidex.media import ocr
from omnidex.media.ocr import ocr_image, ocr_soon, ocr_status
from tests.files import make_picture

pytestmark = pytest.mark.skipif(ocr_status() is not None, reason=str(ocr_status()))


def test_pictures_read_side_by_side_read_as_they_do_one_by_one() -> None:
    words = ["Harbour Lights", "Copper Kettle", "Falcon Ridge", "Meadow Lane"]
    pictures = [make_picture(text, size=(900, 300)) for text in words]
    alone = [ocr_image(picture) for picture in pictures]
    assert [text.lower() for text in alone] == [text.lower() for text in words]
    readings = [ocr_soon(picture) for picture in pictures * 2]
    assert [reading.result(timeout=120) for reading in readings] == alone * 2


def test_a_huge_picture_is_read_at_a_bounded_size() -> None:
    picture = make_picture("Lantern Quay", size=(9000, 3000))
    assert ocr_soon(picture).result(timeout=120).lower() == "lantern quay"


def test_pictures_read_in_one_run_each_get_their_own_words(monkeypatch: pytest.MonkeyPatch) -> None:
    def alone(*_: object, **__: object) -> str:
        raise AssertionError("the pictures were read one by one, not in one run")

    monkeypatch.setattr(ocr, "_read_alone", alone)
    words = ["Harbour Lights", "", "Copper Kettle", "Falcon Ridge", "", "Meadow Lane"]
    pictures = [
        make_picture(text, size=(900, 300)) if text else Image.new("RGB", (640, 480), "white")
        for text in words
    ]
    batch = [ocr._Reading(picture, 30.0, "eng") for picture in pictures]
    assert [text.lower() for text in ocr._read_batch(batch)] == [text.lower() for text in words]


def test_a_run_takes_pictures_of_one_language_up_to_its_count_and_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ocr, "BATCH", 3)
    monkeypatch.setattr(ocr, "BATCH_BYTES", 3 * 100 * 100 * 2)  # two 100×100 pictures
    small, large = Image.new("RGB", (100, 100)), Image.new("RGB", (300, 300))
    waiting = [ocr._Reading(small, 30.0, language) for language in ("eng", "deu", "eng", "eng", "eng")]
    assert ocr._next_batch(waiting) == [waiting[0], waiting[2]]
    monkeypatch.setattr(ocr, "BATCH_BYTES", 10**9)
    assert ocr._next_batch(waiting) == [waiting[0], waiting[2], waiting[3]]
    alone = [ocr._Reading(large, 30.0, "eng"), ocr._Reading(small, 30.0, "eng")]
    monkeypatch.setattr(ocr, "BATCH_BYTES", 3 * 100 * 100)
    assert ocr._next_batch(alone) == alone[:1], "a picture larger than a run is read alone"


def test_flat_pictures_are_not_given_to_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    def tesseract(*_: object, **__: object) -> str:
        raise AssertionError("tesseract ran on a picture that cannot hold a word")

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 90, 160)).save(buffer, format="JPEG", quality=80)
    flat = [
        Image.new("RGB", (640, 480), "white"),
        Image.open(buffer),  # a plain colour through JPEG
        Image.linear_gradient("L").resize((800, 600)).convert("RGB"),
        Image.new("RGBA", (300, 200), (0, 0, 0, 0)),
    ]
    monkeypatch.setattr(ocr, "_tesseract", tesseract)
    for picture in flat:
        assert not ocr.may_hold_text(picture)
        assert ocr_image(picture) == ""
        assert ocr_soon(picture).result(timeout=10) == ""


def test_small_faint_yellow_or_blurred_words_are_still_given_to_tesseract() -> None:
    font = ImageFont.load_default(size=14)
    faint = Image.new("RGB", (600, 150), "white")  # Tesseract reads these three levels of grey
    ImageDraw.Draw(faint).text((10, 50), "Copper Kettle Lane", fill=(252, 252, 252), font=font)
    yellow = Image.new("RGB", (900, 300), "white")
    ImageDraw.Draw(yellow).text(
        (20, 120), "Falcon Ridge", fill=(255, 215, 0), font=ImageFont.load_default(size=48)
    )
    tiny = Image.new("RGB", (3000, 2000), (90, 140, 60))  # a big plain picture with one small word
    ImageDraw.Draw(tiny).text((2500, 1900), "Oak", fill="white", font=font)
    blurred = make_picture("Harbour Lights", size=(900, 300)).filter(ImageFilter.GaussianBlur(12))
    for picture in (faint, yellow, tiny, blurred):
        assert ocr.may_hold_text(picture)
    assert ocr_image(faint).lower() == "copper kettle lane"
    assert ocr_image(yellow).lower() == "falcon ridge"
