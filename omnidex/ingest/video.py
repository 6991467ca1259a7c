"""Video keyframes at scene changes, streamed with PyAV.

Only key frames are decoded (``skip_frame="NONKEY"``): encoders place them at
cuts and at regular intervals, and skipping the rest is several times faster
than a full decode. A new scene starts where a key frame's 32×32 colour
thumbnail differs enough from the current scene's, at most ``max_per_minute``
times in any minute of the video. Frames are never held beyond the scene
being built, so memory stays flat whatever the length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from omnidex.errors import CorruptFile, IngestError, reason
from omnidex.ingest.audio import no_speech_reason, speech_items
from omnidex.ingest.images import picture_item
from omnidex.ingest.partition import NO_SUFFIXES, Source
from omnidex.media.images import LoadedImage
from omnidex.types import Item, ItemKind, Modality

VIDEO_MIMES = {
    "video/mp4": "MP4 video",
    "video/x-matroska": "Matroska video",
    "video/webm": "WebM video",
    "video/quicktime": "QuickTime video",
    "video/x-msvideo": "AVI video",
}
PROBE_SIDE = 32
_PLANAR_420 = {"yuv420p", "yuvj420p"}


@dataclass(slots=True)
class Keyframe:
    t: float
    scene_start: float
    scene_end: float
    image: Image.Image


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration: float
    width: int
    height: int
    has_audio: bool
    has_video: bool = True


def probe_video(path: Path) -> VideoInfo:
    """Duration and size; raises CorruptFile or IngestError with a readable reason."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return VideoInfo(0.0, 0, 0, bool(container.streams.audio), has_video=False)
            stream = container.streams.video[0]
            duration = _duration(container, stream)
            return VideoInfo(
                duration,
                stream.codec_context.width,
                stream.codec_context.height,
                bool(container.streams.audio),
            )
    except av.error.FFmpegError as exc:
        raise CorruptFile(f"could not read this video, it is damaged or incomplete: {reason(exc)}") from exc


def extract_keyframes(
    path: Path, *, max_per_minute: float = 12.0, change_threshold: float = 0.05
) -> Iterator[Keyframe]:
    """Scene-start key frames in time order, each with its scene's start and end."""
    import av

    per_minute: dict[int, int] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            duration = _duration(container, stream)
            current: Keyframe | None = None
            reference: np.ndarray | None = None
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                probe = _probe(frame)
                is_new = reference is None or float(np.abs(probe - reference).mean()) > change_threshold
                minute = int(t // 60)
                if current is not None and (not is_new or per_minute.get(minute, 0) >= max_per_minute):
                    continue
                per_minute[minute] = per_minute.get(minute, 0) + 1
                if current is not None:
                    current.scene_end = t
                    yield current
                image = frame.to_image()  # type: ignore[no-untyped-call]
                current, reference = Keyframe(t, t, duration, image), probe
            if current is None:
                raise IngestError("the video has no frames")
            current.scene_end = max(duration, current.t)
            yield current
    except av.error.FFmpegError as exc:
        raise CorruptFile(f"could not decode this video, it is damaged or incomplete: {reason(exc)}") from exc


def _probe(frame: Any) -> np.ndarray:
    """A coarse grid of the frame's luma and chroma samples, for comparing scenes cheaply.

    Planar YUV frames are sampled in place (no colour conversion or scaling);
    other formats are scaled down by FFmpeg first.
    """
    if frame.format.name in _PLANAR_420:
        planes = frame.to_ndarray()  # Y on top, then U and V: (height * 3/2, width)
        step_y = max(1, planes.shape[0] // (PROBE_SIDE * 3 // 2))
        step_x = max(1, planes.shape[1] // PROBE_SIDE)
        grid: np.ndarray = planes[::step_y, ::step_x].astype(np.float32) / 255.0
        return grid
    small = frame.reformat(width=PROBE_SIDE, height=PROBE_SIDE, format="rgb24")
    scaled: np.ndarray = small.to_ndarray().astype(np.float32) / 255.0
    return scaled


def _duration(container: object, stream: object) -> float:
    if getattr(stream, "duration", None) and getattr(stream, "time_base", None):
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    if getattr(container, "duration", None):
        return float(container.duration) / 1_000_000  # type: ignore[attr-defined]
    return 0.0


class VideoPartitioner:
    """A keyframe per scene and the soundtrack's speech; a file with sound alone is heard as audio."""

    name = "video"
    modality = Modality.VIDEO
    mimes = VIDEO_MIMES
    suffixes = NO_SUFFIXES
    summary = "MP4, MKV, WebM, MOV, AVI videos"
    nothing_found = "no frames or speech were found"

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        info = probe_video(source.path)
        transcriber = source.pipeline.transcriber
        if info.has_video:
            share = 0.5 if info.has_audio and transcriber else 1.0
            yield from ((item, share * f) for item, f in self._keyframes(source, info.duration))
        if info.has_audio and transcriber is not None:
            modality = Modality.VIDEO if info.has_video else Modality.AUDIO
            done = 0.5 if info.has_video else 0.0
            speech = speech_items(source.path, transcriber, modality)
            yield from ((item, done + (1 - done) * f) for item, f in speech)
        elif not info.has_video:
            raise IngestError(no_speech_reason("this file has only an audio track"))

    def _keyframes(self, source: Source, duration: float) -> Iterator[tuple[Item, float]]:
        frames = extract_keyframes(source.path, max_per_minute=source.pipeline.keyframes_per_minute)
        for index, frame in enumerate(frames):
            loaded = LoadedImage.of(frame.image)
            item = picture_item(source, f"keyframe-{index:05d}", loaded, ItemKind.KEYFRAME, None, True)
            item.modality = Modality.VIDEO
            item.t, item.start, item.end = (
                round(frame.t, 3),
                round(frame.scene_start, 3),
                round(frame.scene_end, 3),
            )
            yield item, (frame.t / duration if duration else 0.5)
