"""Where a video's picture changes: frames sampled where something moves, and a text-sensitive signature.

Decoding every frame is the cost to avoid. Packets are read a group of
pictures (a key frame and what follows it) at a time, without decoding:
where the frames after the key frame are all small, nothing changed on
screen until the next key frame, and only the key frame is decoded. Where
one is much larger than its neighbours (a new slide, a cut), the group's
reference frames are decoded and sampled at most ``SAMPLES_PER_SECOND``
times a second, so a change between two key frames is seen within half a
second.

Two frames are compared by a signature that sees text: the frame in grey at
``SIGNATURE_WIDTH`` pixels and its gradient (edges: letters are mostly
edges), compared pixel by pixel (below ``PIXEL_NOISE``, a change is noise)
and averaged in small blocks. A scene changes where one block changed and
then holds still (a new line of words on an otherwise identical slide, while
a speaker's moving head does not count), or where the whole picture changed
(a cut). A small change is confirmed by the words on screen, where OCR is at
hand: re-encoding blurs the edges of letters a little, new words change what
OCR reads.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

SAMPLES_PER_SECOND = 2.0
SIGNATURE_WIDTH = 256
BLOCK_SIDE = 16  # pixels of the small frame
PIXEL_NOISE = 0.05  # a small frame's pixel changing less than this is noise (re-encoding, grain)
# A group of pictures is decoded in full when one of its frames is this many times the
# group's median frame size, plus a margin for groups of near-empty frames.
OUTLIER_FACTOR = 3.0
OUTLIER_MARGIN_BYTES = 100
CHANGE_THRESHOLD = 0.0015  # a block's change (of brightness, or of edges) that starts a scene
STRONG_CHANGE = 0.1  # a block's change too large to be re-encoding: no need to read the words
STILL_THRESHOLD = 0.001  # a block that changes less than this by the next sample holds still
CUT_THRESHOLD = 0.05  # a mean change of brightness over the whole picture: a cut
# Beyond this share of changed blocks the change is no new words but the picture moving (a pan,
# people walking): it starts a scene only as a cut.
MOST_BLOCKS = 0.5
ReadText = Callable[[Image.Image], str]


@dataclass(slots=True)
class Keyframe:
    t: float
    scene_start: float
    scene_end: float
    image: Image.Image
    text: str | None = None  # what OCR read in it, once read


@dataclass(frozen=True, slots=True)
class Signature:
    grey: np.ndarray  # the frame, small, 0–1
    edges: np.ndarray  # its gradient magnitude, 0–2

    def blocks_changed(self, other: Signature) -> np.ndarray:
        """How much each block changed: its pixels' mean change of brightness or of edges, counting
        only pixels that changed clearly (a letter's stroke does; re-encoding noise does not)."""
        changed: np.ndarray = np.maximum(
            _block_means(_clear(np.abs(self.grey - other.grey))),
            _block_means(_clear(np.abs(self.edges - other.edges))),
        )
        return changed

    def overall_change(self, other: Signature) -> float:
        """How much the whole picture's brightness changed, on average."""
        return float(np.abs(self.grey - other.grey).mean())


def signature(frame: Any) -> Signature:
    """The frame's signature (``frame`` is a PyAV video frame)."""
    width = SIGNATURE_WIDTH
    height = max(BLOCK_SIDE, round(width * frame.height / max(1, frame.width) / BLOCK_SIDE) * BLOCK_SIDE)
    grey = frame.reformat(width=width, height=height, format="gray").to_ndarray().astype(np.float32) / 255
    edges = np.zeros_like(grey)
    edges[:, :-1] += np.abs(np.diff(grey, axis=1))
    edges[:-1, :] += np.abs(np.diff(grey, axis=0))
    return Signature(grey, edges)


def _clear(change: np.ndarray) -> np.ndarray:
    cleared: np.ndarray = np.where(change > PIXEL_NOISE, change, 0.0)
    return cleared


def _block_means(plane: np.ndarray) -> np.ndarray:
    rows, cols = plane.shape[0] // BLOCK_SIDE, plane.shape[1] // BLOCK_SIDE
    cut = plane[: rows * BLOCK_SIDE, : cols * BLOCK_SIDE].reshape(rows, BLOCK_SIDE, cols, BLOCK_SIDE)
    means: np.ndarray = cut.mean(axis=(1, 3))
    return means


def sampled_frames(container: Any, stream: Any) -> Iterator[tuple[Any, bool]]:
    """The stream's frames worth comparing, in time order, each with whether the picture may move
    after it: every decoded key frame (still until the next, where its group is quiet), and up to
    ``SAMPLES_PER_SECOND`` frames a second in groups of pictures where something changes."""
    next_sample = float("-inf")
    for frame, moving in _decoded(container, stream):
        t = float(frame.time or 0.0)
        if frame.key_frame or t >= next_sample:
            next_sample = t + 1 / SAMPLES_PER_SECOND
            yield frame, moving


def _decoded(container: Any, stream: Any) -> Iterator[tuple[Any, bool]]:
    for group in _groups(container, stream):
        moving = _changes(group)
        stream.codec_context.skip_frame = "NONREF" if moving else "NONKEY"
        for packet in group:
            yield from ((frame, moving) for frame in packet.decode())


def _groups(container: Any, stream: Any) -> Iterator[list[Any]]:
    """The stream's packets, a key frame and the packets up to the next key frame at a time.

    The demuxer's closing empty packet, which makes the decoder give up the frames it still
    holds, ends the last group.
    """
    group: list[Any] = []
    for packet in container.demux(stream):
        if packet.is_keyframe and group:
            yield group
            group = []
        group.append(packet)
    if group:
        yield group


def _changes(group: list[Any]) -> bool:
    """Whether a frame after the group's key frame carries much more than its neighbours."""
    sizes: list[int] = sorted(int(packet.size) for packet in group[1:] if packet.size)
    if not sizes:
        return False
    median = sizes[len(sizes) // 2]
    return sizes[-1] > OUTLIER_FACTOR * median + OUTLIER_MARGIN_BYTES


class Scenes:
    """Scene decisions, sample by sample; each scene is given out once the next one starts."""

    def __init__(self, duration: float, max_per_minute: float, read_text: ReadText | None = None) -> None:
        self.duration = duration
        self.max_per_minute = max_per_minute
        self.read_text = read_text
        self.per_minute: Counter[int] = Counter()
        self.current: Keyframe | None = None
        self.reference: Signature | None = None

    def consider(
        self, frame: Any, probe: Signature, moving: bool, following: Signature | None
    ) -> Iterator[Keyframe]:
        """Start a scene at ``frame`` if it shows something new that stays (``following`` is the
        next sample; a frame of a quiet group, or the last one, stays)."""
        t = float(frame.time or 0.0)
        image: Image.Image | None = None
        text: str | None = None
        if self.current is not None and self.reference is not None:
            if self.per_minute[int(t // 60)] >= self.max_per_minute:
                return
            changed = probe.blocks_changed(self.reference)
            if moving and following is not None:
                changed = changed * (probe.blocks_changed(following) < STILL_THRESHOLD)
            over = changed > CHANGE_THRESHOLD
            if probe.overall_change(self.reference) <= CUT_THRESHOLD:
                if not over.any() or over.mean() > MOST_BLOCKS:
                    return
                if changed.max() < STRONG_CHANGE and self.read_text is not None:
                    image = frame.to_image()
                    text = self.read_text(image)
                    if _words(text) == _words(self._current_text()):
                        return
        self.per_minute[int(t // 60)] += 1
        if self.current is not None:
            self.current.scene_end = t
            yield self.current
        image = image or frame.to_image()
        self.current, self.reference = Keyframe(t, t, self.duration, image, text), probe

    def _current_text(self) -> str:
        assert self.current is not None
        assert self.read_text is not None
        if self.current.text is None:
            self.current.text = self.read_text(self.current.image)
        return self.current.text

    def last(self) -> Keyframe:
        assert self.current is not None
        self.current.scene_end = max(self.duration, self.current.t)
        return self.current


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))
