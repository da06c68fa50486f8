"""The embedded engine: an on-disk tantivy index, used when no Meilisearch is configured.

Layout under `data_dir/<index_name>/`: one directory per index generation
(`v<schema>-<time>-<random>`) and a `CURRENT` file naming the live one. `rebuild` fills
a new generation and swaps it in by rewriting `CURRENT` atomically, so readers always
see a complete index; the previous generation is kept until the next rebuild because
another process may still be reading it.

Writes go through one tantivy writer per generation, taken lazily so that a process that
only searches never holds the index lock. A generation keeps the schema version it was
built with (the `v<schema>` prefix): older readable versions keep working, with their
own schema, until the next rebuild creates a current one.

Several processes on one host share the index (`scenematch serve --workers N`): one of
them writes (the elected writer, `backend/kit/election.py`), the others only search.
Their readers reload on each commit of the writer: every search first checks the index's
meta file (`_Generation.follow_commits`, one stat), and `_current`
follows `CURRENT` when a rebuild swaps generations, so every process answers the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tantivy

from .engine import ListingDocument, SearchHit, SearchQuery, SearchResult, SearchUnavailable
from .facet_bits import FacetBits
from .highlight import highlight
from .plan import Mode, QueryPlan, plan_query, with_fallbacks, without_subtokens
from .suggest import VocabularyCache
from .tantivy_index import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    SET_FACETS_MIN_DOCS,
    SET_FIELDS,
    FacetLayout,
    IndexFields,
    build_query,
    build_schema,
    facet_counts,
    facet_request,
    from_stored,
    from_stored_prepared,
    index_fields,
    index_fields_batch,
    make_document,
    needs_version,
    to_tantivy,
    total_count,
)
from .text import has_cjk, looks_like_pinyin, normalise
from .vectors import VectorStore

log = logging.getLogger(__name__)

POINTER = "CURRENT"
VECTORS_DIR = "vectors"
WRITER_HEAP = 64_000_000
REBUILD_HEAP = 256_000_000
# Segmentation is Python work and holds the GIL, so a large rebuild spreads it over worker
# processes while this process feeds tantivy. Below the threshold, starting the workers
# (about a second) costs more than it saves.
PARALLEL_REBUILD_MIN_DOCS = 5_000
REBUILD_CHUNK = 500
# See `_common_words`.
SUBTOKEN_FALLBACK_MAX_DOCS = 100
# See `_fallbacks`: a query word the index holds whole in fewer listings than this is
# also looked for inside longer words / as pinyin parts.
RECALL_FALLBACK_MAX_DOCS = 3


class _Generation:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.version = _version_of(path.name)
        self.schema = build_schema(self.version)
        try:
            self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
            self.bits = FacetBits(path)
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot open search index {path}: {exc}") from exc
        self.writer: tantivy.IndexWriter | None = None
        self.vector_stores: dict[str, VectorStore] = {}
        self._meta_stamp = self._meta()

    def _meta(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path / "meta.json")
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def follow_commits(self) -> None:
        """See another process's commit at once. tantivy's own reload policy polls the meta file
        every 500 ms, which was a quarter of the index lag under load (bench/load.py); tantivy
        replaces meta.json on each commit, so one stat per search tells whether to reload."""
        stamp = self._meta()
        if stamp != self._meta_stamp:
            self._meta_stamp = stamp
            self.index.reload()

    def vectors(self, model: str) -> VectorStore:
        store = self.vector_stores.get(model)
        if store is None:
            store = self.vector_stores[model] = VectorStore(self.path / VECTORS_DIR, model)
        return store

    def facet_layout(self, num_docs: int) -> FacetLayout:
        """How a search of this generation counts each facet (see `tantivy_index`)."""
        if self.version < 2 or num_docs < SET_FACETS_MIN_DOCS:
            return {}
        layout: FacetLayout = {}
        for facet in SET_FIELDS:
            layout[facet] = self.bits.fields_in_use(facet) if self.version >= 3 and self.bits.usable(facet) else "set"
        return layout

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
        self._vocabulary = VocabularyCache()

    # -- lifecycle ---------------------------------------------------------------------

    def ensure_ready(self) -> None:
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            if self._read_pointer() is None:
                # Several processes may start at once on an empty folder: one creates the
                # index, the others wait for it and open the same one.
                with open(self.root / ".create.lock", "a") as guard:
                    fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
                    if self._read_pointer() is None:
                        gen = _Generation(self._new_generation_path())
                        gen.get_writer().commit()  # an empty but valid index on disk
                        gen.release_writer()
                        self._write_pointer(gen.name)
            self._current()

    def release_writer(self) -> None:
        """Give up the index writer (this process is no longer the one that writes); reads go on."""
        with self._lock:
            if self._gen is not None:
                self._gen.release_writer()

    def generation(self) -> tuple[str, tuple[int, int, int] | None] | None:
        """What names the index as searches see it now; it changes with every commit and rebuild,
        whichever process made it (two `stat`s). None until a search has opened the index, or
        while a rebuild's swap is pending: then it cannot tell."""
        gen = self._gen
        if gen is None or self._stamp() != self._pointer_stamp:
            return None
        return gen.name, gen._meta()

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
        fields_ = [index_fields(d) for d in docs]  # segmentation outside the lock
        with self._lock:
            gen = self._current()
            prepared = [make_document(d, f, gen.version, gen.bits) for d, f in zip(docs, fields_, strict=True)]
            self._apply_upsert(gen.get_writer(), docs, prepared)
            gen.bits.save()
            self._commit(gen)
            self._vocabulary.invalidate()
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
            self._vocabulary.invalidate()
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
                for doc, prepared in _segmented(docs):
                    if doc.id in seen:
                        writer.delete_documents_by_term("id", doc.id)
                    seen.add(doc.id)
                    writer.add_document(make_document(doc, prepared, gen.version, gen.bits))
                gen.bits.save()
                writer.commit()
                with self._lock:
                    for op, payload in self._journal:
                        if op == "upsert":
                            self._apply_upsert(writer, payload, [to_tantivy(d, gen.version, gen.bits) for d in payload])
                        else:
                            for doc_id in payload:
                                writer.delete_documents_by_term("id", doc_id)
                    gen.bits.save()
                    writer.commit()
                    gen.release_writer()
                    gen.index.reload()
                    previous = self._gen
                    if previous is not None:
                        _carry_vectors(previous, gen)
                    self._write_pointer(gen.name)
                    self._vocabulary.invalidate()
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
        if plan.mode is Mode.NOTHING or query.ids == []:
            return SearchResult.empty(_ms_since(started))
        gen = self._current()
        if gen.version < needs_version(query):
            raise SearchUnavailable(
                f"search index {gen.name} predates budget filters and these sorts; run `scenematch reindex`"
            )
        searcher = gen.index.searcher()
        plan = without_subtokens(plan, _common_words(searcher, plan))
        if plan.mode is Mode.TEXT:
            plan = with_fallbacks(plan, *_fallbacks(searcher, plan))
        tquery = build_query(gen.schema, plan, query)

        order_by, order = None, tantivy.Order.Desc
        if query.sort == "newest" or (query.sort == "relevance" and plan.mode is Mode.BROWSE):
            order_by = "sort_time"
        elif query.sort == "deadline":
            order_by, order = "deadline", tantivy.Order.Asc
        elif query.sort == "updated":
            order_by = "updated_time"
        elif query.sort == "maturity":
            order_by = "maturity_time"
        kwargs: dict[str, Any] = {"order_by_field": order_by, "order": order} if order_by else {}
        facets: dict[str, dict[str, int]] = {}
        counting: Future | None = None
        if query.facets:
            # Facets and the total come from one aggregation over the unscored form of the
            # query (the same documents, each word looked up once); the ranked search then
            # only collects its page. tantivy releases the GIL for both, so the counting
            # runs on the other core while this thread ranks, fetches and highlights.
            counting = _counting_pool().submit(
                _count, gen, searcher, build_query(gen.schema, plan, query, scored=False)
            )
            found = searcher.search(tquery, query.page_size, count=False, offset=query.offset, **kwargs)
        else:
            found = searcher.search(tquery, query.page_size, count=True, offset=query.offset, **kwargs)
            total = getattr(found, "count", None) or 0  # tantivy's stub omits `count`

        hits = []
        for key, address in found.hits:
            score = float(key) if order_by is None else 0.0
            if not query.highlight:
                doc = from_stored(searcher.doc(address))
                hits.append(SearchHit(doc.id, doc.kind, doc.listing_id, score, "", "", [], document=doc))
                continue
            doc, prepared = from_stored_prepared(searcher.doc(address))
            marked = highlight(doc, plan.highlight, prepared=prepared)
            hits.append(
                SearchHit(
                    id=doc.id,
                    kind=doc.kind,
                    listing_id=doc.listing_id,
                    score=score,
                    title_html=marked.title_html,
                    snippet_html=marked.snippet_html,
                    matched_terms=marked.matched_terms,
                    document=doc,
                )
            )
        if counting is not None:
            facets, total = counting.result()
        return SearchResult(hits=hits, total=total, facets=facets, took_ms=_ms_since(started))

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        gen = self._current()
        searcher = gen.index.searcher()
        found = searcher.search(tantivy.Query.term_set_query(gen.schema, "id", ids), len(ids), count=False)
        docs = (from_stored(searcher.doc(address)) for _, address in found.hits)
        return {doc.id: doc for doc in docs}

    def suggest(self, text: str, *, kind: str | None = None, limit: int = 5) -> list[str]:
        return self._vocabulary.suggest(self, text, kind=kind, limit=limit)

    def document_ids(self) -> set[str]:
        searcher = self._current().index.searcher()
        if searcher.num_docs == 0:
            return set()
        found = searcher.search(tantivy.Query.all_query(), searcher.num_docs, count=False)
        return {i for _, address in found.hits if isinstance(i := searcher.doc(address).get_first("id"), str)}

    def doc_count(self) -> int:
        return self._current().index.searcher().num_docs

    def vector_store(self, model: str) -> VectorStore:
        """The listing vectors of the live generation for `model` (see `vectors.py`)."""
        return self._current().vectors(model)

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
            gen.follow_commits()
            return gen
        with self._lock:
            name = self._read_pointer()
            if name is None:
                raise SearchUnavailable(f"no search index at {self.root}; run ensure_ready or reindex")
            if _version_of(name) not in READABLE_VERSIONS:
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


def _carry_vectors(previous: _Generation, gen: _Generation) -> None:
    """Give a rebuilt generation the vectors of the one it replaces: they are keyed by
    content hash, so only listings whose text changed are embedded again."""
    source = previous.path / VECTORS_DIR
    if not source.is_dir():
        return
    for model_dir in source.iterdir():
        if model_dir.is_dir():
            try:
                previous.vectors(model_dir.name).copy_to(gen.path / VECTORS_DIR)
            except OSError as exc:
                log.warning("vectors of %s not carried over (%s); they will be computed again", model_dir.name, exc)


def _count(
    gen: _Generation, searcher: tantivy.Searcher, matching: tantivy.Query
) -> tuple[dict[str, dict[str, int]], int]:
    """Facet counts and the total of the documents `matching` finds."""
    layout = gen.facet_layout(searcher.num_docs)
    aggregation = searcher.aggregate(matching, facet_request(True, layout))
    return facet_counts(aggregation, layout, gen.bits), total_count(aggregation)


def _common_words(searcher: tantivy.Searcher, plan: QueryPlan) -> set[str]:
    """Query words that enough listings hold whole that their parts need not be searched.

    Matching the parts (智慧 and 农业 anywhere for 智慧农业) is a fallback for words the
    index rarely holds whole; for a word in hundreds of listings it only adds weaker
    results after them, and intersecting two common parts is the slowest work a query
    can ask for.
    """
    return {
        c.term for c in plan.clauses if c.subtokens and searcher.doc_freq("all_t", c.term) >= SUBTOKEN_FALLBACK_MAX_DOCS
    }


def _fallbacks(searcher: tantivy.Searcher, plan: QueryPlan) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    """Recall fallbacks for the query words the index holds whole in fewer than
    `RECALL_FALLBACK_MAX_DOCS` listings (the word query finds too little):

    - a Chinese word of two or more characters is also matched inside longer indexed
      words (`孪生体` in `数字孪生体`, which the dictionary keeps whole), at a lower weight;
    - a pinyin word that no listing holds is split into pinyin words that listings do
      hold (`shuiwujiance` → `shuiwu jiance`), all of which must match.

    Only rare words pay for this, so common queries cost what they did (the substring
    match walks the word dictionary; see bench/README.md for its cost).
    """
    substring: set[str] = set()
    parts: dict[str, tuple[str, ...]] = {}
    for clause in plan.clauses:
        term = clause.term
        if has_cjk(term) and len(term) >= 2 and term.isalpha():
            if searcher.doc_freq("all_t", term) < RECALL_FALLBACK_MAX_DOCS:
                substring.add(term)
        elif clause.pinyin and searcher.doc_freq("pinyin_t", term) == 0:
            split = _pinyin_split(searcher, term)
            if split:
                parts[term] = split
    return substring, parts


def _pinyin_split(searcher: tantivy.Searcher, word: str) -> tuple[str, ...]:
    """The fewest pinyin words held by the index that `word` is made of, or ()."""
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(2, n + 1):
        for start in range(max(0, end - 24), end - 1):
            head = best[start]
            piece = word[start:end]
            if head is None or len(piece) < 2 or (len(piece) >= 4 and not looks_like_pinyin(piece)):
                continue
            candidate = (*head, piece)
            current = best[end]
            if (current is None or len(candidate) < len(current)) and searcher.doc_freq("pinyin_t", piece) > 0:
                best[end] = candidate
    found = best[n]
    return found if found is not None and len(found) >= 2 else ()


_COUNTING_POOL: ThreadPoolExecutor | None = None
_COUNTING_POOL_LOCK = threading.Lock()


def _counting_pool() -> ThreadPoolExecutor:
    """Threads for facet aggregations, shared by every engine in the process.

    Only aggregations run here and they never wait on the pool, so a search waiting for
    one cannot deadlock it; when every thread is busy an aggregation queues, which costs
    latency under load, never correctness.
    """
    global _COUNTING_POOL
    if _COUNTING_POOL is None:
        with _COUNTING_POOL_LOCK:
            if _COUNTING_POOL is None:
                _COUNTING_POOL = ThreadPoolExecutor(max(2, _rebuild_workers()), thread_name_prefix="search-facets")
    return _COUNTING_POOL


def _version_of(name: str) -> int:
    """`v2-<time>-<random>` → 2 (0 when the name is not a generation's)."""
    head = name.split("-", 1)[0]
    return int(head[1:]) if head[:1] == "v" and head[1:].isdigit() else 0


def _rebuild_workers() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus, 8)


def _segmented(docs: Iterable[ListingDocument]) -> Iterator[tuple[ListingDocument, IndexFields]]:
    """Each document with its segmented fields, in input order."""
    docs = docs if isinstance(docs, list) else list(docs)
    workers = _rebuild_workers()
    if len(docs) < PARALLEL_REBUILD_MIN_DOCS or workers < 2:
        for doc in docs:
            yield doc, index_fields(doc)
        return
    chunks = [docs[i : i + REBUILD_CHUNK] for i in range(0, len(docs), REBUILD_CHUNK)]
    pool = _SegmenterPool(workers)
    pool.feed(chunks)
    try:
        for number, chunk in enumerate(chunks):
            results = pool.result(number) if pool.alive else None
            if results is None:
                results = index_fields_batch(chunk)
            yield from zip(chunk, results, strict=True)
    finally:
        pool.close()


class _SegmenterPool:
    """Worker processes that segment chunks of documents (`python -m search.segment_worker`).

    Plain subprocesses rather than `multiprocessing`: spawning through multiprocessing
    re-imports the caller's main script in every worker, which is not ours to run. Chunk
    `n` goes to worker `n % size`; a feeder thread per worker writes its chunks (so a full
    pipe never blocks the reader) and results are read back in chunk order. Any failure
    makes `result` return None and the caller segments in-process.
    """

    def __init__(self, size: int) -> None:
        import subprocess
        import sys

        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.alive = True
        self.procs: list = []
        self.chunks: list[list[list[ListingDocument]]] = [[] for _ in range(size)]
        try:
            for _ in range(size):
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "search.segment_worker"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        env=env,
                    )
                )
        except OSError as exc:
            log.warning("parallel rebuild unavailable (%s); segmenting in this process", exc)
            self.alive = False
        self.size = size
        self.feeders: list[threading.Thread] = []

    def feed(self, chunks: list[list[ListingDocument]]) -> None:
        if not self.alive:
            return
        for worker, proc in enumerate(self.procs):
            mine = chunks[worker :: self.size]
            thread = threading.Thread(target=_feed, args=(proc, mine), daemon=True, name=f"segment-feed-{worker}")
            thread.start()
            self.feeders.append(thread)

    def result(self, number: int) -> list[IndexFields] | None:
        from .segment_worker import read_frame

        try:
            payload = read_frame(self.procs[number % self.size].stdout)
        except (OSError, EOFError, ValueError) as exc:
            log.warning("rebuild worker failed (%s); segmenting in this process", exc)
            self.close()
            return None
        if isinstance(payload, BaseException):
            log.warning("rebuild worker failed (%r); segmenting in this process", payload)
            self.close()
            return None
        return payload

    def close(self) -> None:
        self.alive = False
        for proc in self.procs:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            try:
                proc.wait(timeout=5)
            except Exception:
                proc.kill()
                proc.wait()
        self.procs = []


def _feed(proc, chunks: list[list[ListingDocument]]) -> None:
    from .segment_worker import write_frame

    try:
        for chunk in chunks:
            write_frame(proc.stdin, chunk)
        proc.stdin.close()
    except (OSError, ValueError):
        pass  # the worker died or the pool was closed; the reader notices


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
