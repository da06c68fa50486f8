"""“您是不是要找”: suggestions for a query that found nothing, from the words of the index.

A query such as `智慧农` (a word still being typed), `blockchian` (a typo) or `znwl` (the
initials of 智能物联) finds nothing. The suggestions come from a vocabulary of the published
documents' words (title words, track, domain and tag labels), counted per document:

- completions: vocabulary words that start with the query (`智慧农` → 智慧农业);
- pinyin: Chinese words whose initials are the query (`znwl` → 智能物联) or whose toneless
  pinyin starts with it (`zhihuinong` → 智慧农业);
- spelling: latin words, and the latin members of the synonym groups, within a small edit
  distance (`blockchian` → 区块链, through the group 区块链 / blockchain).

Only published documents feed the vocabulary, so no draft's words ever leak into a
suggestion. Engines build a `Vocabulary` from their stored documents and cache it until
the index changes; both engines share this code, so they suggest alike.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import pypinyin

from search.engine import KINDS, ListingDocument, SearchEngine
from search.text import (
    edit_distance,
    has_cjk,
    index_tokens,
    is_latin,
    is_meaningful,
    normalise,
    pinyin_of,
    synonym_groups,
    synonyms_of,
)
from search.text import words as text_words

MAX_SUGGESTIONS = 5
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@lru_cache(maxsize=100_000)
def _char_initials(run: str) -> str:
    """One initial per character of a run of Chinese characters (same length as the run)."""
    letters = pypinyin.lazy_pinyin(run, style=pypinyin.Style.FIRST_LETTER, errors="default")
    return "".join((x[:1] or "?").lower() for x in letters) if len(letters) == len(run) else "?" * len(run)


@lru_cache(maxsize=100_000)
def initials_of(word: str) -> str:
    """`智能物联` → `znwl`; empty unless every character is Chinese (initials of mixed text mislead)."""
    if len(word) < 2 or not all(has_cjk(ch) for ch in word):
        return ""
    return "".join(pypinyin.lazy_pinyin(word, style=pypinyin.Style.FIRST_LETTER, errors="ignore")).lower()


@dataclass
class Vocabulary:
    """Words of published documents with the number of documents holding each."""

    counts: Counter[str] = field(default_factory=Counter)
    # Runs of Chinese characters of the titles, for initials that span words (znwl → 智能物联).
    runs: list[str] = field(default_factory=list)
    # Each title's words in order, for completions across words (智慧农 → 智慧 + 农机 = 智慧农机).
    sequences: list[list[str]] = field(default_factory=list)

    @classmethod
    def of(cls, docs: Iterable[ListingDocument], *, kind: str | None = None) -> Vocabulary:
        counts: Counter[str] = Counter()
        runs: list[str] = []
        sequences: list[list[str]] = []
        for doc in docs:
            if doc.status != "published" or (kind is not None and doc.kind != kind):
                continue
            words = {w for w in index_tokens(doc.title) if len(w) >= 2 and is_meaningful(w)}
            words.update(normalise(label) for label in (*doc.tracks, *doc.domains, *doc.tags) if label)
            counts.update(w for w in words if w)
            runs += _CJK_RUN.findall(normalise(doc.title))
            sequences.append(text_words(doc.title))
        return cls(counts, runs, sequences)

    def _ranked(self, words: Iterable[str]) -> list[str]:
        # Common words first, then shorter ones: the likelier meaning of a few letters.
        return sorted(set(words), key=lambda w: (-self.counts.get(w, 0), len(w), w))

    def suggest(self, text: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        query = normalise(text).strip()
        if not query or len(query) > 40:
            return []
        # A query of several words: suggest for the last one (the one being typed), keep the rest.
        head, _, last = query.rpartition(" ")
        found = self._for_word(last)
        if head:
            found = [f"{head} {w}" for w in found]
        return [w for w in found if w != query][:limit]

    def _for_word(self, word: str) -> list[str]:
        if word in self.counts:
            return []
        out: list[str] = []
        if has_cjk(word):
            out += self._ranked(w for w in self.counts if len(w) > len(word) and w.startswith(word))
            out += self._joined_completions(word)
            if not out and len(word) >= 3:
                out += self._ranked(w for w in self.counts if word in w)
            return out
        if not is_latin(word) or not word.isascii():
            return out
        letters = word.replace("-", "")
        if letters.isalpha() and 2 <= len(letters) <= 10:
            out += self._ranked(w for w in self.counts if initials_of(w) == letters)
            if len(letters) >= 3:
                out += self._phrases_with_initials(letters)
        if letters.isalpha() and len(letters) >= 4:
            out += self._ranked(w for w in self.counts if has_cjk(w) and pinyin_of(w).startswith(letters))
        out += self._spelling(word)
        out += self._ranked(w for w in self.counts if is_latin(w) and len(w) > len(word) and w.startswith(word))
        return list(dict.fromkeys(out))

    def _joined_completions(self, word: str) -> list[str]:
        found: Counter[str] = Counter()
        for sequence in self.sequences:
            for i in range(len(sequence)):
                joined = sequence[i]
                for nxt in sequence[i + 1 : i + 3]:
                    joined += nxt
                    if len(joined) > 8:
                        break
                    if len(joined) > len(word) and joined.startswith(word):
                        found[joined] += 1
                        break
        return [w for w, _ in found.most_common(MAX_SUGGESTIONS)]

    def _phrases_with_initials(self, letters: str) -> list[str]:
        found: Counter[str] = Counter()
        for run in self.runs:
            initials = _char_initials(run)
            start = initials.find(letters)
            while start != -1:
                found[run[start : start + len(letters)]] += 1
                start = initials.find(letters, start + 1)
        return [w for w, _ in found.most_common(MAX_SUGGESTIONS)]

    def _spelling(self, word: str) -> list[str]:
        if len(word) < 4:
            return []
        limit = 1 if len(word) < 7 else 2
        latin = {w for w in self.counts if is_latin(w)}
        latin.update(term for group in synonym_groups() for term in group if is_latin(term))
        close = sorted((edit_distance(word, w, limit), w) for w in latin if w != word)
        out: list[str] = []
        for distance, w in close:
            if distance > limit:
                break
            # A synonym's form that the documents use (区块链 for blockchain) is the useful suggestion.
            forms = [w, *synonyms_of(w)]
            present = [f for f in forms if f in self.counts]
            out += self._ranked(present) if present else []
        return out


class VocabularyCache:
    """An engine's vocabularies (all kinds, and per kind), rebuilt when the index changes.

    The owning engine calls `invalidate()` on its own writes; writes by another process are
    picked up when the document count changes or after `max_age` seconds.
    """

    def __init__(self, max_age: float = 60.0) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._key: tuple[int, float] | None = None
        self._vocabularies: dict[str | None, Vocabulary] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._key = None

    def suggest(self, engine: SearchEngine, text: str, *, kind: str | None, limit: int) -> list[str]:
        return self._get(engine, kind).suggest(text, limit)

    def _get(self, engine: SearchEngine, kind: str | None) -> Vocabulary:
        count = engine.doc_count()
        now = time.monotonic()
        with self._lock:
            if self._key is None or self._key[0] != count or now - self._key[1] > self.max_age:
                docs = list(engine.get(engine.document_ids()).values())
                self._vocabularies = {None: Vocabulary.of(docs), **{k: Vocabulary.of(docs, kind=k) for k in KINDS}}
                self._key = (count, now)
            return self._vocabularies.get(kind) or self._vocabularies[None]
