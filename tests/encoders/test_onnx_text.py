"""The ONNX text encoder: exported once from the local weights, close to torch's vectors, and
the same answers to the same questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnidex.config import PACKAGED_TEXT_MODEL
from omnidex.encoders.onnx_text import OnnxTextEncoder
from omnidex.encoders.text import SentenceTransformerEncoder, resolve_text_model
from omnidex.errors import ConfigError

PASSAGES = [
    "The ferry to Kellsay leaves at seven from pier four.",
    "The orchard grows forty kinds of pear and three of quince.",
    "High tide at the harbour came at half past three on Sunday.",
    "The kiln fires the pots at twelve hundred degrees for a day.",
    "Lock keepers lived in small stone cottages beside each lock.",
    "Members of the library may borrow six books for three weeks.",
]
QUESTIONS = [
    ("When does the boat to Kellsay depart?", 0),
    ("What fruit trees are grown?", 1),
    ("When was the water highest?", 2),
    ("How hot does the oven get?", 3),
    ("Where did the canal staff live?", 4),
    ("How many books can I take out?", 5),
]


@pytest.mark.parametrize(("quantized", "closeness"), [(False, 0.9999), (True, 0.98)])
def test_vectors_match_torchs_and_so_do_the_answers(
    text_encoder: SentenceTransformerEncoder, tmp_path: Path, quantized: bool, closeness: float
) -> None:
    onnx = OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path, quantized=quantized)
    assert onnx.dim == text_encoder.dim
    texts = PASSAGES + [question for question, _ in QUESTIONS]
    ours, theirs = np.array(onnx.encode(texts)), np.array(text_encoder.encode(texts))
    cosines = (ours * theirs).sum(axis=1)
    print(f"quantized={quantized}: cosine to torch min {cosines.min():.4f}, mean {cosines.mean():.4f}")
    assert cosines.min() >= closeness
    passages, questions = ours[: len(PASSAGES)], ours[len(PASSAGES) :]
    assert [int(np.argmax(passages @ q)) for q in questions] == [answer for _, answer in QUESTIONS]
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    # A text's vector alone is its vector in a batch of others (padding does not leak in); int8
    # scales activations per batch, so there it is only very close.
    alone = np.array(onnx.encode([texts[2]])[0])
    assert float(alone @ ours[2]) >= (0.99999 if not quantized else 0.99)


def test_the_export_is_made_once_and_reused(tmp_path: Path) -> None:
    first = OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path)
    # The first export runs in the background: the encoder says so, knows its size already,
    # and its first texts wait for it.
    assert first.warming
    assert first.dim == 384
    assert len(first.encode(["the ferry leaves at seven"])[0]) == 384
    assert not first.warming
    [folder] = list(tmp_path.iterdir())
    made = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert {"model.onnx", "model-int8.onnx"} <= set(made)
    again = OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path)
    assert not again.warming
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == made
    assert again.version.endswith(":onnx-int8")


def test_a_model_that_does_not_mean_pool_is_refused(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_text_model(PACKAGED_TEXT_MODEL), device="cpu")
    config = model[1].get_config_dict()
    model[1] = type(model[1])(config["embedding_dimension"], pooling_mode="cls")
    model.save(str(tmp_path / "cls-model"))
    with pytest.raises(ConfigError, match="OMNIDEX_TEXT_BACKEND=torch"):
        OnnxTextEncoder(str(tmp_path / "cls-model"), tmp_path / "cache")


def test_callers_on_many_threads_get_their_own_vectors(tmp_path: Path) -> None:
    """Callers on several threads share the encoder; each gets back its own texts' vectors, in
    order, as if it had been alone."""
    from concurrent.futures import ThreadPoolExecutor

    onnx = OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path, quantized=False)
    lists = [PASSAGES[n:] + [q for q, _ in QUESTIONS[:n]] for n in range(len(PASSAGES))]
    alone = [np.array(onnx.encode(texts)) for texts in lists]
    with ThreadPoolExecutor(len(lists)) as pool:
        together = list(pool.map(lambda texts: np.array(onnx.encode(texts * 4)), lists))
    for mine, theirs, texts in zip(alone, together, lists, strict=True):
        assert theirs.shape == (4 * len(texts), onnx.dim)
        assert np.allclose(np.tile(mine, (4, 1)), theirs, atol=1e-5)


def test_closing_during_the_first_export_stops_it_and_leaves_no_half_file(tmp_path: Path) -> None:
    """A first start stopped at once (SIGTERM) must not hang on, or leave a broken model behind."""
    encoder = OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path)
    assert encoder.warming
    encoder.close()
    assert not encoder.warming
    with pytest.raises(ConfigError, match="exporting the text model failed"):
        encoder.encode(["anything"])
    [folder] = list(tmp_path.iterdir())
    assert not {"model.onnx", "model-int8.onnx"} & {path.name for path in folder.iterdir()}
    # The next start exports again, whole.
    assert len(OnnxTextEncoder(PACKAGED_TEXT_MODEL, tmp_path).encode(["the kiln"])[0]) == 384
