"""CLIP image and text-tower encoder on open_clip, for the ``image`` vector.

The model is named by open_clip model name plus a pretrained tag or a local
checkpoint file. A tag is only fetched when downloads are allowed; otherwise
it must already be in the Hugging Face cache. Where no weights can be had,
:func:`load_clip` returns the reason instead of an encoder, and the service
runs without visual search rather than with random vectors.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from omnidex.errors import ConfigError, MissingExtra

_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# Where open_clip keeps the weights of the default model, so that their absence is known without
# importing it (open_clip.get_pretrained_cfg says the same, once imported).
KNOWN_HUB_REPOS = {("ViT-B-32", "laion2b_s34b_b79k"): "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"}


@dataclass(frozen=True, slots=True)
class ClipUnavailable:
    """Why visual search is off."""

    reason: str


class OpenClipEncoder:
    """Batched, normalised CLIP embeddings of images and of query texts; thread-safe."""

    def __init__(self, model: str, weights: str, *, device: str = "cpu", batch_size: int = 32) -> None:
        import open_clip
        import torch

        self._torch = torch
        self._model, _, self._preprocess = open_clip.create_model_and_transforms(
            model, pretrained=weights, device=device
        )
        self._model.eval()
        self._tokenizer = open_clip.get_tokenizer(model)
        self._device = device
        self.name = model
        self.version = Path(weights).name if Path(weights).exists() else weights
        self.batch_size = batch_size
        with torch.no_grad():
            probe = self._model.encode_text(self._tokenizer(["probe"]).to(device))
        self.dim = int(probe.shape[-1])
        self._lock = threading.Lock()

    def preprocess(self, images: Sequence[Image.Image]) -> Any:
        """Images as the model's input tensor (resize, crop, normalise)."""
        return self._torch.stack([self._preprocess(image.convert("RGB")) for image in images])

    def encode_tensors(self, pixels: Any) -> list[list[float]]:
        with self._lock, self._torch.no_grad():
            features = self._model.encode_image(pixels.to(self._device))
            features = features / features.norm(dim=-1, keepdim=True)
        return [row.tolist() for row in features.cpu()]

    def encode_images(self, images: Sequence[Image.Image]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(images), self.batch_size):
            vectors += self.encode_tensors(self.preprocess(images[start : start + self.batch_size]))
        return vectors

    def encode_texts(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock, self._torch.no_grad():
            features = self._model.encode_text(self._tokenizer(list(texts)).to(self._device))
            features = features / features.norm(dim=-1, keepdim=True)
        return [row.tolist() for row in features.cpu()]


def load_clip(
    model: str,
    pretrained: str,
    *,
    config_file: Path | None = None,
    allow_downloads: bool = False,
    device: str = "cpu",
) -> OpenClipEncoder | ClipUnavailable:
    """The encoder, or why it cannot be had (missing extra, no weights offline, bad file)."""
    if (absent := _known_weights_absent(model, pretrained, allow_downloads)) is not None:
        return absent  # said without importing open_clip, and with it torch (half a gigabyte)
    try:
        import open_clip
    except ImportError:
        return ClipUnavailable(str(MissingExtra("open-clip-torch", "server")))
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"CLIP model config {config_file} does not exist")
        open_clip.add_model_config(config_file)
    weights = _locate_weights(open_clip, model, pretrained, allow_downloads)
    if isinstance(weights, ClipUnavailable):
        return weights
    try:
        return OpenClipEncoder(model, weights, device=device)
    except Exception as exc:  # open_clip raises RuntimeError, FileNotFoundError, KeyError …
        return ClipUnavailable(f"cannot load CLIP {model} with {pretrained}: {exc}")


def _known_weights_absent(model: str, pretrained: str, allow_downloads: bool) -> ClipUnavailable | None:
    """Why the weights of a well-known model are not here (no download allowed), or None."""
    repo = KNOWN_HUB_REPOS.get((model, pretrained))
    if repo is None or allow_downloads or Path(pretrained).exists():
        return None
    from huggingface_hub import try_to_load_from_cache

    if any(isinstance(try_to_load_from_cache(repo, name), str) for name in _WEIGHT_FILES):
        return None
    return _weights_missing(model, pretrained)


def _weights_missing(model: str, pretrained: str) -> ClipUnavailable:
    return ClipUnavailable(
        f"CLIP weights {model}/{pretrained} are not on this machine and downloads are off "
        "(set OMNIDEX_CLIP_PRETRAINED to a local checkpoint, or OMNIDEX_ALLOW_DOWNLOADS=true)"
    )


def _locate_weights(
    open_clip: Any, model: str, pretrained: str, allow_downloads: bool
) -> str | ClipUnavailable:
    if Path(pretrained).exists() or allow_downloads:
        return pretrained
    config = open_clip.get_pretrained_cfg(model, pretrained) or {}
    repo = str(config.get("hf_hub", "")).strip("/")
    if repo:
        from huggingface_hub import try_to_load_from_cache

        for filename in _WEIGHT_FILES:
            cached = try_to_load_from_cache(repo, filename)
            if isinstance(cached, str):
                return cached
    return _weights_missing(model, pretrained)
