"""Listing vectors and sentence keys stored beside an index generation.

Layout: `<generation>/vectors/<model>/` (model `text` when embeddings are off: sentence
keys only, no vectors) holding immutable segments and a `MANIFEST` naming the live ones:

- `seg-<n>.json`: one entry per listing: id, content hash (empty for a deletion), the
  embedded sentences, their keys (`embedding.sentence_key`) and where its vectors are;
- `seg-<n>.doc.npy`: listing vectors (float16), `seg-<n>.sent.npy`: sentence vectors.

Rules:
- One writer at a time (an advisory file lock), any number of readers: a segment is
  written whole before the manifest that names it is replaced atomically, so a reader
  sees a complete set; a reader notices a new manifest by its stat and loads only the new
  segments (later segments override earlier entries for the same id).
- Many small segments are merged into one when there are more than `MAX_SEGMENTS`.
- A listing is re-embedded only when its content hash changes (`hashes`), so a rebuild of
  the text index copies the vectors over (`EmbeddedEngine.rebuild`) and costs nothing.
- Nearest neighbours are found by brute force: a matrix product over every stored vector
  of the wanted kind (about 10 ms per 100k 384-d vectors on one core; see bench/).
- Sentence keys count how many listings carry each sentence, so matching can tell a
  list's shared context sentence from what one listing is about (`sentence_share`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

MANIFEST = "MANIFEST"
LOCK = ".lock"
MAX_SEGMENTS = 24
TEXT_ONLY = "text"


@dataclass(slots=True)
class Entry:
    """What is stored for one listing."""

    id: str
    hash: str  # "" marks a deletion
    sentences: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    vector: np.ndarray | None = None  # (dim,) unit vector, or None without a model
    sentence_vectors: np.ndarray | None = None  # (len(sentences), dim)


class _Segment:
    def __init__(self, directory: Path, name: str) -> None:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        self.name = name
        self.ids: list[str] = meta["ids"]
        self.hashes: list[str] = meta["hashes"]
        self.sentences: list[list[str]] = meta["sentences"]
        self.keys: list[list[str]] = meta["keys"]
        self.vrow: list[int] = meta["vrow"]  # row in doc.npy, -1 when none
        self.srow: list[int] = meta["srow"]  # first row in sent.npy, -1 when none
        doc_path = directory / f"{name}.doc.npy"
        has_vectors = doc_path.exists()
        self.doc = np.load(doc_path).astype(np.float32) if has_vectors else np.zeros((0, 0), np.float32)
        # Sentence vectors are read only to explain a few matches: mapped, not loaded.
        self.sent = np.load(directory / f"{name}.sent.npy", mmap_mode="r") if has_vectors else None
        # Entry row of each vector row, and the vector rows still live (set by the store).
        self.entry_of_vrow = np.full(len(self.doc), -1, dtype=np.int64)
        for row, vrow in enumerate(self.vrow):
            if vrow >= 0:
                self.entry_of_vrow[vrow] = row
        self.live = np.ones(len(self.doc), dtype=bool)
        self.kind_mask: dict[str, np.ndarray] = {
            kind: np.array([self.ids[i].startswith(kind + "-") for i in self.entry_of_vrow], dtype=bool)
            for kind in ("opportunity", "offering")
        }
        # Each kind's vectors on their own (contiguous), so a search multiplies only the
        # kind it wants: matching always looks for the other kind.
        self.rows_of_kind = {kind: np.flatnonzero(mask) for kind, mask in self.kind_mask.items()}
        self.doc_of_kind = {kind: np.ascontiguousarray(self.doc[rows]) for kind, rows in self.rows_of_kind.items()}
        self._position = np.zeros(len(self.doc), dtype=np.int64)
        for rows in self.rows_of_kind.values():
            self._position[rows] = np.arange(len(rows))
        self.size = len(self.doc)
        del self.doc  # kept once, split by kind

    def vector_at(self, vrow: int) -> np.ndarray:
        kind = "opportunity" if self.kind_mask["opportunity"][vrow] else "offering"
        return self.doc_of_kind[kind][self._position[vrow]]


class VectorStore:
    """The vectors of one index generation and one model (see the module docstring)."""

    def __init__(self, root: Path, model: str = TEXT_ONLY) -> None:
        self.model = model
        self.directory = Path(root) / model
        self._lock = threading.RLock()
        self._stamp: tuple[int, int, int] | None = None
        self._segments: list[_Segment] = []
        self._where: dict[str, tuple[int, int]] = {}  # id → (segment, entry row) of the live entry
        self._counts: Counter[str] = Counter()
        self._garbage: list[str] = []

    # -- reading -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Follow the manifest if a writer replaced it since the last look."""
        stamp = self._manifest_stamp()
        if stamp == self._stamp:
            return
        with self._lock:
            stamp = self._manifest_stamp()
            if stamp == self._stamp:
                return
            names = self._read_manifest()
            loaded = [s.name for s in self._segments]
            try:
                if names[: len(loaded)] != loaded:  # merged or replaced: start over
                    self._segments, self._where, self._counts = [], {}, Counter()
                    loaded = []
                for name in names[len(loaded) :]:
                    self._add(_Segment(self.directory, name))
            except FileNotFoundError:
                # A merge removed files between our reading the manifest and the segment:
                # read everything again next time.
                self._segments, self._where, self._counts, self._stamp = [], {}, Counter(), None
                return
            self._stamp = stamp

    def _add(self, segment: _Segment) -> None:
        number = len(self._segments)
        self._segments.append(segment)
        for row, doc_id in enumerate(segment.ids):
            old = self._where.pop(doc_id, None)
            if old is not None:
                self._retire(*old)
            if segment.hashes[row]:  # else a deletion: nothing stays live
                self._where[doc_id] = (number, row)
                self._counts.update(set(segment.keys[row]))

    def _retire(self, number: int, row: int) -> None:
        segment = self._segments[number]
        self._counts.subtract(set(segment.keys[row]))
        if segment.vrow[row] >= 0:
            segment.live[segment.vrow[row]] = False

    def hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """The content hash of every stored listing (or of those of `doc_ids` stored)."""
        self.refresh()
        wanted = self._where.items() if doc_ids is None else ((i, self._where[i]) for i in doc_ids if i in self._where)
        return {doc_id: self._segments[n].hashes[row] for doc_id, (n, row) in wanted}

    def __contains__(self, doc_id: object) -> bool:
        self.refresh()
        return doc_id in self._where

    def __len__(self) -> int:
        self.refresh()
        return len(self._where)

    def vector_count(self, kind: str | None = None) -> int:
        self.refresh()
        return sum(
            int((s.live & s.kind_mask[kind]).sum()) if kind else int(s.live.sum()) for s in self._segments if s.size
        )

    def vector(self, doc_id: str) -> np.ndarray | None:
        self.refresh()
        return self._vector(doc_id)

    def _vector(self, doc_id: str) -> np.ndarray | None:
        where = self._where.get(doc_id)
        if where is None:
            return None
        segment = self._segments[where[0]]
        vrow = segment.vrow[where[1]]
        return segment.vector_at(vrow) if vrow >= 0 else None

    def vectors(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]:
        # One look at the manifest for all of them (a match asks for a few hundred).
        self.refresh()
        out = {}
        for doc_id in doc_ids:
            vector = self._vector(doc_id)
            if vector is not None:
                out[doc_id] = vector
        return out

    def sentences(self, doc_id: str) -> tuple[list[str], np.ndarray | None]:
        """The embedded sentences of `doc_id` and their vectors (None without a model)."""
        self.refresh()
        where = self._where.get(doc_id)
        if where is None:
            return [], None
        segment = self._segments[where[0]]
        texts = segment.sentences[where[1]]
        start = segment.srow[where[1]]
        if start < 0 or segment.sent is None:
            return texts, None
        return texts, np.asarray(segment.sent[start : start + len(texts)], dtype=np.float32)

    def sentence_share(self, keys: Iterable[str]) -> dict[str, int]:
        """How many stored listings carry each sentence key."""
        self.refresh()
        return {key: self._counts.get(key, 0) for key in keys}

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
        """The `k` stored listings of `kind` closest to `vector`, with cosine similarities.
        Statuses and deadlines are not stored here (`statuses`, `open_at` are not applied):
        the caller filters the listings it gets."""
        self.refresh()
        excluded = set(exclude)
        vector = np.asarray(vector, dtype=np.float32)
        found: list[tuple[float, str]] = []
        for segment in self._segments:
            rows = segment.rows_of_kind.get(kind)
            if rows is None or not len(rows):
                continue
            live = segment.live[rows]
            if not live.any():
                continue
            sims = segment.doc_of_kind[kind] @ vector
            sims = np.where(live, sims, -np.inf)
            take = min(len(sims), k + len(excluded))
            top = np.argpartition(-sims, take - 1)[:take] if take < len(sims) else np.arange(len(sims))
            for position in top:
                if sims[position] == -np.inf:
                    continue
                doc_id = segment.ids[int(segment.entry_of_vrow[rows[position]])]
                if doc_id not in excluded:
                    found.append((float(sims[position]), doc_id))
        found.sort(key=lambda item: (-item[0], item[1]))
        return [(doc_id, score) for score, doc_id in found[:k]]

    # -- writing -------------------------------------------------------------------------

    def put(self, entries: Sequence[Entry]) -> None:
        """Store `entries` (new listings, changed ones, deletions) as one new segment."""
        if not entries:
            return
        with self._writing():
            names = self._read_manifest()
            name = self._write_segment(list(entries))
            names.append(name)
            if len(names) > MAX_SEGMENTS:
                names = [self._merge(names)]
            self._write_manifest(names)
        self.refresh()

    def remove(self, doc_ids: Iterable[str]) -> None:
        self.put([Entry(doc_id, "") for doc_id in doc_ids])

    def copy_to(self, other_root: Path) -> None:
        """Copy the live segments into another generation's vector directory."""
        with self._writing():
            names = self._read_manifest()
            target = Path(other_root) / self.model
            target.mkdir(parents=True, exist_ok=True)
            for name in names:
                for suffix in (".json", ".doc.npy", ".sent.npy"):
                    source = self.directory / f"{name}{suffix}"
                    if source.exists():
                        _link_or_copy(source, target / f"{name}{suffix}")
            _atomic_write(target / MANIFEST, json.dumps({"segments": names}))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / LOCK, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write_segment(self, entries: list[Entry]) -> str:
        name = f"seg-{os.getpid()}-{secrets.token_hex(4)}"
        docs: list[np.ndarray] = []
        sents: list[np.ndarray] = []
        meta: dict[str, list[Any]] = {"ids": [], "hashes": [], "sentences": [], "keys": [], "vrow": [], "srow": []}
        srow = 0
        for entry in entries:
            meta["ids"].append(entry.id)
            meta["hashes"].append(entry.hash)
            meta["sentences"].append(entry.sentences if entry.hash else [])
            meta["keys"].append(entry.keys if entry.hash else [])
            if entry.hash and entry.vector is not None and entry.sentence_vectors is not None:
                meta["vrow"].append(len(docs))
                meta["srow"].append(srow)
                docs.append(entry.vector)
                sents.append(entry.sentence_vectors)
                srow += len(entry.sentence_vectors)
            else:
                meta["vrow"].append(-1)
                meta["srow"].append(-1)
        if docs:
            _save_npy(self.directory / f"{name}.doc.npy", np.stack(docs).astype(np.float16))
            _save_npy(self.directory / f"{name}.sent.npy", np.concatenate(sents).astype(np.float16))
        _atomic_write(self.directory / f"{name}.json", json.dumps(meta, ensure_ascii=False))
        return name

    def _merge(self, names: list[str]) -> str:
        merged = VectorStore(self.directory.parent, self.model)
        for name in names:
            merged._add(_Segment(self.directory, name))
        entries = []
        for doc_id, (number, row) in merged._where.items():
            segment = merged._segments[number]
            texts = segment.sentences[row]
            vector = sentence_vectors = None
            if segment.vrow[row] >= 0 and segment.sent is not None:
                vector = segment.vector_at(segment.vrow[row])
                start = segment.srow[row]
                sentence_vectors = np.asarray(segment.sent[start : start + len(texts)], dtype=np.float32)
            entries.append(Entry(doc_id, segment.hashes[row], texts, segment.keys[row], vector, sentence_vectors))
        name = self._write_segment(entries)
        self._garbage = names
        return name

    def _write_manifest(self, names: list[str]) -> None:
        _atomic_write(self.directory / MANIFEST, json.dumps({"segments": names}))
        for old in self._garbage:
            if old not in names:
                for suffix in (".json", ".doc.npy", ".sent.npy"):
                    (self.directory / f"{old}{suffix}").unlink(missing_ok=True)
        self._garbage = []

    def _read_manifest(self) -> list[str]:
        try:
            return list(json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))["segments"])
        except FileNotFoundError:
            return []

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.directory / MANIFEST)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)


def _save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _link_or_copy(source: Path, target: Path) -> None:
    import shutil

    if target.exists():
        return
    try:
        os.link(source, target)  # segments are immutable: sharing the file is safe
    except OSError:
        shutil.copy2(source, target)


class ListingVectors(Protocol):
    """What matching and `Vectorizer` use of an engine's stored listing vectors: a
    `VectorStore` beside the embedded index, or `meili_vectors.MeiliVectors` (the vectors
    inside Meilisearch's documents, which keeps no sentences or sentence keys)."""

    def hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]: ...

    def put(self, entries: Sequence[Entry]) -> None: ...

    def remove(self, doc_ids: Iterable[str]) -> None: ...

    def __contains__(self, doc_id: object) -> bool: ...

    def vector_count(self, kind: str | None = None) -> int: ...

    def vector(self, doc_id: str) -> np.ndarray | None: ...

    def vectors(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]: ...

    def sentences(self, doc_id: str) -> tuple[list[str], np.ndarray | None]: ...

    def sentence_share(self, keys: Iterable[str]) -> dict[str, int]: ...

    def nearest(
        self,
        vector: np.ndarray,
        kind: str,
        k: int,
        exclude: Iterable[str] = (),
        *,
        statuses: Sequence[str] = (),
        open_at: int | None = None,
    ) -> list[tuple[str, float]]: ...


def store_of(engine: object, model: str = TEXT_ONLY) -> ListingVectors | None:
    """The stored vectors of `engine` for `model`: the embedded engine's live generation's
    store, Meilisearch's documents when its embedder is that model's, else None."""
    get = getattr(engine, "vector_store", None)
    return get(model) if callable(get) else None
