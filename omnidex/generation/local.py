"""Qwen3-Omni in this process with Hugging Face transformers (``Qwen3OmniMoeForConditionalGeneration``).

Meant for a GPU; one answer is generated at a time. Text streams as the
thinker writes it; speech comes whole once the talker is done.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import wave
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from omnidex.errors import ConfigError, GeneratorError
from omnidex.generation.base import (
    SPEECH_RATE,
    AudioDelta,
    AudioPart,
    Delta,
    GenerationRequest,
    ImagePart,
    Message,
    TextDelta,
    TextPart,
    Usage,
)

log = logging.getLogger(__name__)

DEFAULT_VOICE = "ethan"
TALKER_MAX_NEW_TOKENS = 4096


class LocalQwenOmni:
    name = "transformers"
    speaks = True
    sees = True

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        voice: str | None = None,
        allow_downloads: bool = False,
        talker_max_new_tokens: int = TALKER_MAX_NEW_TOKENS,
    ) -> None:
        import torch
        from transformers import AutoProcessor, Qwen3OmniMoeForConditionalGeneration

        self.model = model
        self.voice = voice or DEFAULT_VOICE
        self.talker_max_new_tokens = talker_max_new_tokens
        local_only = not allow_downloads
        try:
            self._processor: Any = AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                model, local_files_only=local_only
            )
            dtype = torch.float32 if device == "cpu" else "auto"
            loaded: Any = Qwen3OmniMoeForConditionalGeneration.from_pretrained(
                model, dtype=dtype, local_files_only=local_only
            )
            self._model: Any = loaded.to(device)
        except OSError as exc:
            raise ConfigError(f"cannot load Qwen3-Omni from {model!r}: {exc}") from exc
        self._model.eval()
        talker = getattr(self._model, "talker", None)
        if talker is not None and getattr(talker.config, "audio_config", None) is None:
            # transformers reads the audio encoder's config through the talker for audio input
            talker.config.audio_config = self._model.config.thinker_config.audio_config
        self.device = device
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qwen-omni")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        from transformers import TextIteratorStreamer

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Delta | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()
        streamer: Any = TextIteratorStreamer(
            self._processor.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )

        def put(item: Delta | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def relay() -> None:
            for piece in streamer:
                if piece and request.text:
                    put(TextDelta(piece))

        relay_thread = threading.Thread(target=relay, name="qwen-omni-text", daemon=True)

        def run() -> None:
            relay_thread.start()
            try:
                deltas = self._generate(request, streamer, cancelled)
                relay_thread.join()  # the text first, then the speech
                for delta in deltas:
                    put(delta)
            except BaseException as exc:
                streamer.end()
                put(exc)
            finally:
                put(None)

        future = loop.run_in_executor(self._executor, run)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    if isinstance(item, GeneratorError):
                        raise item
                    raise GeneratorError(f"Qwen3-Omni failed: {item}") from item
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(future)

    def _generate(self, request: GenerationRequest, streamer: Any, cancelled: threading.Event) -> list[Delta]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return cancelled.is_set()

        inputs: Any = self._inputs(request.messages)
        options: dict[str, Any] = {
            "thinker_max_new_tokens": request.max_tokens or 1024,
            "thinker_streamer": streamer,
            "thinker_stopping_criteria": StoppingCriteriaList([Cancelled()]),
            "return_audio": request.speech,
        }
        if request.temperature is not None:
            options["thinker_do_sample"] = request.temperature > 0
            if request.temperature > 0:
                options["thinker_temperature"] = request.temperature
        if request.speech:
            options["speaker"] = request.voice or self.voice
            options["talker_max_new_tokens"] = self.talker_max_new_tokens
        try:
            with torch.inference_mode():
                result = self._model.generate(**inputs, **options)
        except NotImplementedError as exc:  # an unknown speaker
            raise GeneratorError(str(exc)) from exc
        ids, waveform = result if isinstance(result, tuple) else (result, None)
        sequences: Any = getattr(ids, "sequences", ids)
        prompt = int(inputs["input_ids"].shape[1])
        generated = int(sequences.shape[1]) - prompt
        deltas: list[Delta] = []
        if waveform is not None and request.speech:
            deltas.append(AudioDelta(_pcm16(waveform), SPEECH_RATE))
        deltas.append(Usage(prompt, generated, prompt + generated))
        return deltas

    def _inputs(self, messages: list[Message]) -> Any:
        import numpy as np
        from PIL import Image

        conversation: list[dict[str, Any]] = []
        images: list[Any] = []
        audios: list[Any] = []
        for message in messages:
            parts: list[dict[str, Any]] = []
            for part in message.parts:
                if isinstance(part, TextPart):
                    parts.append({"type": "text", "text": part.text})
                elif isinstance(part, ImagePart):
                    images.append(Image.open(io.BytesIO(part.jpeg)).convert("RGB"))
                    parts.append({"type": "image", "image": images[-1]})
                elif isinstance(part, AudioPart):
                    with wave.open(io.BytesIO(part.wav)) as reader:
                        frames = reader.readframes(reader.getnframes())
                    audios.append(np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0)
                    parts.append({"type": "audio", "audio": audios[-1]})
            conversation.append({"role": message.role, "content": parts})
        text = self._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = self._processor(
            text=text, images=images or None, audio=audios or None, return_tensors="pt", padding=True
        )
        return inputs.to(self.device)

    async def check(self) -> str:
        return f"ok: {self.model} loaded on {self.device}"

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)


def _pcm16(waveform: Any) -> bytes:
    import numpy as np

    samples = waveform.detach().float().cpu().numpy().reshape(-1)
    return bytes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
