"""Audio: decoded with PyAV to 16 kHz mono in windows, transcribed, grouped into segments.

A recording is never held whole: it is decoded window by window (with a short
overlap, so a word on a window's edge is heard whole once), and each window
is transcribed before the next is decoded. Whisper's segments are then
grouped into items of at most 30 s (Qwen3-Omni's audio limit in several
servers), cut at pauses, each repeating the previous item's last short
sentence for context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnidex.encoders.asr import SAMPLE_RATE, SpeechSegment, WhisperTranscriber
from omnidex.errors import CorruptFile, IngestError, reason

AUDIO_MIMES = {
    "audio/x-wav": "WAV audio",
    "audio/wav": "WAV audio",
    "audio/vnd.wave": "WAV audio",
    "audio/mpeg": "MP3 audio",
    "audio/flac": "FLAC audio",
    "audio/x-flac": "FLAC audio",
    "audio/ogg": "Ogg audio",
    "audio/opus": "Opus audio",
    "audio/mp4": "M4A audio",
    "audio/x-m4a": "M4A audio",
    "audio/aac": "AAC audio",
    "audio/x-hx-aac-adts": "AAC audio",
    "audio/webm": "WebM audio",
}
WINDOW_SECONDS = 300.0
OVERLAP_SECONDS = 5.0
MAX_ITEM_SECONDS = 30.0
PAUSE_SECONDS = 1.5
MIN_ITEM_SECONDS = 8.0
OVERLAP_SENTENCE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class AudioInfo:
    duration: float
    sample_rate: int
    channels: int


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
            return AudioInfo(duration, stream.codec_context.sample_rate, stream.codec_context.channels)
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


def transcribe_file(path: Path, transcriber: WhisperTranscriber) -> Iterator[SpeechSegment]:
    """Speech segments of the whole file, in time order, each heard once."""
    heard_until = -1.0
    for start, samples in decode_windows(path):
        window_end = start + WINDOW_SECONDS
        for segment in transcriber.transcribe(samples, offset=start):
            if segment.start < heard_until - 0.5 or segment.start >= window_end:
                continue  # heard in the previous window, or to be heard in the next
            heard_until = segment.end
            yield segment


@dataclass(slots=True)
class SpeechGroup:
    start: float
    end: float
    texts: list[str]
    language: str | None


def group_segments(segments: Iterator[SpeechSegment]) -> Iterator[SpeechGroup]:
    """Items of at most 30 s, cut at pauses, each opening with the previous one's last short sentence."""
    current: SpeechGroup | None = None
    last: SpeechSegment | None = None
    for segment in segments:
        if current is not None and last is not None:
            too_long = segment.end - current.start > MAX_ITEM_SECONDS
            paused = segment.start - last.end > PAUSE_SECONDS and last.end - current.start >= MIN_ITEM_SECONDS
            if too_long or paused:
                yield current
                carry = (
                    not paused
                    and last.end - last.start <= OVERLAP_SENTENCE_SECONDS
                    and segment.end - last.start <= MAX_ITEM_SECONDS
                )
                current = SpeechGroup(last.start, last.end, [last.text], last.language) if carry else None
        if current is None:
            current = SpeechGroup(segment.start, segment.end, [], segment.language)
        current.texts.append(segment.text)
        current.end = segment.end
        last = segment
    if current is not None:
        yield current
