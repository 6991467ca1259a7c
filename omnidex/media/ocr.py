"""OCR through Debian's ``tesseract`` command, bounded by a timeout.

OCR is best-effort: a missing binary or a timeout gives no text (and is
logged), never a failed document; :func:`ocr_status` says whether it runs.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from functools import cache

from PIL import Image

log = logging.getLogger(__name__)
MAX_SIDE = 2500


@cache
def ocr_status() -> str | None:
    """None when OCR works, else why not."""
    if shutil.which("tesseract") is None:
        return "the tesseract command is not installed (apt-get install tesseract-ocr)"
    return None


def ocr_image(image: Image.Image, *, timeout: float = 30.0, language: str = "eng") -> str:
    """The text Tesseract reads in ``image``, whitespace-normalised; '' when none or unavailable."""
    if ocr_status() is not None:
        return ""
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("OCR gave up after %.0f s", timeout)
        return ""
    if done.returncode != 0:
        log.warning("tesseract failed: %s", done.stderr.decode(errors="replace").strip()[:200])
        return ""
    return " ".join(done.stdout.decode("utf-8", errors="replace").split())
