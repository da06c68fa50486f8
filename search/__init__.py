"""Search and matching for scenematch, independent of the web framework.

engine = create_engine("embedded", data_dir=Path("var/search"), index_name="listings")
engine.ensure_ready()
engine.upsert([ListingDocument(...)])
result = engine.search(SearchQuery(text="智慧农业", statuses=["published"]))
suggestions = match(engine, opportunity_doc, "offering")
"""

from .engine import (
    FACETS,
    KINDS,
    SORTS,
    STATUSES,
    ListingDocument,
    SearchEngine,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from .factory import create_engine
from .matching import Match, MatchReasons, extract_key_terms, match
from .text import normalise, query_tokens, strip_pinyin_annotations

__all__ = [
    "FACETS",
    "KINDS",
    "SORTS",
    "STATUSES",
    "ListingDocument",
    "Match",
    "MatchReasons",
    "SearchEngine",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "create_engine",
    "extract_key_terms",
    "match",
    "normalise",
    "query_tokens",
    "strip_pinyin_annotations",
]
