"""The text encoder on ONNX Runtime, optionally with int8 weights.

The sentence-transformers model is exported to ONNX once, from the weights on this machine
(nothing is downloaded), and kept in the data dir; the int8 variant quantises the matrix
multiplications' weights per channel (``onnxruntime.quantization.quantize_dynamic``). On two
cores, int8 encodes chunks about 1.8× as fast as torch, with vectors whose cosine to torch's
is above 0.98 (benchmarks/README.md); as int8 scales activations per batch, a text's vector
also varies that little with the batch it is encoded in. Mean-pooling models only (MiniLM,
mpnet); CLS-pooling ones (bge) stay on torch.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

from omnidex.encoders.text import model_version, resolve_text_model
from omnidex.errors import ConfigError, MissingExtra

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TOKENS_PER_BATCH = 512


class OnnxTextEncoder:
    """Batched, normalised embeddings from an exported model; safe to share between threads.

    The service process never loads torch for it: the tokenizer is read from the model's
    ``tokenizer.json`` and the export runs in a child process, once.
    """

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        *,
        quantized: bool = True,
        batch_size: int = 64,
        allow_downloads: bool = False,
        dim: int | None = None,
        threads: int = 0,
    ) -> None:
        try:
            import onnxruntime  # noqa: F401  (here to say what is missing; used in _load)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtra("onnxruntime", "server") from exc
        location = resolve_text_model(model)
        folder = _model_folder(location, allow_downloads)
        if not _mean_pooled(folder):
            raise ConfigError(
                f"text model {model!r} does not mean-pool its tokens: the ONNX backend cannot run it "
                "(set OMNIDEX_TEXT_BACKEND=torch)"
            )
        self.name, self.batch_size = model, batch_size
        base_version = model_version(location)
        self.version = f"{base_version}:onnx{'-int8' if quantized else ''}"
        self.max_length = int(_json(folder / "sentence_bert_config.json").get("max_seq_length") or 512)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.no_padding()  # each batch is padded to its own longest text
        pad = str(_json(folder / "special_tokens_map.json").get("pad_token") or "[PAD]")
        self._pad_id = self._tokenizer.token_to_id(pad) or 0
        # Batches run side by side, one thread each, as many at once as there are cores.
        self._pool = ThreadPoolExecutor(threads or (os.cpu_count() or 1), thread_name_prefix="text-encoder")
        self._ready, self._failure = threading.Event(), ""
        self._exporter: BaseProcess | None = None
        self._closed = threading.Event()
        export = (str(folder), cache_dir / _folder_name(model, base_version), quantized)
        pooled = _pooled_dim(folder)
        # The first start exports the model (seconds): the service starts meanwhile, and the
        # first texts to encode wait for it (``warming`` says so).
        if pooled is not None and not _export_path(*export[1:]).is_file():
            full, later = pooled, True
        else:
            full, later = self._load(_exported(*export)), False
            self._ready.set()
        self.dim = full
        if dim is not None and not 0 < dim <= full:
            raise ConfigError(f"text model {model!r} gives {full}-d vectors: cannot keep {dim} dimensions")
        if dim is not None and dim < full:
            self.dim, self.version = dim, f"{self.version}:{dim}d"
        if later:  # once self.dim is known: the export checks the model against it
            threading.Thread(target=self._load_later, args=export, name="onnx-export", daemon=True).start()

    def _started(self, process: BaseProcess) -> None:
        self._exporter = process
        if self._closed.is_set():  # closed before the export began
            process.kill()

    @property
    def warming(self) -> bool:
        """Whether the model is still being exported (once per data dir)."""
        return not self._ready.is_set()

    def _load(self, path: Path) -> int:
        """Open the exported model; returns its vectors' size."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread a batch: small batches side by side keep every core busy without waiting
        # for each other's threads at every layer (about 15 % faster on two cores than one
        # batch at a time on both; benchmarks/README.md).
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {item.name for item in self._session.get_inputs()}
        return int(self._run(self._tokenizer.encode_batch(["dimension"])).shape[1])

    def close(self) -> None:
        """Stop an export still running (its files are written whole or not at all)."""
        self._closed.set()
        if self._exporter is not None and not self._ready.is_set():
            self._exporter.kill()
        self._ready.wait(timeout=30)

    def _load_later(self, source: str, folder: Path, quantized: bool) -> None:
        try:
            full = self._load(_exported(source, folder, quantized, started=self._started))
            if full < self.dim:
                self._failure = f"the exported text model gives {full}-d vectors, not {self.dim}"
        except Exception as exc:
            log.exception("exporting the text model failed")
            self._failure = f"exporting the text model failed: {exc}"
        finally:
            self._ready.set()

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        self._ready.wait()
        if self._failure:
            raise ConfigError(self._failure)
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        batches = _batches([len(e.ids) for e in encoded], self.batch_size)
        runs = [self._pool.submit(self._run, [encoded[n] for n in chosen]) for chosen in batches]
        for chosen, run in zip(batches, runs, strict=True):
            vectors[chosen] = run.result()[:, : self.dim]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return [row.tolist() for row in vectors]

    def _run(self, encoded: list[Any]) -> np.ndarray:
        """Mean-pooled (not yet normalised) vectors of tokenised texts, padded to the longest."""
        width = max(len(e.ids) for e in encoded)
        ids = np.full((len(encoded), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        types = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)], mask[row, : len(e.ids)], types[row, : len(e.ids)] = e.ids, 1, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = types
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled: np.ndarray = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled


def _batches(lengths: list[int], most: int) -> list[list[int]]:
    """Indexes of texts in batches of like token lengths, longest first: at most ``most`` texts
    and ``TOKENS_PER_BATCH`` tokens (padding included) each: long chunks go two at a time, short
    sentences and queries many more. Small batches stay in the CPU's caches: on two cores, 512
    tokens a batch encoded chunks about 15 % faster than 2,048 did (and 25 % faster than
    4,096), and a document's chunks alone nearly as fast as those of many documents together
    (benchmarks/README.md). ONNX Runtime keeps its peak memory, which small batches keep low."""
    order = sorted(range(len(lengths)), key=lambda n: -lengths[n])
    batches: list[list[int]] = []
    for n in order:
        if (
            batches
            and len(batches[-1]) < most
            and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= TOKENS_PER_BATCH
        ):
            batches[-1].append(n)
        else:
            batches.append([n])
    return batches


def _json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _model_folder(location: str, allow_downloads: bool) -> Path:
    """The sentence-transformers folder of ``location``: itself, or its Hugging Face snapshot."""
    if Path(location).is_dir():
        return Path(location)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(location, local_files_only=not allow_downloads))
    except Exception as exc:
        hint = (
            ""
            if allow_downloads
            else " (downloads are off: set OMNIDEX_ALLOW_DOWNLOADS=true, or give a path)"
        )
        raise ConfigError(f"cannot find text model {location!r}: {exc}{hint}") from exc


def _mean_pooled(folder: Path) -> bool:
    """Whether the model is a transformer, mean pooling and (maybe) normalisation, and no more."""
    modules = _json_list(folder / "modules.json")
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(kind != "Normalize" for kind in kinds[2:]):
        return False
    config = _json(folder / str(modules[1].get("path", "")) / "config.json")
    mode = config.get("pooling_mode")
    if mode is None:  # sentence-transformers before 5: one flag per mode
        flags = [key for key, on in config.items() if key.startswith("pooling_mode_") and on is True]
        return flags == ["pooling_mode_mean_tokens"]
    return mode == "mean" or list(mode) == ["mean"]


def _folder_name(name: str, version: str) -> str:
    digest = hashlib.sha256(f"{name}\0{version}".encode()).hexdigest()[:12]
    readable = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(name).name)[:40]
    return f"{readable}-{digest}"


def _pooled_dim(folder: Path) -> int | None:
    """The size of the model's pooled vectors, from its configuration (None when it does not say)."""
    modules = _json_list(folder / "modules.json")
    config = _json(folder / str(modules[1].get("path", "")) / "config.json") if len(modules) > 1 else {}
    size = config.get("word_embedding_dimension")
    return size if isinstance(size, int) and size > 0 else None


def _json_list(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [item for item in loaded if isinstance(item, dict)] if isinstance(loaded, list) else []


def _export_path(folder: Path, quantized: bool) -> Path:
    return folder / ("model-int8.onnx" if quantized else "model.onnx")


def _exported(
    source: str, folder: Path, quantized: bool, started: Callable[[BaseProcess], None] = lambda _: None
) -> Path:
    """The model at ``source`` as ONNX in ``folder``: exported (and, for int8, quantised) the
    first time, in a child process (given to ``started``), so this one never loads torch for it."""
    wanted = _export_path(folder, quantized)
    if wanted.is_file():
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    # Processes starting together (a server and its workers) export once: the others wait.
    with (folder / "export.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if wanted.is_file():
            return wanted
        log.info("exporting the text model to ONNX, once, into %s", folder)
        process = multiprocessing.get_context("spawn").Process(
            target=_export_files, args=(source, str(folder), quantized), name="omnidex-onnx-export"
        )
        process.start()
        started(process)
        process.join()
    if process.exitcode != 0 or not wanted.is_file():
        raise ConfigError(
            f"could not export the text model to ONNX (exit code {process.exitcode}); "
            "set OMNIDEX_TEXT_BACKEND=torch to run it on torch"
        )
    return wanted


def _export_files(source: str, folder: str, quantized: bool) -> None:
    """In the export process: model.onnx, then model-int8.onnx when ``quantized``."""
    from sentence_transformers import SentenceTransformer

    plain, int8 = Path(folder) / "model.onnx", Path(folder) / "model-int8.onnx"
    if not plain.is_file():
        _export(SentenceTransformer(source, device="cpu", local_files_only=True), plain)
    if quantized and not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = int8.with_suffix(".partial")
        quantize_dynamic(
            plain, partial, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
        )
        partial.replace(int8)


def _export(st_model: Any, target: Path) -> None:
    import torch

    transformer = st_model[0].auto_model.eval()
    example = st_model.tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    names = [name for name in INPUTS if name in example]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state
            return hidden

    partial = target.with_suffix(".partial")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]}
    # The TorchScript exporter warns that it is the old one: it needs no extra packages.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(),
            tuple(example[name] for name in names),
            str(partial),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)
