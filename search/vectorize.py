"""Keeping an engine's stored vectors in step with its documents (off the request path).

The sync worker calls `Vectorizer.note_upserted` / `note_deleted` with what it just
applied to the engine, and `step` when it has nothing else to do; `scenematch embed`
calls `run`. Rules:
- A listing is (re-)embedded only when its content hash (embedded sentences + model)
  differs from the stored one; unchanged listings cost a hash.
- The first `step` after start-up, and after the index generation changed (a rebuild by
  `scenematch reindex`), compares every indexed listing with the store, so nothing is
  missed while the worker was not running.
- Without a model (embeddings off, package missing) the same pass stores the sentence
  keys only: the shared-sentence counts matching uses do not depend on the model.
- The same steps serve both engines (`vectors.ListingVectors`): the embedded engine's
  store beside its generation, and Meilisearch's documents (`meili_vectors.py`), which
  hold the vector and its hash only while an embedding model is configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .embedding import (
    TEXT_ONLY,
    Embedder,
    embedding_sentences,
    get_embedder,
    listing_hash,
    listing_vector,
    sentence_keys,
    store_name,
)
from .engine import ListingDocument, SearchEngine
from .vectors import Entry, ListingVectors, store_of

log = logging.getLogger(__name__)

BATCH = 16
SCAN_CHUNK = 1000


@dataclass
class Progress:
    done: int
    total: int
    seconds: float


class Vectorizer:
    def __init__(self, engine: SearchEngine, embedder: Embedder | bool | None = True) -> None:
        """`embedder=True`: the configured one (loaded on first use); None: keys only."""
        self.engine = engine
        self._embedder_arg = embedder
        self.name = store_name() if embedder is True else (embedder.name if embedder else TEXT_ONLY)
        self._pending: dict[str, ListingDocument] = {}
        self._deleted: set[str] = set()
        self._store: ListingVectors | None = None
        # A scan in progress: the ids still to compare, and the stored hashes to compare with.
        self._to_scan: list[str] = []
        self._scanned = 0
        self._stored_hashes: dict[str, str] = {}

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder_arg is True:
            self._embedder_arg = get_embedder() if self.name != TEXT_ONLY else None
        return self._embedder_arg or None

    def store(self) -> ListingVectors | None:
        return store_of(self.engine, self.name)

    def note_upserted(self, docs: Iterable[ListingDocument]) -> None:
        for doc in docs:
            self._deleted.discard(doc.id)
            self._pending[doc.id] = doc

    def note_deleted(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            self._pending.pop(doc_id, None)
            self._deleted.add(doc_id)

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._deleted)

    def step(self, limit: int = BATCH) -> int:
        """Embed up to `limit` waiting listings, or scan the next chunk of the index for listings to
        embed; returns how many listings it handled (0: idle)."""
        store = self.store()
        if store is None:
            return 0
        if store is not self._store:
            self._store = store
            self._start_scan(store)
        if self._scanned < len(self._to_scan):
            # A chunk of the scan per step, so the worker checks between chunks whether it
            # should give way (at 100k listings the whole scan is most of a minute of CPU).
            return self._scan_some()
        done = 0
        if self._deleted:
            gone = list(store.hashes(self._deleted))
            self._deleted.clear()
            store.remove(gone)
            done += len(gone)
        batch: list[ListingDocument] = []
        while self._pending and len(batch) < limit:
            _, doc = self._pending.popitem()
            batch.append(doc)
        store.put(self.entries(batch, store))
        return done + len(batch)

    def scan(self, store: ListingVectors) -> int:
        """Queue every indexed listing whose stored hash is missing or stale; forget
        stored listings the index no longer holds. Returns how many were queued."""
        self._start_scan(store)
        while self._scanned < len(self._to_scan):
            self._scan_some()
        return len(self._pending)

    def _start_scan(self, store: ListingVectors) -> None:
        self._stored_hashes = store.hashes()
        self._to_scan = sorted(self.engine.document_ids())
        self._scanned = 0
        self._deleted |= set(self._stored_hashes) - set(self._to_scan)

    def _scan_some(self) -> int:
        chunk = self._to_scan[self._scanned : self._scanned + SCAN_CHUNK]
        self._scanned += len(chunk)
        for doc in self.engine.get(chunk).values():
            if self._stored_hashes.get(doc.id) != listing_hash(doc, self.name):
                self._pending.setdefault(doc.id, doc)
        if self._scanned >= len(self._to_scan):
            self._to_scan, self._scanned, self._stored_hashes = [], 0, {}
        return len(chunk)

    def entries(self, docs: list[ListingDocument], store: ListingVectors) -> list[Entry]:
        work = []
        stored = store.hashes([doc.id for doc in docs])
        for doc in docs:
            sentences = embedding_sentences(doc)
            digest = listing_hash(doc, self.name)
            if sentences and stored.get(doc.id) != digest:
                work.append((doc, sentences, digest))
        if not work:
            return []
        embedder = self.embedder
        vectors: np.ndarray | None = None
        if embedder is not None:
            # One call for the whole batch: the models are faster on batches.
            vectors = embedder.encode([s for _, sentences, _ in work for s in sentences])
        entries, row = [], 0
        for doc, sentences, digest in work:
            entry = Entry(doc.id, digest, sentences, sentence_keys(doc))
            if vectors is not None:
                entry.sentence_vectors = vectors[row : row + len(sentences)]
                entry.vector = listing_vector(entry.sentence_vectors)
                row += len(sentences)
            entries.append(entry)
        return entries

    def run(self, progress: Callable[[Progress], None] | None = None) -> Progress:
        """Embed everything that is missing or stale, reporting progress after each batch."""
        store = self.store()
        started = time.perf_counter()
        if store is None:
            return Progress(0, 0, 0.0)
        self._store = store
        self.scan(store)
        total, done = self.pending, 0
        while self.pending:
            done += self.step()
            if progress is not None:
                progress(Progress(done, total, time.perf_counter() - started))
        return Progress(done, total, time.perf_counter() - started)
