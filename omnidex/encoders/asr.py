"""Speech recognition's seam: a ``Transcriber`` turns 16 kHz mono samples into timed segments.

The local implementation is ``omnidex.encoders.whisper`` (faster-whisper);
another one (a remote server, say) needs only ``name``, ``version`` and
``transcribe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000  # what every transcriber listens at


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    start: float
    end: float
    text: str
    language: str | None


class Transcriber(Protocol):
    name: str
    version: str

    def transcribe(
        self, audio: np.ndarray, *, offset: float = 0.0, vocabulary: str | None = None
    ) -> list[SpeechSegment]:
        """Speech in ``audio`` (float32, 16 kHz, mono), a segment a sentence, with times shifted by
        ``offset`` seconds; ``vocabulary`` names words likely to be said (names, places)."""
        ...
