"""OCR runs Tesseract one thread a picture, several pictures at once."""

from __future__ import annotations

import pytest

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
