"""Pictures inside documents (PDF, DOCX, PPTX), with the page or slide they sit on, as picture items."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from omnidex.errors import IngestError
from omnidex.ingest.documents import DOCX, PPTX
from omnidex.ingest.images import picture_item
from omnidex.ingest.partition import Source
from omnidex.media.images import MIN_EMBEDDED_SIDE, LoadedImage, load_image, to_rgb
from omnidex.types import Item, ItemKind

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Picture:
    page: int | None
    data: bytes | None = None
    image: Image.Image | None = None


def picture_items(source: Source) -> Iterator[Item]:
    """The document's pictures as items, up to the limit; rules, icons and unreadable ones skipped."""
    pipeline = source.pipeline
    for index, picture in enumerate(pictures_in_document(source.path, source.mime)):
        if index >= pipeline.max_pictures:
            break
        try:
            loaded = (
                load_image(picture.data, pipeline.max_image_pixels)
                if picture.data is not None
                else LoadedImage.of(to_rgb(picture.image))  # type: ignore[arg-type]
            )
        except IngestError:
            continue  # one unreadable picture does not fail its document
        if min(loaded.width, loaded.height) < MIN_EMBEDDED_SIDE:
            continue
        yield picture_item(source, f"picture-{index:05d}", loaded, ItemKind.IMAGE, picture.page, True)


def pictures_in_document(path: Path, mime: str) -> Iterator[Picture]:
    """Each picture once, in reading order; unreadable ones are skipped (and logged)."""
    if mime == "application/pdf":
        yield from _pdf_pictures(path)
    elif mime == PPTX:
        yield from _pptx_pictures(path)
    elif mime == DOCX:
        yield from _docx_pictures(path)


def _pdf_pictures(path: Path) -> Iterator[Picture]:
    from pypdf import PdfReader

    for number, page in enumerate(PdfReader(str(path)).pages, 1):
        try:
            images = list(page.images)
        except Exception as exc:  # a malformed resource dictionary
            log.info("%s page %d: pictures unreadable (%s)", path.name, number, exc)
            continue
        for picture in images:
            try:
                yield Picture(page=number, image=picture.image)
            except Exception as exc:
                log.info("%s page %d: skipped a picture (%s)", path.name, number, exc)


def _pptx_pictures(path: Path) -> Iterator[Picture]:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    def pictures_in(shapes: object) -> Iterator[bytes]:
        for shape in shapes:  # type: ignore[attr-defined]
            if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
                yield from pictures_in(shape.shapes)
            elif shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                yield shape.image.blob

    for number, slide in enumerate(Presentation(str(path)).slides, 1):
        for blob in pictures_in(slide.shapes):
            yield Picture(page=number, data=blob)


def _docx_pictures(path: Path) -> Iterator[Picture]:
    import docx

    document = docx.Document(str(path))
    seen: set[str] = set()
    for relation in document.part.rels.values():
        if "image" in relation.reltype and not relation.is_external:
            part = relation.target_part
            if part.partname not in seen:
                seen.add(part.partname)
                yield Picture(page=None, data=part.blob)
