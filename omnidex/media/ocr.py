"""OCR through Debian's ``tesseract`` command, bounded by a timeout.

OCR is best-effort: a missing binary or a timeout gives no text (and is
logged), never a failed document; :func:`ocr_status` says whether it runs.

Each ``tesseract`` runs on one thread (``OMP_THREAD_LIMIT=1``): its OpenMP threads spin
against each other and against the encoders, and on two busy cores a picture took several
times as long with them. Pictures are read side by side instead, up to one per core
(:func:`ocr_soon`), while the encoders work.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

from PIL import Image

log = logging.getLogger(__name__)
MAX_SIDE = 2500
ONE_THREAD = {**os.environ, "OMP_THREAD_LIMIT": "1"}


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
    image = _at_most(image, MAX_SIDE)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env=ONE_THREAD,
        )
    except subprocess.TimeoutExpired:
        log.warning("OCR gave up after %.0f s", timeout)
        return ""
    if done.returncode != 0:
        log.warning("tesseract failed: %s", done.stderr.decode(errors="replace").strip()[:200])
        return ""
    return " ".join(done.stdout.decode("utf-8", errors="replace").split())


def ocr_soon(image: Image.Image, *, timeout: float = 30.0, language: str = "eng") -> Future[str]:
    """:func:`ocr_image` on one of the OCR threads (one per core); the future's result is the text."""
    return _readers().submit(ocr_image, _at_most(image, MAX_SIDE), timeout=timeout, language=language)


@cache
def _readers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="ocr")


def _at_most(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    image = image.copy()
    image.thumbnail((side, side))
    return image
