"""OCR through Debian's ``tesseract`` command, bounded by a timeout.

OCR is best-effort: a missing binary or a timeout gives no text (and is
logged), never a failed document; :func:`ocr_status` says whether it runs.

Each ``tesseract`` runs on one thread (``OMP_THREAD_LIMIT=1``): its OpenMP threads spin
against each other and against the encoders, and on two busy cores a picture took several
times as long with them. Pictures are read side by side instead, up to one ``tesseract`` per
core (:func:`ocr_soon`), while the encoders work.

Starting ``tesseract`` and loading its model costs about 0.1 s, as much as reading a small
picture. Pictures that wait for a free ``tesseract`` are therefore read together, up to
``BATCH`` (and ``BATCH_BYTES`` of pixels) in one run (a list of files, one page of text each),
which reads them as each alone would, and pays the start once.

A picture without an edge (blank, one colour, a smooth gradient) cannot hold a word, and is
not given to ``tesseract`` at all (:func:`may_hold_text`).

Pictures reach ``tesseract`` as uncompressed PPM: compressing an 800×600 photo to PNG took
about 28 ms, a quarter of what reading it takes, for a file read once from memory or disk.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops

log = logging.getLogger(__name__)
MAX_SIDE = 2500
ONE_THREAD = {**os.environ, "OMP_THREAD_LIMIT": "1"}
BATCH = 16
BATCH_BYTES = 64 * 2**20  # the pixels of one run's pictures, written out for it
# Tesseract reads words only 2 levels darker than a clean background, so any change of 2 levels
# between neighbouring pixels may be a letter's edge; a smooth gradient changes by 1 at most.
EDGE_STEP = 2
EDGE_PIXELS = 32  # fewer such changes than one short, small word makes: no word to read
PAGE_SEPARATOR = "\f"  # tesseract's, between the pictures' texts in a run over a list of files


@cache
def ocr_status() -> str | None:
    """None when OCR works, else why not."""
    if shutil.which("tesseract") is None:
        return "the tesseract command is not installed (apt-get install tesseract-ocr)"
    return None


def ocr_image(image: Image.Image, *, timeout: float = 30.0, language: str = "eng") -> str:
    """The text Tesseract reads in ``image``, whitespace-normalised; '' when none or unavailable."""
    picture = _readable(image)
    return "" if picture is None else _read_alone(picture, timeout, language)


def ocr_soon(image: Image.Image, *, timeout: float = 30.0, language: str = "eng") -> Future[str]:
    """:func:`ocr_image` by one of the ``tesseract`` runs (one per core), with other pictures
    that are waiting; the future's result is the text."""
    picture = _readable(image)
    if picture is None:
        done: Future[str] = Future()
        done.set_result("")
        return done
    reading = _Reading(picture, timeout, language)
    _readers().add(reading)
    return reading.future


def _readable(image: Image.Image) -> Image.Image | None:
    """``image`` as ``tesseract`` gets it (RGB, at most ``MAX_SIDE``); None when OCR does not run
    or the picture cannot hold a word."""
    if ocr_status() is not None:
        return None
    picture = _at_most(image, MAX_SIDE).convert("RGB")
    return picture if may_hold_text(picture) else None


def may_hold_text(image: Image.Image) -> bool:
    """Whether ``image`` has the edges that even one short, small, faint word makes: a change of
    ``EDGE_STEP`` levels in a colour channel (yellow on white counts) from one pixel to the next,
    at ``EDGE_PIXELS`` places or more. It takes 1–2 ms for 800×600 (tesseract about 100), and
    it errs towards reading: only flat pictures are left out."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    across = _changes(rgb.crop((1, 0, width, height)), rgb.crop((0, 0, width - 1, height)))
    if across >= EDGE_PIXELS:
        return True
    down = _changes(rgb.crop((0, 1, width, height)), rgb.crop((0, 0, width, height - 1)))
    return across + down >= EDGE_PIXELS


def _changes(shifted: Image.Image, base: Image.Image) -> int:
    """Pixels where some colour channel differs by ``EDGE_STEP`` or more between the two."""
    red, green, blue = ImageChops.difference(shifted, base).split()
    return sum(ImageChops.lighter(ImageChops.lighter(red, green), blue).histogram()[EDGE_STEP:])


@dataclass(slots=True)
class _Reading:
    image: Image.Image
    timeout: float
    language: str
    future: Future[str] = field(default_factory=Future)


class _Readers:
    """Threads that each run one ``tesseract`` at a time over the pictures waiting."""

    def __init__(self, threads: int) -> None:
        self._waiting: list[_Reading] = []
        self._arrived = threading.Condition()
        for n in range(threads):
            threading.Thread(target=self._run, name=f"ocr-{n}", daemon=True).start()

    def add(self, reading: _Reading) -> None:
        with self._arrived:
            self._waiting.append(reading)
            self._arrived.notify()

    def _run(self) -> None:
        while True:
            with self._arrived:
                while not self._waiting:
                    self._arrived.wait()
                batch = _next_batch(self._waiting)
                taken = {id(reading) for reading in batch}
                self._waiting = [r for r in self._waiting if id(r) not in taken]
            try:
                texts = _read_batch(batch)
            except BaseException as exc:  # each picture's reader hears of it
                for reading in batch:
                    reading.future.set_exception(exc)
            else:
                for reading, text in zip(batch, texts, strict=True):
                    reading.future.set_result(text)


def _next_batch(waiting: list[_Reading]) -> list[_Reading]:
    """The first picture waiting, and those after it in its language, while they fit in a run."""
    batch: list[_Reading] = []
    size = 0
    for reading in waiting:
        if reading.language != waiting[0].language:
            continue
        size += 3 * reading.image.width * reading.image.height
        if batch and (len(batch) == BATCH or size > BATCH_BYTES):
            break
        batch.append(reading)
    return batch


def _read_batch(batch: list[_Reading]) -> list[str]:
    """The text of each picture: one ``tesseract`` run over all of them, or, should that fail
    or run out of one picture's time (a slow picture among them), each picture alone."""
    if len(batch) > 1:
        with tempfile.TemporaryDirectory(prefix="omnidex-ocr-") as folder:
            paths = [Path(folder) / f"{n}.ppm" for n in range(len(batch))]
            for reading, path in zip(batch, paths, strict=True):
                reading.image.save(path, format="PPM")
            listing = Path(folder) / "pictures.txt"
            listing.write_text("".join(f"{path}\n" for path in paths))
            timeout = max(reading.timeout for reading in batch)
            text = _tesseract([str(listing)], batch[0].language, timeout, quiet=True)
        if text is not None and text.count(PAGE_SEPARATOR) == len(batch) - 1:
            return [_normalised(page) for page in text.split(PAGE_SEPARATOR)]
    return [_read_alone(r.image, r.timeout, r.language) for r in batch]


def _read_alone(picture: Image.Image, timeout: float, language: str) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format="PPM")
    text = _tesseract(["stdin"], language, timeout, stdin=buffer.getvalue())
    return "" if text is None else _normalised(text)


def _tesseract(
    source: list[str], language: str, timeout: float, *, stdin: bytes | None = None, quiet: bool = False
) -> str | None:
    """What ``tesseract`` writes for ``source``; None when it failed or ran out of time."""
    try:
        done = subprocess.run(
            ["tesseract", *source, "stdout", "-l", language, "--psm", "3"],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=ONE_THREAD,
        )
    except subprocess.TimeoutExpired:
        if not quiet:
            log.warning("OCR gave up after %.0f s", timeout)
        return None
    if done.returncode != 0:
        if not quiet:
            log.warning("tesseract failed: %s", done.stderr.decode(errors="replace").strip()[:200])
        return None
    return done.stdout.decode("utf-8", errors="replace")


def _normalised(text: str) -> str:
    return " ".join(text.split())


@cache
def _readers() -> _Readers:
    return _Readers(os.cpu_count() or 1)


def _at_most(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    image = image.copy()
    image.thumbnail((side, side))
    return image
