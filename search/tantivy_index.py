"""The tantivy schema, document conversion and query translation for the embedded engine.

Text is segmented in Python (see `text.py`) and fed to tantivy space-joined through the
`whitespace` tokenizer, so tantivy never has to understand Chinese.
"""

from __future__ import annotations

import json

import tantivy

from .engine import ListingDocument, SearchQuery
from .plan import Clause, Mode, QueryPlan
from .text import index_tokens, pinyin_tokens

SCHEMA_VERSION = 1

# Documents without a deadline sort after every real one and pass "deadline >= now".
NO_DEADLINE = 2**53

# Field boosts: a word in the title says more than the same word deep in the description.
TEXT_FIELDS: dict[str, float] = {
    "title_t": 3.0,
    "labels_t": 2.0,
    "meta_t": 1.5,
    "desc_t": 1.0,
    "extra_t": 0.5,
}
PINYIN_BOOST = 0.8
SYNONYM_BOOST = 0.9
SUBTOKEN_BOOST = 0.4
FUZZY_BOOST = 0.5
FACET_FIELDS = {"track": "tracks", "domain": "domains", "region": "region"}
FACET_SIZE = 500


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in ("kind", "status", "region", "tracks", "domains"):
        sb.add_text_field(name, tokenizer_name="raw", fast=True)
    for name in ("batch", "sort_time", "deadline"):
        sb.add_integer_field(name, indexed=True, fast=True)
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("pinyin_t", tokenizer_name="whitespace", index_option="freq")
    # Every word once, without frequencies: the document-frequency source for matching.
    sb.add_text_field("all_t", tokenizer_name="whitespace", index_option="basic")
    sb.add_bytes_field("source", stored=True)
    return sb.build()


def to_tantivy(doc: ListingDocument) -> tantivy.Document:
    # Labels are joined with a full stop so two labels never fuse into one word.
    parts = {
        "title_t": index_tokens(doc.title),
        "labels_t": index_tokens("。".join([*doc.tracks, *doc.domains, *doc.tags])),
        "meta_t": index_tokens("。".join([doc.organisation, doc.place])),
        "desc_t": index_tokens(doc.description),
        "extra_t": index_tokens(doc.extra_text),
    }
    every = list(dict.fromkeys(t for tokens in parts.values() for t in tokens))

    out = tantivy.Document()
    out.add_text("id", doc.id)
    out.add_text("kind", doc.kind)
    out.add_text("status", doc.status)
    if doc.region:
        out.add_text("region", doc.region)
    for track in dict.fromkeys(doc.tracks):
        out.add_text("tracks", track)
    for domain in dict.fromkeys(doc.domains):
        out.add_text("domains", domain)
    if doc.batch is not None:
        out.add_integer("batch", doc.batch)
    out.add_integer("sort_time", doc.sort_time)
    out.add_integer("deadline", doc.deadline if doc.deadline is not None else NO_DEADLINE)
    for name, tokens in parts.items():
        out.add_text(name, " ".join(tokens))
    out.add_text("pinyin_t", " ".join(pinyin_tokens(every)))
    out.add_text("all_t", " ".join(every))
    out.add_bytes("source", json.dumps(doc.to_dict(), ensure_ascii=False).encode())
    return out


def from_stored(stored: tantivy.Document) -> ListingDocument:
    return ListingDocument.from_dict(json.loads(stored.get_first("source")))


def build_query(schema: tantivy.Schema, plan: QueryPlan, query: SearchQuery) -> tantivy.Query:
    Q, Occur = tantivy.Query, tantivy.Occur
    if plan.mode in (Mode.TEXT, Mode.TERMS):
        text_query = Q.boolean_query(
            [(Occur.Should, clause_query(schema, c)) for c in plan.clauses],
            minimum_number_should_match=plan.min_match,
        )
    else:
        text_query = Q.all_query()

    parts = [(Occur.Must, text_query)]
    # Filters must not move scores: wrap them to contribute zero.
    for f in filter_queries(schema, query):
        parts.append((Occur.Must, Q.const_score_query(f, 0.0)))
    if query.exclude_ids:
        parts.append((Occur.MustNot, Q.term_set_query(schema, "id", list(query.exclude_ids))))
    return parts[0][1] if len(parts) == 1 else Q.boolean_query(parts)


def filter_queries(schema: tantivy.Schema, query: SearchQuery) -> list[tantivy.Query]:
    Q = tantivy.Query
    filters = []
    if query.kind:
        filters.append(Q.term_query(schema, "kind", query.kind))
    for field, values in (
        ("status", query.statuses),
        ("tracks", query.tracks),
        ("domains", query.domains),
        ("region", query.regions),
    ):
        if values:
            filters.append(Q.term_set_query(schema, field, list(dict.fromkeys(values))))
    if query.batch is not None:
        filters.append(Q.term_query(schema, "batch", int(query.batch)))
    if query.open_at is not None:
        filters.append(
            Q.range_query(schema, "deadline", tantivy.FieldType.Integer, lower_bound=int(query.open_at))
        )
    return filters


def clause_query(schema: tantivy.Schema, clause: Clause) -> tantivy.Query:
    Q, Occur = tantivy.Query, tantivy.Occur
    alternatives = [_across_fields(schema, clause.term, 1.0)]
    alternatives += [_across_fields(schema, s, SYNONYM_BOOST) for s in clause.synonyms]
    if clause.subtokens:
        every = Q.boolean_query([(Occur.Must, Q.term_query(schema, "all_t", t, "basic")) for t in clause.subtokens])
        alternatives.append(Q.boost_query(every, SUBTOKEN_BOOST))
    if clause.fuzzy:
        fuzzy = Q.fuzzy_term_query(schema, "all_t", clause.term, distance=clause.fuzzy, transposition_cost_one=True)
        alternatives.append(Q.boost_query(fuzzy, FUZZY_BOOST))
    if clause.pinyin:
        alternatives.append(Q.boost_query(Q.term_query(schema, "pinyin_t", clause.term, "freq"), PINYIN_BOOST))
    combined = Q.disjunction_max_query(alternatives, tie_breaker=0.1)
    return Q.boost_query(combined, clause.weight) if clause.weight != 1.0 else combined


def _across_fields(schema: tantivy.Schema, term: str, boost: float) -> tantivy.Query:
    Q = tantivy.Query
    per_field = [Q.boost_query(Q.term_query(schema, f, term, "freq"), b * boost) for f, b in TEXT_FIELDS.items()]
    # Best field wins, the others add a little: one word repeated in every field should
    # not outrank two different words.
    return Q.disjunction_max_query(per_field, tie_breaker=0.2)


def facet_request() -> dict:
    return {name: {"terms": {"field": field, "size": FACET_SIZE}} for name, field in FACET_FIELDS.items()}


def facet_counts(aggregation: dict) -> dict[str, dict[str, int]]:
    return {
        name: {b["key"]: int(b["doc_count"]) for b in aggregation.get(name, {}).get("buckets", [])}
        for name in FACET_FIELDS
    }
