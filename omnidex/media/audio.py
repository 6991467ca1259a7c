"""Audio decoding with PyAV: probing, 16 kHz mono windows, and transcribing a whole file.

A recording is never held whole: it is decoded window by window (with a short
overlap, so a word on a window's edge is heard whole once), and each window
is transcribed before the next is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnidex.encoders.asr import SAMPLE_RATE, SpeechSegment, Transcriber
from omnidex.errors import CorruptFile, IngestError, UnsupportedType, reason

WINDOW_SECONDS = 300.0
NO_AUDIO = "this file has no audio stream (is it a picture or a silent video?)"
OVERLAP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class AudioInfo:
    duration: float
    sample_rate: int
    channels: int
    title: str | None = None  # the container's own title tag, if any


def probe_audio(path: Path) -> AudioInfo:
    """Duration and format of the first audio stream; raises CorruptFile or IngestError."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise IngestError("this file has no audio stream")
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = float(container.duration or 0) / 1_000_000
            title = container.metadata.get("title") or None
            context = stream.codec_context
            return AudioInfo(duration, context.sample_rate, context.channels, title)
    except av.error.FFmpegError as exc:
        raise CorruptFile(f"could not read this audio, it is damaged or incomplete: {reason(exc)}") from exc


def decode_windows(
    path: Path, window: float = WINDOW_SECONDS, overlap: float = OVERLAP_SECONDS
) -> Iterator[tuple[float, np.ndarray]]:
    """(start seconds, float32 16 kHz mono samples) windows of ``window + overlap`` seconds."""
    import av
    from av.audio.resampler import AudioResampler

    size, step = int((window + overlap) * SAMPLE_RATE), int(window * SAMPLE_RATE)
    pieces: list[np.ndarray] = []  # joined only once a window's worth has arrived
    pending = 0
    consumed = 0  # samples before the first pending one
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UnsupportedType(NO_AUDIO)
            resampler = AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    pending += pieces[-1].size
                if pending >= size:
                    buffer = np.concatenate(pieces)
                    while buffer.size >= size:
                        yield consumed / SAMPLE_RATE, buffer[:size]
                        buffer, consumed = buffer[step:], consumed + step
                    pieces, pending = [buffer], buffer.size
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.error.FFmpegError as exc:
        raise CorruptFile(f"could not decode this audio, it is damaged or incomplete: {reason(exc)}") from exc
    rest = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if rest.size or not consumed:
        yield consumed / SAMPLE_RATE, rest


def transcribe_file(
    path: Path, transcriber: Transcriber, vocabulary: str | None = None
) -> Iterator[SpeechSegment]:
    """Speech segments (sentences) of the whole file, in time order, each heard once."""
    heard_until = -1.0
    for start, samples in decode_windows(path):
        window_end = start + WINDOW_SECONDS
        for segment in transcriber.transcribe(samples, offset=start, vocabulary=vocabulary):
            if segment.start < heard_until - 0.5 or segment.start >= window_end:
                continue  # heard in the previous window, or to be heard in the next
            heard_until = segment.end
            yield segment
