"""Videos → a keyframe item per scene, with its moment and span, and the soundtrack's speech.

Frames are read as ``omnidex.ingest.scenes`` samples them: key frames, and up
to two frames a second where the picture changes between them. Frames are
never held beyond the scene being built, so memory stays flat whatever the
length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from omnidex.errors import CorruptFile, IngestError, reason
from omnidex.ingest.audio import no_speech_reason, speech_items
from omnidex.ingest.images import picture_item
from omnidex.ingest.partition import NO_SUFFIXES, Source
from omnidex.ingest.scenes import Keyframe, ReadText, Scenes, Signature, sampled_frames, signature
from omnidex.media.images import LoadedImage
from omnidex.media.ocr import ocr_image
from omnidex.types import Item, ItemKind, Modality

VIDEO_MIMES = {
    "video/mp4": "MP4 video",
    "video/x-matroska": "Matroska video",
    "video/webm": "WebM video",
    "video/quicktime": "QuickTime video",
    "video/x-msvideo": "AVI video",
}


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
    path: Path, *, max_per_minute: float = 12.0, read_text: ReadText | None = None
) -> Iterator[Keyframe]:
    """One frame per scene in time order, each with its scene's start and end.

    Scenes are told apart as ``omnidex.ingest.scenes`` says, at most ``max_per_minute`` times in
    any minute; ``read_text`` (OCR) confirms a small change by the words on screen.
    """
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            scenes = Scenes(_duration(container, stream), max_per_minute, read_text)
            pending: tuple[Any, Signature, bool] | None = None
            for frame, moving in sampled_frames(container, stream):
                probe = signature(frame)
                if pending is not None:
                    yield from scenes.consider(*pending, following=probe)
                pending = (frame, probe, moving)
            if pending is None:
                raise IngestError("the video has no frames")
            yield from scenes.consider(*pending, following=None)
            yield scenes.last()
    except av.error.FFmpegError as exc:
        raise CorruptFile(f"could not decode this video, it is damaged or incomplete: {reason(exc)}") from exc


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
        on_screen: list[Item] = []  # the keyframes, whose words help Whisper hear the names
        if info.has_video:
            share = 0.5 if info.has_audio and transcriber else 1.0
            for item, fraction in self._keyframes(source, info.duration):
                on_screen.append(item)
                yield item, share * fraction
        if info.has_audio and transcriber is not None:
            modality = Modality.VIDEO if info.has_video else Modality.AUDIO
            done = 0.5 if info.has_video else 0.0
            for keyframe in on_screen:
                keyframe.settle()  # its words may still be being read
            words = " ".join(keyframe.text for keyframe in on_screen)
            speech = speech_items(source, transcriber, modality, words)
            yield from ((item, done + (1 - done) * f) for item, f in speech)
        elif not info.has_video:
            raise IngestError(no_speech_reason("this file has only an audio track"))

    def _keyframes(self, source: Source, duration: float) -> Iterator[tuple[Item, float]]:
        pipeline = source.pipeline
        read_text = partial(ocr_image, timeout=pipeline.ocr_timeout) if pipeline.ocr else None
        frames = extract_keyframes(
            source.path, max_per_minute=pipeline.keyframes_per_minute, read_text=read_text
        )
        for index, frame in enumerate(frames):
            loaded = LoadedImage.of(frame.image)
            key = f"keyframe-{index:05d}"
            item = picture_item(source, key, loaded, ItemKind.KEYFRAME, None, True, text=frame.text)
            item.modality = Modality.VIDEO
            item.t, item.start, item.end = (
                round(frame.t, 3),
                round(frame.scene_start, 3),
                round(frame.scene_end, 3),
            )
            yield item, (frame.t / duration if duration else 0.5)
