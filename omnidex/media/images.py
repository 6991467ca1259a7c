"""Images: opened safely, turned upright, normalised and shrunk.

Pillow opens lazily, so the pixel count is checked before any pixel is
decoded: a decompression bomb fails its document with a reason instead of
exhausting memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from omnidex.errors import CorruptFile, IngestError

THUMB_SIDE = 320
ENCODE_SIDE = 448  # CLIP looks at 224 px; keep a little more for crops.
MIN_EMBEDDED_SIDE = 48  # smaller pictures in documents are rules, bullets and icons
# load_image checks OMNIDEX_MAX_IMAGE_PIXELS before any pixel is decoded, with a reason that
# names the setting; Pillow's own global limit (89 MP, or whatever a library imported last set)
# would refuse first, with its own words.
Image.MAX_IMAGE_PIXELS = None


@dataclass(slots=True)
class LoadedImage:
    image: Image.Image  # RGB, upright
    width: int
    height: int

    @classmethod
    def of(cls, image: Image.Image) -> LoadedImage:
        return cls(image, image.width, image.height)


def load_image(source: Path | bytes, max_pixels: int) -> LoadedImage:
    """Decode an image file or bytes; raises IngestError for bombs, CorruptFile for broken data."""
    stream: Path | IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise IngestError(_too_big(width, height, max_pixels))
                opened.seek(0)  # the first frame of an animation
                upright = ImageOps.exif_transpose(opened)
                image = to_rgb(upright)
    except IngestError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IngestError(f"the image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise CorruptFile("could not read this image: the data is not a picture Pillow understands") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptFile(f"could not read this image, it is damaged or incomplete: {exc}") from exc
    return LoadedImage.of(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels from any mode; transparency is flattened onto white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def shrunk(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side), reducing_gap=2.0)
    return copy


def jpeg(image: Image.Image, side: int, quality: int = 85) -> bytes:
    """``image`` shrunk to fit ``side`` pixels, as JPEG bytes."""
    buffer = io.BytesIO()
    shrunk(image, side).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def save_jpeg(image: Image.Image, path: Path, side: int | None = None, quality: int = 85) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    (shrunk(image, side) if side else image).save(path, format="JPEG", quality=quality)


def _too_big(width: int, height: int, limit: int) -> str:
    return (
        f"the image is {width}×{height} px ({width * height / 1e6:,.0f} megapixels), over the "
        f"{limit / 1e6:,.0f}-megapixel limit (OMNIDEX_MAX_IMAGE_PIXELS): refusing to decode it"
    )
