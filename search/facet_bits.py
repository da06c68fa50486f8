"""Tracks and domains as bit masks, the cheapest facet values for tantivy to count.

Counting facets is half of a search on a large index: every matching document is visited.
A document's tracks (and domains) are stored as small integers, ten names to a field, and
a terms aggregation over such a field returns at most a few hundred buckets, which are
spread over their names here. Strings (one value per name, or the whole set as one value)
cost tantivy more per document and return thousands of buckets on a varied corpus.

Which bit stands for which name is kept per index generation in `facet-bits.json`, next to
the index: names are only ever appended, the file is written before the documents that
use a new bit are committed, and a reader that meets a bit it does not know reads the
file again. The index lock allows one writer process at a time, so two processes never
hand out the same bit. Past `CAPACITY` names the facet is marked as overflowing and
searches count it from the set fields instead, which every document also carries.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from pathlib import Path

log = logging.getLogger(__name__)

FACETS = ("track", "domain")
BITS_PER_FIELD = 10
FIELDS_PER_FACET = 4
CAPACITY = BITS_PER_FIELD * FIELDS_PER_FACET
FILE_NAME = "facet-bits.json"
# A field holds at most 2**BITS_PER_FIELD distinct values.
BUCKETS_PER_FIELD = 2**BITS_PER_FIELD


def field_name(facet: str, number: int) -> str:
    return f"{facet}_bits_{number}"


def all_field_names() -> list[str]:
    return [field_name(facet, i) for facet in FACETS for i in range(FIELDS_PER_FACET)]


class FacetBits:
    """The name ↔ bit assignment of one index generation."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / FILE_NAME
        self._lock = threading.Lock()
        self._names: dict[str, list[str]] = {facet: [] for facet in FACETS}
        self._bits: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
        self._overflow: set[str] = set()
        self._decoded: dict[tuple[str, int, int], tuple[str, ...]] = {}
        self._stamp: int | None = None
        self._unsaved = False
        self._load()

    # -- writing -----------------------------------------------------------------------

    def values(self, facet: str, names: list[str]) -> list[int]:
        """The field values of a document with these names (one per field, 0 for none)."""
        out = [0] * FIELDS_PER_FACET
        for name in names:
            bit = self._bit(facet, name)
            if bit is not None:
                out[bit // BITS_PER_FIELD] |= 1 << (bit % BITS_PER_FIELD)
        return out

    def save(self) -> None:
        """Write new assignments; called before committing the documents that use them."""
        with self._lock:
            if not self._unsaved:
                return
            data = {"names": self._names, "overflow": sorted(self._overflow)}
            tmp = self.path.with_name(f".{FILE_NAME}.{secrets.token_hex(4)}")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._stamp = _stamp(self.path)
            self._unsaved = False

    def _bit(self, facet: str, name: str) -> int | None:
        with self._lock:
            bit = self._bits[facet].get(name)
            if bit is not None or facet in self._overflow:
                return bit
            if not self._unsaved:
                self._reload_if_changed()  # another process may have written since
                bit = self._bits[facet].get(name)
                if bit is not None or facet in self._overflow:
                    return bit
            names = self._names[facet]
            self._unsaved = True
            if len(names) >= CAPACITY:
                log.warning("more than %d %s names: counting them from the set field", CAPACITY, facet)
                self._overflow.add(facet)
                return None
            names.append(name)
            self._bits[facet][name] = len(names) - 1
            return len(names) - 1

    # -- reading -----------------------------------------------------------------------

    def usable(self, facet: str) -> bool:
        with self._lock:
            self._reload_if_changed()
            return facet not in self._overflow

    def fields_in_use(self, facet: str) -> int:
        with self._lock:
            return -(-len(self._names[facet]) // BITS_PER_FIELD)

    def names_of(self, facet: str, number: int, value: int) -> tuple[str, ...]:
        """The names whose bits are set in `value` of field `number`."""
        key = (facet, number, value)
        found = self._decoded.get(key)
        if found is not None:
            return found
        with self._lock:
            names = self._names[facet]
            bits = [number * BITS_PER_FIELD + i for i in range(BITS_PER_FIELD) if value >> i & 1]
            if bits and bits[-1] >= len(names):
                self._reload_if_changed()
                names = self._names[facet]
            found = tuple(names[b] for b in bits if b < len(names))
            if len(found) < len(bits):
                log.warning("facet bits of %s not in %s; counts are incomplete", facet, self.path)
            else:
                self._decoded[key] = found
            return found

    def _load(self) -> None:
        self._stamp = _stamp(self.path)
        if self._stamp is None:
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        for facet in FACETS:
            names = list(data.get("names", {}).get(facet, []))
            self._names[facet] = names
            self._bits[facet] = {name: i for i, name in enumerate(names)}
        self._overflow = set(data.get("overflow", []))
        self._decoded.clear()

    def _reload_if_changed(self) -> None:
        if not self._unsaved and _stamp(self.path) != self._stamp:
            self._load()


def _stamp(path: Path) -> int | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns ^ st.st_ino ^ st.st_size
