"""OCR runs Tesseract one thread a picture, several pictures at once, and reads the pictures
that wait for it in one run."""

from __future__ import annotations

import pytest
from PIL import Image

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

    monkeypatch.setattr(ocr, "ocr_image", alone)
    words = ["Harbour Lights", "", "Copper Kettle", "Falcon Ridge", "", "Meadow Lane"]
    pictures = [
        make_picture(text, size=(900, 300)) if text else Image.new("RGB", (640, 480), "white")
        for text in words
    ]
    batch = [ocr._Reading(picture, 30.0, "eng") for picture in pictures]
    assert [text.lower() for text in ocr._read_batch(batch)] == [text.lower() for text in words]
