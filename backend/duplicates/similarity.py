"""How alike two listings of the same kind are (0–1), and why. Pure functions, no database.

The score mixes four parts, each 0–1:

- **text** (weight 0.45): weighted Jaccard over the normalised word sets of title and
  description (`search.text.words`: Traditional → Simplified, pinyin annotations stripped,
  domain lexicon). A word weighs 2 when it is in the title, 1 otherwise; the boilerplate every
  listing uses (建设, 平台, 智慧 … `search.matching.GENERIC_WORDS`) weighs a quarter, so that two
  listings are not "alike" because both 建设 a 平台.
- **title** (0.35): Dice overlap of the titles' character bigrams, which catches the same
  title written with different word breaks, punctuation or a changed character or two.
- **tracks** (0.10): Jaccard of the track sets.
- **region** (0.10): 1 when both are in the same prefecture, else 0.

A part is only counted when both sides have something to compare (a draft typed into the
create form has no tracks yet; a listing for 全国 has no region), and the weights of the
counted parts are scaled back to 1, so the score stays comparable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from search.matching import GENERIC_WORDS, same_region
from search.text import has_cjk, normalise, words

W_TEXT = 0.45
W_TITLE = 0.35
W_TRACKS = 0.10
W_REGION = 0.10

TITLE_WORD_WEIGHT = 2.0
BODY_WORD_WEIGHT = 1.0
GENERIC_FACTOR = 0.25

# At or above this, a pair is listed for the matchmakers as a likely duplicate.
LIKELY_DUPLICATE = 0.6
# At or above this, an existing listing is shown to an issuer who is typing a new one.
WORTH_SHOWING = 0.3
MAX_SHARED_WORDS = 8


@dataclass(frozen=True, slots=True)
class Profile:
    """What similarity looks at in one listing (or in a draft being typed)."""

    words: dict[str, float]
    title_bigrams: frozenset[str]
    tracks: frozenset[str]
    region: str | None


@dataclass(frozen=True, slots=True)
class Similarity:
    score: float
    text: float
    title: float
    tracks: float | None
    region: float | None
    shared_words: list[str]

    @property
    def likely_duplicate(self) -> bool:
        return self.score >= LIKELY_DUPLICATE


def _useful(word: str) -> bool:
    # A single Chinese character (需, 等) or a bare number says nothing about the topic.
    if word.isdigit():
        return False
    return len(word) >= 2 or not has_cjk(word)


def _weighted_words(title: str, description: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for source, weight in ((description, BODY_WORD_WEIGHT), (title, TITLE_WORD_WEIGHT)):
        for word in words(source or ""):
            if _useful(word):
                weights[word] = max(weights.get(word, 0.0), weight)
    return {w: v * GENERIC_FACTOR if w in GENERIC_WORDS else v for w, v in weights.items()}


def _bigrams(title: str) -> frozenset[str]:
    chars = [ch for ch in normalise(title or "") if ch.isalnum()]
    if len(chars) == 1:
        return frozenset(chars)
    return frozenset(a + b for a, b in itertools.pairwise(chars))


def profile(*, title: str, description: str = "", tracks: Iterable[str] = (), region: str | None = None) -> Profile:
    return Profile(
        words=_weighted_words(title, description),
        title_bigrams=_bigrams(title),
        tracks=frozenset(tracks),
        region=region or None,
    )


def weighted_jaccard(a: dict[str, float], b: dict[str, float]) -> float:
    union = a.keys() | b.keys()
    if not union:
        return 0.0
    top = sum(max(a.get(w, 0.0), b.get(w, 0.0)) for w in union)
    shared = sum(min(a[w], b[w]) for w in a.keys() & b.keys())
    return shared / top if top else 0.0


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity(a: Profile, b: Profile) -> Similarity:
    """Symmetric: similarity(a, b) == similarity(b, a)."""
    text = weighted_jaccard(a.words, b.words)
    title = dice(a.title_bigrams, b.title_bigrams)
    parts = [(W_TEXT, text), (W_TITLE, title)]
    tracks = None
    if a.tracks and b.tracks:
        tracks = len(a.tracks & b.tracks) / len(a.tracks | b.tracks)
        parts.append((W_TRACKS, tracks))
    region = None
    if a.region and b.region:
        region = 1.0 if same_region(a.region, b.region) else 0.0
        parts.append((W_REGION, region))
    score = sum(w * v for w, v in parts) / sum(w for w, _ in parts)
    shared = sorted(a.words.keys() & b.words.keys(), key=lambda w: (-min(a.words[w], b.words[w]), w))
    return Similarity(
        score=round(score, 4),
        text=round(text, 4),
        title=round(title, 4),
        tracks=None if tracks is None else round(tracks, 4),
        region=region,
        shared_words=shared[:MAX_SHARED_WORDS],
    )
