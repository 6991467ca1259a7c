"""Image files → one picture item each; and the picture item every partitioner makes.

A picture item keeps a thumbnail (and, for pictures that are not files of
their own, a full copy) among the document's derived files, and the text OCR
reads in it, so it is found by its look and by its words.
"""

from __future__ import annotations

from collections.abc import Iterator

from omnidex.ingest.partition import NO_SUFFIXES, Source
from omnidex.media import derived
from omnidex.media.images import ENCODE_SIDE, THUMB_SIDE, LoadedImage, load_image, save_jpeg, shrunk
from omnidex.media.ocr import ocr_soon
from omnidex.types import Item, ItemKind, Modality

IMAGE_MIMES = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/webp": "WebP image",
    "image/gif": "GIF image",
    "image/tiff": "TIFF image",
    "image/bmp": "BMP image",
    "image/x-ms-bmp": "BMP image",
}
COPY_SIDE = 1280


class ImagePartitioner:
    name = "images"
    modality = Modality.IMAGE
    mimes = IMAGE_MIMES
    suffixes = NO_SUFFIXES
    summary = "PNG, JPEG, WebP, GIF, TIFF, BMP images"
    nothing_found = "no text or pictures were found"

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        loaded = load_image(source.path, source.pipeline.max_image_pixels)
        key = derived.ORIGINAL_PICTURE_KEY
        yield picture_item(source, key, loaded, ItemKind.IMAGE, page=None, keep_copy=False), 1.0


def picture_item(
    source: Source,
    key: str,
    loaded: LoadedImage,
    kind: ItemKind,
    page: int | None,
    keep_copy: bool,
    *,
    text: str | None = None,
) -> Item:
    """An image item: thumbnail (and, for pictures not stored as files, a copy) saved, and its
    text being read by OCR (unless ``text`` is what OCR already read in it)."""
    pipeline = source.pipeline
    folder = pipeline.blobs.derived_dir(source.doc.id)
    small = shrunk(loaded.image, ENCODE_SIDE)
    save_jpeg(small, derived.thumbnail_path(folder, key), THUMB_SIDE)
    if keep_copy:
        save_jpeg(loaded.image, derived.copy_path(folder, key), COPY_SIDE, quality=90)
    reading = None
    if text is None:
        # Read on the OCR threads while the next pictures are loaded; settled before encoding.
        reading = ocr_soon(loaded.image, timeout=pipeline.ocr_timeout) if pipeline.ocr else None
        text = ""
    return Item(
        key=key,
        modality=Modality.IMAGE,
        kind=kind,
        text=text,
        page=page,
        extra={"width": loaded.width, "height": loaded.height, "ocr_text": text},
        image=small,
        reading=reading,
    )
