"""Where the files derived from a document live, named in one place.

Each picture item keeps a thumbnail (``{key}.thumb.jpg``); pictures that are
not stored as files of their own (keyframes, pictures inside documents) keep
a full copy (``{key}.jpg``). An image file's own item (key ``image``) is its
original upload.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omnidex.types import ItemKind

ORIGINAL_PICTURE_KEY = "image"  # the item of an image file: its picture is the upload itself


def thumbnail_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.thumb.jpg"


def copy_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.jpg"


def picture_path(folder: Path, kind: str, key: str, original: Callable[[], Path]) -> Path:
    """Where a picture item's full picture is kept: the original upload for an image file, else a copy."""
    if kind == ItemKind.IMAGE and key == ORIGINAL_PICTURE_KEY:
        return original()
    return copy_path(folder, key)
