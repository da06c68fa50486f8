"""Listing vectors in Meilisearch: a user-provided embedder that the sync worker feeds.

The embedded engine keeps vectors beside its index (`vectors.py`); with Meilisearch they
live in the documents, and `MeiliVectors` gives matching and `vectorize.Vectorizer` the
same `ListingVectors` interface over them, so both engines share one embedding path.

Rules (request shapes from Meilisearch's published OpenAPI document, version 1.53.0; the
document-side `_vectors` forms from its parser, crates/milli/src/vector/parsed_vectors.rs):
- With a model configured (`embedding.store_name`), the settings declare one embedder
  named after it (`embedder_name`): `{"source": "userProvided", "dimensions": <dim>}`.
  Without a model there is none; an embedder of another model (or of a time when
  embeddings were on) is removed with `null`, because a user-provided embedder refuses
  new documents that give it no vector. Meilisearch computes nothing itself.
- Every document the adapter writes carries `_vectors.<embedder>`: the vector stored
  for it and its content hash (`vec_hash`, `embedding.listing_hash`) while its embedded
  text is unchanged, read back from the live index (so a re-upsert and a rebuild keep
  them), else `null`, the documented opt-out (no vector: the listing is matched by text
  until the worker embeds it). A vector is written as `{"embeddings": [...],
  "regenerate": false}`: the adapter's own, never to be recomputed by Meilisearch.
- The worker's vectors go as partial updates (PUT with `skipCreation=true`): only
  `vec_hash` and `_vectors` change, and a listing deleted meanwhile is not re-created.
- Nearest listings: a search with the listing's vector and `hybrid: {embedder,
  semanticRatio: 1.0}` (semantic only), filtered to the wanted kind, statuses and open
  deadline. Meilisearch ranks the documents without a vector after all those with one
  (milli's `vector_sort.rs`), so hits come with `retrieveVectors` and those without a
  vector are dropped. For fusion the cosine similarities are computed here from the
  candidates' retrieved vectors, the same numbers the embedded engine uses, whatever
  scale Meilisearch's ranking score has.
- Not stored in Meilisearch: sentence vectors and sentence keys. Matching with this engine
  therefore shows no "语义相近" closest-sentence pair (the semantic score still counts)
  and does not down-weight the context sentences a whole list shares.
- AI-powered search is a stable feature since Meilisearch v1.13 (no experimental flag;
  compose pins v1.50); `skipCreation` is in the pinned version's API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .embedding import MODEL_DIMENSIONS, TEXT_ONLY
from .engine import SearchQuery
from .vectors import Entry

if TYPE_CHECKING:
    from .meili import MeiliEngine

HASH_FIELD = "vec_hash"
VECTORS_FIELD = "_vectors"
# Decimals a vector component is sent with (the models' float32 carries about seven).
VECTOR_DECIMALS = 6


def embedder_name(model: str) -> str:
    """The Meilisearch embedder of `model`'s vectors (`e5-small-q4` → `e5_small_q4`)."""
    return re.sub(r"[^0-9a-z_]", "_", model.lower())


def embedders_setting(model: str, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The `embedders` setting for `model` (`TEXT_ONLY`: none), removing with `null` the
    other embedders the index has (`current`, as Meilisearch returns them). None when
    there is nothing to declare or remove."""
    wanted: dict[str, Any] = {}
    if model != TEXT_ONLY:
        wanted[embedder_name(model)] = {"source": "userProvided", "dimensions": MODEL_DIMENSIONS[model]}
    for name in current or {}:
        wanted.setdefault(name, None)
    return wanted or None


def vector_fields(embedder: str, stored: tuple[str, list[float]] | None) -> dict[str, Any]:
    """The vector attributes of a document: its stored (hash, vector), or the opt-out."""
    if stored is None:
        return {VECTORS_FIELD: {embedder: None}}
    digest, vector = stored
    return {HASH_FIELD: digest, VECTORS_FIELD: {embedder: {"embeddings": vector, "regenerate": False}}}


def vector_updates(embedder: str, entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Partial documents storing the worker's vectors (see the module docstring)."""
    out = []
    for entry in entries:
        stored = (entry.hash, _wire(entry.vector)) if entry.vector is not None else None
        out.append({"id": entry.id, **vector_fields(embedder, stored)})
    return out


def _wire(vector: np.ndarray) -> list[float]:
    return [float(x) for x in np.round(np.asarray(vector, dtype=np.float64), VECTOR_DECIMALS)]


def read_vector(item: dict[str, Any], embedder: str) -> list[float] | None:
    """The vector of a document fetched with `retrieveVectors` (Meilisearch answers
    `{"embeddings": [[...]], "regenerate": false}`; an opted-out one has no embeddings)."""
    entry = (item.get(VECTORS_FIELD) or {}).get(embedder)
    embeddings = entry.get("embeddings") if isinstance(entry, dict) else entry
    if not embeddings:
        return None
    first = embeddings[0]
    return [float(x) for x in (first if isinstance(first, list) else embeddings)]


def nearest_params(embedder: str, vector: Sequence[float], filters: list[Any], limit: int) -> dict[str, Any]:
    """Options of the semantic-only search for the listings nearest to `vector`."""
    params: dict[str, Any] = {
        "vector": list(vector),
        "hybrid": {"embedder": embedder, "semanticRatio": 1.0},
        "limit": limit,
        "attributesToRetrieve": ["id"],
        "retrieveVectors": True,
        "showRankingScore": True,
    }
    if filters:
        params["filter"] = filters
    return params


class MeiliVectors:
    """`vectors.ListingVectors` over one Meilisearch engine's documents (for its model)."""

    def __init__(self, engine: MeiliEngine, model: str) -> None:
        self.engine = engine
        self.model = model
        self.embedder = embedder_name(model)

    def hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        fields = ["id", HASH_FIELD]
        items = self.engine.each_document(fields) if doc_ids is None else self.engine.fetch(doc_ids, fields)
        return {item["id"]: item[HASH_FIELD] for item in items if item.get(HASH_FIELD)}

    def put(self, entries: Sequence[Entry]) -> None:
        if entries:
            self.engine.put_vectors(vector_updates(self.embedder, entries))

    def remove(self, doc_ids: Iterable[str]) -> None:
        """Nothing to do: deleting a document deleted its vector."""

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and doc_id in self.hashes([doc_id])

    def vector_count(self, kind: str | None = None) -> int:
        return sum(1 for doc_id in self.hashes() if kind is None or doc_id.startswith(kind + "-"))

    def vector(self, doc_id: str) -> np.ndarray | None:
        return self.vectors([doc_id]).get(doc_id)

    def vectors(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]:
        out = {}
        for item in self.engine.fetch(doc_ids, ["id"], vectors=True):
            vector = read_vector(item, self.embedder)
            if vector is not None:
                out[item["id"]] = np.asarray(vector, dtype=np.float32)
        return out

    def sentences(self, doc_id: str) -> tuple[list[str], np.ndarray | None]:
        return [], None  # not stored in Meilisearch (see the module docstring)

    def sentence_share(self, keys: Iterable[str]) -> dict[str, int]:
        return dict.fromkeys(keys, 0)  # not counted in Meilisearch

    def nearest(
        self,
        vector: np.ndarray,
        kind: str,
        k: int,
        exclude: Iterable[str] = (),
        *,
        statuses: Sequence[str] = (),
        open_at: int | None = None,
    ) -> list[tuple[str, float]]:
        """The `k` listings of `kind` (and `statuses`, open at `open_at`) nearest to
        `vector`, with Meilisearch's ranking score (not a cosine)."""
        where = SearchQuery(kind=kind, statuses=list(statuses), exclude_ids=list(exclude), open_at=open_at)
        return self.engine.vector_search(self.embedder, _wire(vector), where, k)
