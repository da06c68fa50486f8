"""Map free-form categories ("气象/物联网", "5G/智慧医疗") to track and domain codes.

Imported lists use their own categories. What maps to a track (赛道) or a scenario domain
(场景领域) becomes its code; everything else stays as a tag, so no information is dropped.
"""

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from backend.taxonomy.regions import fold_text

# NFKC in fold_text turns the full-width forms into these, but the split happens before folding.
_SEPARATORS = re.compile(r"[、,，;；/／|｜\n\r\t]+")
_DECORATION = re.compile(r"[\"'“”‘’《》〈〉「」『』【】]")
_ASCII_WORD = re.compile(r"[a-z0-9]")


class Classified(NamedTuple):
    tracks: list[str]
    domains: list[str]
    tags: list[str]


def fold_label(text: str) -> str:
    """The form labels are compared in: Simplified, half-width, case-folded, no blanks or quotes."""
    return _DECORATION.sub("", fold_text(text)).casefold()


@lru_cache(maxsize=1)
def load_taxonomy() -> dict:
    """The seed taxonomy (tracks, domains, regions, organisations). Shared: do not mutate."""
    try:
        text = resources.files("seeds").joinpath("taxonomy.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        text = (Path(__file__).resolve().parents[2] / "seeds" / "taxonomy.json").read_text(encoding="utf-8")
    return json.loads(text)


class _Lexicon:
    def __init__(self, taxonomy: dict):
        self.terms: dict[str, list[tuple[str, str]]] = {}
        for kind, key in (("track", "tracks"), ("domain", "domains")):
            for entry in taxonomy.get(key, []):
                for label in [entry["name"], entry["code"], *entry.get("aliases", [])]:
                    folded = fold_label(label)
                    if not folded:
                        continue
                    targets = self.terms.setdefault(folded, [])
                    if (kind, entry["code"]) not in targets:
                        targets.append((kind, entry["code"]))
        # Longest first, so that "农业物联网" is preferred to the "物联网" inside it.
        self.by_length = sorted(self.terms, key=len, reverse=True)

    def exact(self, folded: str) -> list[tuple[str, str]]:
        return self.terms.get(folded, [])

    def contained(self, folded: str) -> list[tuple[str, str]]:
        taken = [False] * len(folded)
        found: list[tuple[int, str]] = []
        for term in self.by_length:
            if len(term) < 2:
                continue
            start = folded.find(term)
            while start != -1:
                end = start + len(term)
                if not any(taken[start:end]) and _whole_word(folded, start, end):
                    taken[start:end] = [True] * len(term)
                    found.append((start, term))
                    break
                start = folded.find(term, start + 1)
        found.sort()
        return [target for _, term in found for target in self.terms[term]]


def _whole_word(text: str, start: int, end: int) -> bool:
    # "ar" (AR) must not match inside "smart"; Chinese terms have no word boundaries to check.
    if _ASCII_WORD.match(text[start]) and start > 0 and _ASCII_WORD.match(text[start - 1]):
        return False
    return not (_ASCII_WORD.match(text[end - 1]) and end < len(text) and _ASCII_WORD.match(text[end]))


_lexicon_cache: dict[int, tuple[dict, _Lexicon]] = {}


def _lexicon_for(taxonomy: dict) -> _Lexicon:
    # An import classifies every row against the same taxonomy object; build the lexicon once.
    cached = _lexicon_cache.get(id(taxonomy))
    if cached is not None and cached[0] is taxonomy:
        return cached[1]
    lexicon = _Lexicon(taxonomy)
    if len(_lexicon_cache) > 8:
        _lexicon_cache.clear()
    _lexicon_cache[id(taxonomy)] = (taxonomy, lexicon)
    return lexicon


def split_categories(raw: str | list[str] | None) -> list[str]:
    """Split on 、 , ， ; ； / ｜ | (and line breaks); trimmed, empties removed."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    pieces: list[str] = []
    for item in items:
        if item is None:
            continue
        for piece in _SEPARATORS.split(str(item)):
            piece = " ".join(piece.split())
            if piece:
                pieces.append(piece)
    return pieces


def classify_categories(raw: str | list[str] | None, taxonomy: dict) -> Classified:
    """Track codes, domain codes and the leftover tags of a category string, in input order.

    A piece that is exactly a track or domain name or alias becomes its code(s). A piece that
    only contains one ("智慧农业平台", "VR+医疗") yields the code(s) and is also kept as a tag,
    because it says more than the code does. A piece that maps to nothing is kept as a tag.
    """
    lexicon = _lexicon_for(taxonomy)
    tracks: list[str] = []
    domains: list[str] = []
    tags: list[str] = []
    seen_tags: set[str] = set()

    for piece in split_categories(raw):
        folded = fold_label(piece)
        if not folded:
            continue
        targets = lexicon.exact(folded)
        keep_as_tag = not targets
        if not targets:
            targets = lexicon.contained(folded)
        for kind, code in targets:
            bucket = tracks if kind == "track" else domains
            if code not in bucket:
                bucket.append(code)
        if keep_as_tag and folded not in seen_tags:
            seen_tags.add(folded)
            tags.append(piece)
    return Classified(tracks, domains, tags)


def lexicon_terms(taxonomy: dict) -> list[str]:
    """Every track, domain and region name and alias, for a segmentation dictionary."""
    terms: list[str] = []
    seen: set[str] = set()

    def add(term: str | None) -> None:
        if term and term not in seen:
            seen.add(term)
            terms.append(term)

    for key in ("tracks", "domains"):
        for entry in taxonomy.get(key, []):
            add(entry["name"])
            for alias in entry.get("aliases", []):
                add(alias)
    for region in taxonomy.get("regions", []):
        add(region["name"])
        if len(region.get("short_name") or "") >= 2:
            add(region["short_name"])
    return terms
