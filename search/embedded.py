"""The embedded engine: an on-disk tantivy index, used when no Meilisearch is configured.

Layout under `data_dir/<index_name>/`: one directory per index generation
(`v<schema>-<time>-<random>`) and a `CURRENT` file naming the live one. `rebuild` fills
a new generation and swaps it in by rewriting `CURRENT` atomically, so readers always
see a complete index; the previous generation is kept until the next rebuild because
another process may still be reading it.

Writes go through one tantivy writer per generation, taken lazily so that a process that
only searches never holds the index lock.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import tantivy

from .engine import ListingDocument, SearchHit, SearchQuery, SearchResult, SearchUnavailable
from .highlight import highlight
from .plan import Mode, plan_query
from .tantivy_index import (
    SCHEMA_VERSION,
    build_query,
    build_schema,
    facet_counts,
    facet_request,
    from_stored,
    to_tantivy,
)
from .text import normalise

log = logging.getLogger(__name__)

POINTER = "CURRENT"
WRITER_HEAP = 64_000_000
REBUILD_HEAP = 256_000_000


class _Generation:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.schema = build_schema()
        try:
            self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot open search index {path}: {exc}") from exc
        self.writer: tantivy.IndexWriter | None = None

    def get_writer(self, heap: int = WRITER_HEAP, threads: int = 1) -> tantivy.IndexWriter:
        if self.writer is None:
            try:
                self.writer = self.index.writer(heap, threads)
            except ValueError as exc:
                raise SearchUnavailable(f"search index {self.path} is locked by another writer") from exc
        return self.writer

    def release_writer(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.wait_merging_threads()


class EmbeddedEngine:
    def __init__(self, data_dir: Path, index_name: str = "listings") -> None:
        self.root = Path(data_dir) / index_name
        self._gen: _Generation | None = None
        self._pointer_stamp: int | None = None
        self._lock = threading.RLock()  # guards the writer and generation swaps
        self._rebuild_lock = threading.Lock()
        # While a rebuild runs, writes are also recorded here and replayed on the new
        # generation before it goes live, so a concurrent sync is not lost.
        self._journal: list[tuple[str, list]] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def ensure_ready(self) -> None:
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            if self._read_pointer() is None:
                gen = _Generation(self._new_generation_path())
                gen.get_writer().commit()  # an empty but valid index on disk
                gen.release_writer()
                self._write_pointer(gen.name)
            self._current()

    def health(self) -> bool:
        try:
            self._current().index.searcher()
        except SearchUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._gen is not None:
                self._gen.release_writer()
            self._gen = None
            self._pointer_stamp = None

    # -- writes ------------------------------------------------------------------------

    def upsert(self, docs: Iterable[ListingDocument]) -> None:
        docs = list(docs)
        if not docs:
            return
        prepared = [to_tantivy(d) for d in docs]  # segmentation outside the lock
        with self._lock:
            gen = self._current()
            self._apply_upsert(gen.get_writer(), docs, prepared)
            self._commit(gen)
            if self._journal is not None:
                self._journal.append(("upsert", docs))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            gen = self._current()
            writer = gen.get_writer()
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)
            self._commit(gen)
            if self._journal is not None:
                self._journal.append(("delete", ids))

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        with self._rebuild_lock:
            self.root.mkdir(parents=True, exist_ok=True)
            gen = _Generation(self._new_generation_path())
            with self._lock:
                self._journal = []
            try:
                writer = gen.get_writer(REBUILD_HEAP, 0)
                seen: set[str] = set()
                for doc in docs:
                    if doc.id in seen:
                        writer.delete_documents_by_term("id", doc.id)
                    seen.add(doc.id)
                    writer.add_document(to_tantivy(doc))
                writer.commit()
                with self._lock:
                    for op, payload in self._journal:
                        if op == "upsert":
                            self._apply_upsert(writer, payload, [to_tantivy(d) for d in payload])
                        else:
                            for doc_id in payload:
                                writer.delete_documents_by_term("id", doc_id)
                    writer.commit()
                    gen.release_writer()
                    gen.index.reload()
                    previous = self._gen
                    self._write_pointer(gen.name)
                    self._gen = gen
                    self._pointer_stamp = self._stamp()
                    self._journal = None
                    if previous is not None:
                        previous.release_writer()
            except BaseException:
                with self._lock:
                    self._journal = None
                gen.writer = None
                shutil.rmtree(gen.path, ignore_errors=True)
                raise
            self._remove_old_generations(keep={gen.name, previous.name if previous else ""})

    @staticmethod
    def _apply_upsert(writer: tantivy.IndexWriter, docs: list[ListingDocument], prepared: list) -> None:
        for doc, tdoc in zip(docs, prepared, strict=True):
            writer.delete_documents_by_term("id", doc.id)
            writer.add_document(tdoc)

    @staticmethod
    def _commit(gen: _Generation) -> None:
        try:
            gen.get_writer().commit()
        except (OSError, ValueError) as exc:
            gen.get_writer().rollback()
            raise SearchUnavailable(f"search index commit failed: {exc}") from exc
        gen.index.reload()

    # -- reads -------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        plan = plan_query(query)
        if plan.mode is Mode.NOTHING:
            return SearchResult.empty(_ms_since(started))
        gen = self._current()
        searcher = gen.index.searcher()
        tquery = build_query(gen.schema, plan, query)

        order_by, order = None, tantivy.Order.Desc
        if query.sort == "newest" or (query.sort == "relevance" and plan.mode is Mode.BROWSE):
            order_by = "sort_time"
        elif query.sort == "deadline":
            order_by, order = "deadline", tantivy.Order.Asc
        kwargs = {"order_by_field": order_by, "order": order} if order_by else {}
        found = searcher.search(tquery, query.page_size, count=True, offset=query.offset, **kwargs)

        hits = []
        for key, address in found.hits:
            doc = from_stored(searcher.doc(address))
            marked = highlight(doc, plan.highlight)
            score = float(key) if order_by is None else 0.0
            hits.append(
                SearchHit(
                    id=doc.id,
                    kind=doc.kind,
                    listing_id=doc.listing_id,
                    score=score,
                    title_html=marked.title_html,
                    snippet_html=marked.snippet_html,
                    matched_terms=marked.matched_terms,
                )
            )
        facets = facet_counts(searcher.aggregate(tquery, facet_request())) if query.facets else {}
        return SearchResult(hits=hits, total=found.count or 0, facets=facets, took_ms=_ms_since(started))

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        gen = self._current()
        searcher = gen.index.searcher()
        found = searcher.search(tantivy.Query.term_set_query(gen.schema, "id", ids), len(ids), count=False)
        docs = (from_stored(searcher.doc(address)) for _, address in found.hits)
        return {doc.id: doc for doc in docs}

    def document_ids(self) -> set[str]:
        searcher = self._current().index.searcher()
        if searcher.num_docs == 0:
            return set()
        found = searcher.search(tantivy.Query.all_query(), searcher.num_docs, count=False)
        return {searcher.doc(address).get_first("id") for _, address in found.hits}

    def doc_count(self) -> int:
        return self._current().index.searcher().num_docs

    def term_doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        searcher = self._current().index.searcher()
        out = {}
        for term in terms:
            norm = normalise(term)
            out[term] = searcher.doc_freq("all_t", norm) if norm and " " not in norm else 0
        return out

    # -- generations -------------------------------------------------------------------

    def _current(self) -> _Generation:
        """The live generation, following `CURRENT` if another process swapped it."""
        stamp = self._stamp()
        gen = self._gen
        if gen is not None and stamp == self._pointer_stamp:
            return gen
        with self._lock:
            name = self._read_pointer()
            if name is None:
                raise SearchUnavailable(f"no search index at {self.root}; run ensure_ready or reindex")
            if not name.startswith(f"v{SCHEMA_VERSION}-"):
                raise SearchUnavailable(f"search index {name} has an old format; run `scenematch reindex`")
            if self._gen is None or self._gen.name != name:
                old = self._gen
                self._gen = _Generation(self.root / name)
                if old is not None:
                    old.release_writer()
            self._pointer_stamp = stamp
            return self._gen

    def _stamp(self) -> int | None:
        try:
            st = os.stat(self.root / POINTER)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns ^ st.st_ino

    def _read_pointer(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def _write_pointer(self, name: str) -> None:
        tmp = self.root / f".{POINTER}.{secrets.token_hex(4)}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / POINTER)

    def _new_generation_path(self) -> Path:
        path = self.root / f"v{SCHEMA_VERSION}-{time.time_ns()}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        return path

    def _remove_old_generations(self, keep: set[str]) -> None:
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith("v") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
                log.info("removed old search index generation %s", child.name)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
