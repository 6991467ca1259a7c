"""The OpenAI-compatible chat wire shared by the HTTP backends: requests, SSE chunks, errors, audio.

Retries happen only before the first byte of an answer: once text has been
streamed to the caller, a retry would repeat it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import time
import wave
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from omnidex.errors import GeneratorError, GeneratorTimeout
from omnidex.generation.base import (
    AudioPart,
    GenerationRequest,
    ImagePart,
    Message,
    Part,
    TextPart,
    Usage,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
BACKOFF_SECONDS = 0.25


class ChatClient:
    """Streams ``POST {base_url}/chat/completions`` and yields each JSON chunk."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        total_timeout: float = 300.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.retries = retries
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # Made on first use, and again after aclose(), so it belongs to the running event loop.
        if self._http is None:
            self._http = httpx.AsyncClient(
                headers=self._headers, timeout=self._timeout, transport=self._transport
            )
        return self._http

    async def models(self) -> list[str]:
        """The model ids the server lists (``GET {base_url}/models``), asked with a short timeout."""
        try:
            response = await self._client().get(self.base_url + "/models", timeout=3.0)
        except httpx.HTTPError as exc:
            raise GeneratorError(f"cannot reach the generator at {self.base_url}: {exc!r}") from exc
        if response.status_code != 200:
            raise GeneratorError(f"the generator at {self.base_url} answered {response.status_code}")
        try:
            return [str(model["id"]) for model in response.json()["data"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise GeneratorError(f"the generator at {self.base_url} lists no models") from exc

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Each ``data:`` chunk of the answer; raises GeneratorError or GeneratorTimeout."""
        deadline = time.monotonic() + self.total_timeout
        response = await self._open(body)
        try:
            event = None
            done = False
            async for line in _lines(response):
                if time.monotonic() > deadline:
                    raise GeneratorTimeout(f"the generator took longer than {self.total_timeout:g} s")
                if line.startswith("event:"):
                    event = line[6:].strip()
                if done or not line.startswith("data:"):
                    continue  # read to the end, so that the connection can be reused
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                chunk = _json(data)
                if event == "error" or "error" in chunk or chunk.get("object") == "error":
                    raise GeneratorError(f"the generator failed mid-answer: {error_message(chunk)}")
                yield chunk
        except httpx.TimeoutException as exc:
            raise GeneratorTimeout(f"the generator sent nothing for {self.read_timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise GeneratorError(f"the generator dropped the connection mid-answer ({exc})") from exc
        finally:
            await response.aclose()

    async def _open(self, body: dict[str, Any]) -> httpx.Response:
        problem: GeneratorError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
                log.info("retrying the generator (%d/%d): %s", attempt, self.retries, problem)
            http = self._client()
            request = http.build_request("POST", self.url, json=body)
            try:
                response = await http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                problem = GeneratorTimeout(f"the generator at {self.url} did not answer in time ({exc!r})")
                continue
            except httpx.TransportError as exc:
                problem = GeneratorError(f"cannot reach the generator at {self.url}: {exc}")
                continue
            if response.status_code < 400:
                return response
            detail = error_message(_json_or_text(await _read_error(response)))
            problem = GeneratorError(f"the generator answered HTTP {response.status_code}: {detail}")
            if response.status_code not in RETRY_STATUSES:
                break
        assert problem is not None
        raise problem

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()


async def _lines(response: httpx.Response) -> AsyncIterator[str]:
    """The body's lines as they arrive (SSE is UTF-8; a lone CR is not a line break here)."""
    pending = b""
    async for data in response.aiter_bytes():
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


class HttpBackend:
    """What every HTTP backend keeps: its chat client, the model it asks for, the voice it speaks in."""

    default_model = ""
    default_voice = ""

    def __init__(self, client: ChatClient, model: str | None = None, voice: str | None = None) -> None:
        self.client = client
        self.model = model or self.default_model
        self.voice = voice or self.default_voice

    async def check(self) -> str:
        served = await self.client.models()
        if self.model not in served:
            raise GeneratorError(f"the generator serves {', '.join(served) or 'no model'}, not {self.model}")
        return f"ok: {self.model} at {self.client.base_url}"

    async def aclose(self) -> None:
        await self.client.aclose()


async def _read_error(response: httpx.Response) -> bytes:
    try:
        return await response.aread()
    except httpx.HTTPError:
        return b""
    finally:
        await response.aclose()


def _json(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise GeneratorError(f"the generator sent something that is not JSON: {data[:120]!r}") from exc
    if not isinstance(chunk, dict):
        raise GeneratorError(f"the generator sent an unexpected chunk: {data[:120]!r}")
    return chunk


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace").strip()[:300] or "(empty body)"


def error_message(body: Any) -> str:
    """The message in any of the error envelopes: OpenAI/vLLM, DashScope, flat."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("code") or json.dumps(inner)[:300]
            return str(message)
        return str(inner)
    return str(body)


def reasoning(delta: dict[str, Any]) -> str | None:
    """A delta's reasoning: ``reasoning`` (vLLM since 0.11), else ``reasoning_content`` (older
    vLLM, DashScope). A server that sends both sends the same words, so one is taken."""
    found = delta.get("reasoning") or delta.get("reasoning_content")
    return found if isinstance(found, str) and found else None


def choices(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    found = chunk.get("choices")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def content(
    parts: Sequence[Part], *, media: bool = True, audio_data_url: bool = False
) -> list[dict[str, Any]]:
    """OpenAI content parts; without ``media`` only the text is kept."""
    rendered: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            rendered.append({"type": "text", "text": part.text})
        elif not media:
            continue
        elif isinstance(part, ImagePart):
            rendered.append({"type": "image_url", "image_url": {"url": data_url("image/jpeg", part.jpeg)}})
        elif isinstance(part, AudioPart):
            encoded = data_url("audio/wav", part.wav) if audio_data_url else _b64(part.wav)
            rendered.append({"type": "input_audio", "input_audio": {"data": encoded, "format": "wav"}})
    return rendered


def messages(
    conversation: Sequence[Message], *, media: bool = True, audio_data_url: bool = False
) -> list[dict[str, Any]]:
    return [
        {"role": m.role, "content": content(m.parts, media=media, audio_data_url=audio_data_url)}
        for m in conversation
    ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_base64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GeneratorError("the generator sent audio that is not valid base64") from exc


def wav_frames(data: bytes) -> tuple[bytes, int]:
    """PCM16 frames and sample rate of a mono 16-bit WAV file."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
                raise GeneratorError("the generator sent audio that is not 16-bit mono WAV")
            return reader.readframes(reader.getnframes()), reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise GeneratorError(f"the generator sent a broken WAV chunk: {exc}") from exc


def wav_file(pcm: bytes, rate: int) -> bytes:
    """A WAV file around 16-bit mono PCM."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def chat_body(model: str, conversation: list[dict[str, Any]], request: GenerationRequest) -> dict[str, Any]:
    """The fields every backend sends: a streamed chat completion with usage, and sampling options."""
    body: dict[str, Any] = {
        "model": model,
        "messages": conversation,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    return body


def usage(data: dict[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        total_tokens=int(data.get("total_tokens") or 0),
    )
