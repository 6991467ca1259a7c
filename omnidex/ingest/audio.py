"""Audio files → speech items: the recording transcribed (``omnidex.media.audio``), then
Whisper's segments grouped into items of at most 30 s (Qwen3-Omni's audio limit in several
servers), cut at pauses, each repeating the previous item's last short
sentence for context. With a captioner, each stretch where no speech is heard
becomes sound items of at most 30 s, found by their captions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from omnidex.encoders.asr import SpeechSegment, Transcriber
from omnidex.errors import IngestError
from omnidex.ingest.partition import NO_SUFFIXES, Source
from omnidex.ingest.vocabulary import vocabulary
from omnidex.media.audio import probe_audio, transcribe_file
from omnidex.media.clips import clip_wav
from omnidex.types import Item, ItemKind, Modality

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
MAX_ITEM_SECONDS = 30.0
PAUSE_SECONDS = 1.5
LONG_PAUSE_SECONDS = 6.0  # a silence this long ends an item, however short
MIN_ITEM_SECONDS = 8.0
OVERLAP_SENTENCE_SECONDS = 5.0
MIN_SOUND_SECONDS = 4.0  # a shorter quiet stretch is a pause, not a sound worth describing
MAX_SOUND_ITEMS = 240  # two hours of sound without speech, in 30 s stretches


@dataclass(slots=True)
class SpeechGroup:
    start: float
    end: float
    texts: list[str]
    language: str | None
    sentences: list[tuple[float, float, str]] = field(default_factory=list)


def group_segments(segments: Iterator[SpeechSegment]) -> Iterator[SpeechGroup]:
    """Items of at most 30 s, cut at pauses (a long one always), each opening with the previous
    one's last short sentence."""
    current: SpeechGroup | None = None
    last: SpeechSegment | None = None
    for segment in segments:
        if current is not None and last is not None:
            too_long = segment.end - current.start > MAX_ITEM_SECONDS
            gap = segment.start - last.end
            paused = gap > LONG_PAUSE_SECONDS or (
                gap > PAUSE_SECONDS and last.end - current.start >= MIN_ITEM_SECONDS
            )
            if too_long or paused:
                yield current
                carry = (
                    not paused
                    and last.end - last.start <= OVERLAP_SENTENCE_SECONDS
                    and segment.end - last.start <= MAX_ITEM_SECONDS
                )
                current = None
                if carry:
                    current = SpeechGroup(last.start, last.end, [last.text], last.language)
                    current.sentences.append((last.start, last.end, last.text))
        if current is None:
            current = SpeechGroup(segment.start, segment.end, [], segment.language)
        current.texts.append(segment.text)
        current.sentences.append((segment.start, segment.end, segment.text))
        current.end = segment.end
        last = segment
    if current is not None:
        yield current


class AudioPartitioner:
    name = "audio"
    modality = Modality.AUDIO
    mimes = AUDIO_MIMES
    suffixes = NO_SUFFIXES
    summary = "WAV, MP3, FLAC, Ogg/Opus, M4A/AAC, WebM audio"
    nothing_found = "no speech was heard"

    def items(self, source: Source) -> Iterator[tuple[Item, float]]:
        transcriber = source.pipeline.transcriber
        if transcriber is None and source.pipeline.captioner is None:
            raise IngestError(no_speech_reason("this is an audio file"))
        yield from speech_items(source, transcriber, Modality.AUDIO)


def speech_items(
    source: Source, transcriber: Transcriber | None, modality: Modality, screen_text: str = ""
) -> Iterator[tuple[Item, float]]:
    """Speech items with the fraction of the recording heard so far (decoded s / total s), then,
    with a captioner, sound items for the stretches without speech.

    Recognition is told the names the document offers (``omnidex.ingest.vocabulary``): its
    file name, its title, and ``screen_text``. Each item keeps its sentences with their times,
    so a hit can point to the sentence that answers.
    """
    info = probe_audio(source.path)
    words = vocabulary(source.doc.name, info.title, screen_text)
    segments = transcribe_file(source.path, transcriber, words) if transcriber else iter(())
    spoken: list[tuple[float, float]] = []
    for index, group in enumerate(group_segments(segments)):
        spoken.append((group.start, group.end))
        item = Item(
            key=f"speech-{index:05d}",
            modality=modality,
            kind=ItemKind.SPEECH,
            text=" ".join(group.texts),
            start=group.start,
            end=group.end,
            extra={"language": group.language, "sentences": [list(s) for s in group.sentences]},
        )
        yield item, min(1.0, group.end / info.duration) if info.duration else 0.5
    if source.pipeline.captioner is not None:
        yield from sound_items(source, modality, quiet_stretches(spoken, info.duration))


def quiet_stretches(spoken: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """The stretches of at least MIN_SOUND_SECONDS where no speech is heard, each cut into
    equal parts of at most 30 s."""
    stretches, heard_until = [], 0.0
    for start, end in [*sorted(spoken), (duration, duration)]:
        if start - heard_until >= MIN_SOUND_SECONDS:
            parts = math.ceil((start - heard_until) / MAX_ITEM_SECONDS)
            step = (start - heard_until) / parts
            stretches += [(heard_until + n * step, heard_until + (n + 1) * step) for n in range(parts)]
        heard_until = max(heard_until, end)
    return stretches[:MAX_SOUND_ITEMS]


def sound_items(
    source: Source, modality: Modality, stretches: list[tuple[float, float]]
) -> Iterator[tuple[Item, float]]:
    """An item per stretch without speech, its sound kept for the captioner."""
    for index, (start, end) in enumerate(stretches):
        source.check()
        wav, seconds = clip_wav(source.path, start, end - start)
        item = Item(
            key=f"sound-{index:05d}",
            modality=modality,
            kind=ItemKind.SOUND,
            start=round(start, 3),
            end=round(start + seconds, 3),
            sound=wav,
        )
        yield item, 1.0


def no_speech_reason(what: str) -> str:
    return f"{what}, and speech recognition is off (OMNIDEX_SPEECH=false or no speech model)"
