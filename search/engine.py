"""The search engine interface and the values that cross it.

Both engines (embedded tantivy, Meilisearch) implement `SearchEngine`; the web layer and
the sync worker only see this module. Methods are synchronous: callers run them in a
worker thread.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

Kind = Literal["opportunity", "offering"]
Sort = Literal["relevance", "newest", "deadline", "updated", "maturity"]

KINDS = ("opportunity", "offering")
STATUSES = ("draft", "pending_review", "published", "closed", "withdrawn")
SORTS = ("relevance", "newest", "deadline", "updated", "maturity")
# "maturity" orders offerings from 成熟产品 down to 概念方案 (no maturity last), newest first within one.
MATURITY_RANKS = {"mature": 4, "pilot": 3, "prototype": 2, "concept": 1}
FACETS = ("track", "domain", "region")
MAX_PAGE_SIZE = 100


class SearchUnavailable(Exception):
    """The engine cannot be reached or used; the web layer answers 503."""


@dataclass(slots=True)
class ListingDocument:
    """One opportunity or offering as the engines index it."""

    id: str
    kind: str
    listing_id: int
    title: str
    description: str = ""
    organisation: str = ""
    region: str | None = None
    place: str = ""
    tracks: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    status: str = "draft"
    batch: int | None = None
    published_at: int | None = None
    created_at: int = 0
    deadline: int | None = None
    maturity: str | None = None
    extra_text: str = ""
    # Opportunities' budget in 万元 as parsed (either bound may be open); None, None when
    # there is none (面议) and on offerings.
    budget_min: float | None = None
    budget_max: float | None = None
    # Last change of the listing (unix seconds): what "updated" orders by.
    updated_at: int = 0
    # The words the engine indexed for the title, labels and texts, space-separated. Engines
    # fill it when they store a document, so matching can compare a candidate's vocabulary
    # without segmenting its text again; empty on documents built from the database, and
    # not part of the listing's identity (equality, `to_dict`).
    words: str = field(default="", compare=False, repr=False)

    @staticmethod
    def make_id(kind: str, listing_id: int) -> str:
        return f"{kind}-{listing_id}"

    @property
    def sort_time(self) -> int:
        """What "newest" orders by: publication time, or creation time for unpublished."""
        return self.published_at if self.published_at is not None else self.created_at

    @property
    def has_budget(self) -> bool:
        return self.budget_min is not None or self.budget_max is not None

    @property
    def maturity_rank(self) -> int:
        return MATURITY_RANKS.get(self.maturity or "", 0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["words"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListingDocument:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True)
class SearchQuery:
    """Values within one facet are OR-ed; different facets are AND-ed."""

    text: str = ""
    kind: str | None = None
    tracks: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    batch: int | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20
    facets: bool = True
    exclude_ids: list[str] = field(default_factory=list)
    # Only these documents (saved-search alerts run a search over the listings just published).
    # None means no restriction; an empty list finds nothing.
    ids: list[str] | None = None
    # Weighted key terms, OR-ed, used by matching instead of `text`.
    terms: list[tuple[str, float]] = field(default_factory=list)
    # Only documents without a deadline or with deadline >= open_at (unix seconds).
    open_at: int | None = None
    # Only documents with a deadline, and that deadline within [deadline_from, deadline_to]
    # (unix seconds, either bound optional).
    deadline_from: int | None = None
    deadline_to: int | None = None
    # Only documents with a budget whose range meets [budget_from, budget_to) (万元, either
    # bound optional; see `budget_matches`).
    budget_from: float | None = None
    budget_to: float | None = None
    # False: hits carry their document but no marked title, snippet or matched terms
    # (matching re-ranks a pool of candidates and explains only the few it keeps).
    highlight: bool = True

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {self.sort!r}")
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        self.page = max(1, int(self.page))
        self.page_size = min(MAX_PAGE_SIZE, max(1, int(self.page_size)))

    @property
    def has_deadline_range(self) -> bool:
        return self.deadline_from is not None or self.deadline_to is not None

    @property
    def has_budget_range(self) -> bool:
        return self.budget_from is not None or self.budget_to is not None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def is_browse(self) -> bool:
        """No text and no terms: list by recency."""
        return not self.text.strip() and not self.terms


def budget_matches(low: float | None, high: float | None, start: float | None, end: float | None) -> bool:
    """Whether a budget of `low`–`high` (either open) falls in the range `start`–`end`.

    The ranges people pick (100–500万, 500–1000万) share their bounds, so a budget counts for
    a range when it overlaps it beyond a shared bound: 100万 exactly is in 100–500万, not in
    100万以下; 50–100万 and "100万以内" are in 100万以下 only. Every engine and the database
    express this same rule: with `lo` = low or 0 and `hi` = high or ∞,
    `lo < end` and (`hi > start` or `lo >= start`).
    """
    if low is None and high is None:
        return False
    lo = low if low is not None else 0.0
    hi = high if high is not None else float("inf")
    if end is not None and not lo < end:
        return False
    return start is None or hi > start or lo >= start


@dataclass(slots=True)
class SearchHit:
    id: str
    kind: str
    listing_id: int
    score: float
    title_html: str
    snippet_html: str
    matched_terms: list[str] = field(default_factory=list)
    # The stored document, which the engine read anyway to highlight it.
    document: ListingDocument | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    took_ms: float = 0.0

    @classmethod
    def empty(cls, took_ms: float = 0.0) -> SearchResult:
        return cls(hits=[], total=0, facets={name: {} for name in FACETS}, took_ms=took_ms)


@runtime_checkable
class SearchEngine(Protocol):
    def ensure_ready(self) -> None:
        """Create the index (and apply settings) if needed. Idempotent."""

    def upsert(self, docs: Iterable[ListingDocument]) -> None:
        """Add or replace documents by id; visible to search when this returns."""

    def delete(self, ids: Iterable[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]:
        """The stored version of each known id."""

    def document_ids(self) -> set[str]: ...

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        """Build a fresh index from `docs` and swap it in; search keeps working meanwhile."""

    def doc_count(self) -> int: ...

    def term_doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        """Number of documents containing each normalised term (for idf)."""

    def suggest(self, text: str, *, kind: str | None = None, limit: int = 5) -> list[str]:
        """“您是不是要找”: completions, pinyin and corrected spellings from published documents'
        words, for a query that found nothing (search/suggest.py)."""

    def health(self) -> bool: ...

    def generation(self) -> Hashable | None:
        """What names the index's state as searches see it now, changing with every write applied
        (cheaply: it is asked on every visitor's request); None when the engine cannot tell, and
        then nothing is kept by it (backend/kit/visitor_answers.py)."""

    def close(self) -> None: ...
