"""The tantivy schema, document conversion and query translation for the embedded engine.

Text is segmented in Python (see `text.py`) and fed to tantivy space-joined through the
`whitespace` tokenizer, so tantivy never has to understand Chinese.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import fields

import tantivy

from . import facet_bits
from .engine import ListingDocument, SearchQuery
from .facet_bits import FacetBits
from .highlight import Prepared
from .plan import Clause, Mode, QueryPlan
from .text import index_tokens, normalise, pinyin_tokens, vocabulary_words

# 2 added the single-valued `track_set` / `domain_set` facet fields, 3 the bit-mask ones
# (`facet_bits.py`), 4 the budget and the "updated" / "maturity" sort keys. Older indexes
# are still read, each with the fields it has, until the next rebuild; a search that needs
# a field an older index lacks (a budget filter, those sorts) is refused with "reindex"
# (`needs_version`) rather than answered as if no listing had a budget.
SCHEMA_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)

# Documents without a deadline sort after every real one and pass "deadline >= now".
NO_DEADLINE = 2**53

# Budgets are indexed in hundredths of 万元 (the database keeps two decimals), as
# integers; a budget without an upper bound is indexed with this one.
BUDGET_SCALE = 100
NO_BUDGET_MAX = 2**53
# "maturity" orders by rank, then newest: one key, rank above the publication time.
MATURITY_SHIFT = 2**34

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
# A word found only inside longer indexed words, and a pinyin query found only as its
# parts, rank below the word itself.
SUBSTRING_BOOST = 0.3
PINYIN_PARTS_BOOST = 0.6
FACET_FIELDS = {"track": "tracks", "domain": "domains", "region": "region"}
FACET_SIZE = 500
# Facet counts over a multi-valued fast field are slow in tantivy (several ms per 100k
# documents), so each document also carries its whole set of tracks (and of domains) as
# one value; the set's counts are aggregated and spread over its members in Python.
SET_FIELDS = {"track": "track_set", "domain": "domain_set"}
SET_SEPARATOR = "\x1f"
SET_BUCKETS = 65_000  # distinct sets; far more than the combinations that occur
# Below this many documents the multi-valued fields are cheaper: their cost grows with the
# matching documents, the sets' with the number of distinct sets returned to Python.
SET_FACETS_MIN_DOCS = 30_000

# How one search counts each facet: "multi" (the multi-valued field), "set" (the set
# field) or, as a number, from that many bit-mask fields.
FacetLayout = dict[str, str | int]


def build_schema(version: int = SCHEMA_VERSION) -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in ("kind", "status", "region", "tracks", "domains"):
        sb.add_text_field(name, tokenizer_name="raw", fast=True)
    if version >= 2:
        for name in SET_FIELDS.values():
            sb.add_text_field(name, tokenizer_name="raw", fast=True)
    if version >= 3:
        for name in facet_bits.all_field_names():
            sb.add_integer_field(name, fast=True)
    for name in ("batch", "sort_time", "deadline"):
        sb.add_integer_field(name, indexed=True, fast=True)
    if version >= 4:
        for name in ("budget_low", "budget_high"):
            sb.add_integer_field(name, indexed=True, fast=True)
        for name in ("updated_time", "maturity_time"):
            sb.add_integer_field(name, fast=True)
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("pinyin_t", tokenizer_name="whitespace", index_option="freq")
    # Every word once, without frequencies: the document-frequency source for matching.
    sb.add_text_field("all_t", tokenizer_name="whitespace", index_option="basic")
    sb.add_bytes_field("source", stored=True)
    return sb.build()


def _normalised(text: str, prepared: tuple[str, str, list[int] | None]) -> str:
    shown, norm, _ = prepared
    # Without annotations the shown form is the text itself and its normal form is reused.
    return norm if shown == text else normalise(text)


def to_tantivy(doc: ListingDocument, version: int = SCHEMA_VERSION, bits: FacetBits | None = None) -> tantivy.Document:
    return make_document(doc, index_fields(doc), version, bits)


# The searchable text of one document, segmented: (field name, space-joined tokens) pairs
# and the stored source. Plain Python values, so a rebuild can compute them in worker
# processes; `make_document` turns them into a tantivy document.
IndexFields = tuple[tuple[tuple[str, str], ...], bytes]


def index_fields(doc: ListingDocument) -> IndexFields:
    prepared = Prepared.of(doc)
    # Labels are joined with a full stop so two labels never fuse into one word.
    parts = {
        "title_t": index_tokens(_normalised(doc.title, prepared.title), normalised=True),
        "labels_t": index_tokens("。".join([*doc.tracks, *doc.domains, *doc.tags])),
        "meta_t": index_tokens("。".join([doc.organisation, doc.place])),
        "desc_t": index_tokens(_normalised(doc.description, prepared.body), normalised=True),
        "extra_t": index_tokens(_normalised(doc.extra_text, prepared.extra), normalised=True),
    }
    every = list(dict.fromkeys(t for tokens in parts.values() for t in tokens))
    texts = [(name, " ".join(tokens)) for name, tokens in parts.items()]
    texts.append(("pinyin_t", " ".join(pinyin_tokens(every))))
    texts.append(("all_t", " ".join(every)))
    return tuple(texts), _source(
        doc, prepared, vocabulary_words(parts["title_t"], parts["labels_t"], parts["desc_t"], parts["extra_t"])
    )


def index_fields_batch(docs: list[ListingDocument]) -> list[IndexFields]:
    return [index_fields(doc) for doc in docs]


def budget_units(amount: float) -> int:
    """万元 → the integer the index holds (`BUDGET_SCALE`)."""
    return round(amount * BUDGET_SCALE)


def maturity_key(doc: ListingDocument) -> int:
    return doc.maturity_rank * MATURITY_SHIFT + max(0, doc.sort_time)


def needs_version(query: SearchQuery) -> int:
    """The oldest schema version that can answer `query`."""
    return 4 if query.has_budget_range or query.sort in ("updated", "maturity") else 1


def _value_set(values: list[str]) -> str:
    return SET_SEPARATOR.join(sorted({v.replace(SET_SEPARATOR, " ") for v in values}))


def make_document(
    doc: ListingDocument, fields_: IndexFields, version: int = SCHEMA_VERSION, bits: FacetBits | None = None
) -> tantivy.Document:
    """`bits` (the generation's assignment) is required from version 3 on."""
    texts, source = fields_
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
    if version >= 2:
        if doc.tracks:
            out.add_text("track_set", _value_set(doc.tracks))
        if doc.domains:
            out.add_text("domain_set", _value_set(doc.domains))
    if version >= 3:
        assert bits is not None, "version 3 documents need the generation's facet bits"
        for facet, names in (("track", doc.tracks), ("domain", doc.domains)):
            for number, value in enumerate(bits.values(facet, list(dict.fromkeys(names)))):
                out.add_integer(facet_bits.field_name(facet, number), value)
    if doc.batch is not None:
        out.add_integer("batch", doc.batch)
    out.add_integer("sort_time", doc.sort_time)
    out.add_integer("deadline", doc.deadline if doc.deadline is not None else NO_DEADLINE)
    if version >= 4:
        # No budget, no budget fields: a budget range query then never finds the listing.
        if doc.has_budget:
            out.add_integer("budget_low", budget_units(doc.budget_min) if doc.budget_min is not None else 0)
            high = budget_units(doc.budget_max) if doc.budget_max is not None else NO_BUDGET_MAX
            out.add_integer("budget_high", high)
        out.add_integer("updated_time", doc.updated_at)
        out.add_integer("maturity_time", maturity_key(doc))
    for name, text in texts:
        out.add_text(name, text)
    out.add_bytes("source", source)
    return out


_DOC_FIELDS = tuple(f.name for f in fields(ListingDocument))

# The stored source also carries the highlighting preparation under this key (ignored by
# `ListingDocument.from_dict`; documents indexed without it are prepared when read).
PREPARED_KEY = "_hl"


def _source(doc: ListingDocument, prepared: Prepared, words: str) -> bytes:
    data = {name: getattr(doc, name) for name in _DOC_FIELDS}  # `to_dict` without the deep copy
    data["words"] = words
    data[PREPARED_KEY] = prepared.to_json(doc)
    return json.dumps(data, ensure_ascii=False).encode()


def _document(data: dict) -> ListingDocument:
    # `ListingDocument.from_dict` without looking up the dataclass fields on every call.
    return ListingDocument(**{name: data[name] for name in _DOC_FIELDS if name in data})


def from_stored(stored: tantivy.Document) -> ListingDocument:
    return _document(json.loads(stored.get_first("source") or "{}"))


def from_stored_prepared(stored: tantivy.Document) -> tuple[ListingDocument, Prepared | None]:
    data = json.loads(stored.get_first("source") or "{}")
    doc = _document(data)
    raw = data.get(PREPARED_KEY)
    return doc, Prepared.from_json(doc, raw) if raw else None


def build_query(schema: tantivy.Schema, plan: QueryPlan, query: SearchQuery, *, scored: bool = True) -> tantivy.Query:
    """The query for `plan` and the filters of `query`.

    `scored=False` gives a query that matches exactly the same documents but cannot rank
    them: each word is looked up once in `all_t` (which holds every token of every text
    field) instead of once per field and boost. Facet counts and totals use it: they only
    need the set of matching documents, and it is several times cheaper to evaluate.
    """
    Q, Occur = tantivy.Query, tantivy.Occur
    parts: list[tuple[tantivy.Occur, tantivy.Query]]
    if plan.mode in (Mode.TEXT, Mode.TERMS):
        make = clause_query if scored else clause_match_query
        clauses = [make(schema, c) for c in plan.clauses]
        if plan.min_match >= len(clauses):
            # Every word must match: required clauses let tantivy intersect (skipping
            # through the rarest word) instead of counting matches per document; the
            # score is the same sum.
            parts = [(Occur.Must, c) for c in clauses]
        else:
            parts = [
                (
                    Occur.Must,
                    Q.boolean_query([(Occur.Should, c) for c in clauses], minimum_number_should_match=plan.min_match),
                )
            ]
    else:
        parts = [(Occur.Must, Q.all_query())]

    # Filters must not move scores: wrap them to contribute zero.
    for f in filter_queries(schema, query):
        parts.append((Occur.Must, Q.const_score_query(f, 0.0)))
    if query.exclude_ids:
        parts.append((Occur.MustNot, any_of(schema, "id", query.exclude_ids)))
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
            filters.append(any_of(schema, field, values))
    if query.batch is not None:
        filters.append(Q.term_query(schema, "batch", int(query.batch)))
    if query.open_at is not None:
        filters.append(Q.range_query(schema, "deadline", tantivy.FieldType.Integer, lower_bound=int(query.open_at)))
    if query.has_deadline_range:
        lower = int(query.deadline_from) if query.deadline_from is not None else 0
        upper = int(query.deadline_to) if query.deadline_to is not None else NO_DEADLINE - 1
        filters.append(Q.range_query(schema, "deadline", tantivy.FieldType.Integer, lower, upper))
    if query.has_budget_range:
        filters.append(budget_query(schema, query.budget_from, query.budget_to))
    if query.ids is not None:
        filters.append(any_of(schema, "id", query.ids))  # never empty: the engines answer [] with nothing
    return filters


def budget_query(schema: tantivy.Schema, start: float | None, end: float | None) -> tantivy.Query:
    """Documents whose budget meets [start, end) as `engine.budget_matches` says:
    `budget_low < end` and (`budget_high > start` or `budget_low >= start`). Documents
    without a budget have neither field and match none of it."""
    Q, Occur, Integer = tantivy.Query, tantivy.Occur, tantivy.FieldType.Integer
    # Every document with a budget has `budget_low` (0 when only an upper bound is known).
    parts = [(Occur.Must, Q.range_query(schema, "budget_low", Integer, 0, NO_BUDGET_MAX))]
    if end is not None:
        limit = budget_units(end)
        parts.append((Occur.Must, Q.range_query(schema, "budget_low", Integer, 0, limit, include_upper=False)))
    if start is not None:
        floor = budget_units(start)
        above = Q.range_query(schema, "budget_high", Integer, floor, NO_BUDGET_MAX, include_lower=False)
        from_start = Q.range_query(schema, "budget_low", Integer, floor, NO_BUDGET_MAX)
        parts.append((Occur.Must, Q.boolean_query([(Occur.Should, above), (Occur.Should, from_start)])))
    return Q.boolean_query(parts)


# Up to this many values, a filter is a union of term queries: they skip along their
# posting lists, where a term-set query first marks every matching document in a bitset
# (about a millisecond for `status = published` over 100k listings, on every search).
TERM_UNION_MAX = 64


def any_of(schema: tantivy.Schema, field: str, values) -> tantivy.Query:
    """Documents whose `field` holds any of `values` (exact terms)."""
    Q = tantivy.Query
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return Q.term_query(schema, field, values[0])
    if len(values) <= TERM_UNION_MAX:
        return Q.boolean_query([(tantivy.Occur.Should, Q.term_query(schema, field, v)) for v in values])
    return Q.term_set_query(schema, field, values)


def clause_query(schema: tantivy.Schema, clause: Clause) -> tantivy.Query:
    Q, Occur = tantivy.Query, tantivy.Occur
    alternatives = [_across_fields(schema, clause.term, 1.0)]
    alternatives += [_across_fields(schema, s, SYNONYM_BOOST) for s in clause.synonyms]
    alternatives += [_across_fields(schema, j, SUBTOKEN_BOOST) for j in clause.joined]
    if clause.subtokens:
        every = Q.boolean_query([(Occur.Must, Q.term_query(schema, "all_t", t, "basic")) for t in clause.subtokens])
        alternatives.append(Q.boost_query(every, SUBTOKEN_BOOST))
    if clause.fuzzy:
        fuzzy = Q.fuzzy_term_query(schema, "all_t", clause.term, distance=clause.fuzzy, transposition_cost_one=True)
        alternatives.append(Q.boost_query(fuzzy, FUZZY_BOOST))
    if clause.pinyin:
        alternatives.append(Q.boost_query(Q.term_query(schema, "pinyin_t", clause.term, "freq"), PINYIN_BOOST))
    if clause.substring:
        alternatives.append(Q.boost_query(substring_query(schema, clause.term), SUBSTRING_BOOST))
    if clause.pinyin_parts:
        alternatives.append(Q.boost_query(pinyin_parts_query(schema, clause.pinyin_parts, "freq"), PINYIN_PARTS_BOOST))
    combined = Q.disjunction_max_query(alternatives, tie_breaker=0.1)
    return Q.boost_query(combined, clause.weight) if clause.weight != 1.0 else combined


def clause_match_query(schema: tantivy.Schema, clause: Clause) -> tantivy.Query:
    """The documents `clause_query` matches, unscored (see `build_query`)."""
    Q, Occur = tantivy.Query, tantivy.Occur
    alternatives = [
        Q.term_query(schema, "all_t", t, "basic") for t in dict.fromkeys((*clause.exact_terms, *clause.joined))
    ]
    if clause.subtokens:
        alternatives.append(
            Q.boolean_query([(Occur.Must, Q.term_query(schema, "all_t", t, "basic")) for t in clause.subtokens])
        )
    if clause.fuzzy:
        alternatives.append(
            Q.fuzzy_term_query(schema, "all_t", clause.term, distance=clause.fuzzy, transposition_cost_one=True)
        )
    if clause.pinyin:
        alternatives.append(Q.term_query(schema, "pinyin_t", clause.term, "basic"))
    if clause.substring:
        alternatives.append(substring_query(schema, clause.term))
    if clause.pinyin_parts:
        alternatives.append(pinyin_parts_query(schema, clause.pinyin_parts, "basic"))
    if len(alternatives) == 1:
        return alternatives[0]
    return Q.boolean_query([(Occur.Should, a) for a in alternatives])


def substring_query(schema: tantivy.Schema, term: str) -> tantivy.Query:
    """Documents holding an indexed word that contains `term` (a regex over the word
    dictionary: a fallback for rare words only, see `EmbeddedEngine.search`)."""
    pattern = ".*" + "".join(f"\\{ch}" if not ch.isalnum() else ch for ch in term) + ".*"
    return tantivy.Query.regex_query(schema, "all_t", pattern)


def pinyin_parts_query(schema: tantivy.Schema, parts: tuple[str, ...], option: str) -> tantivy.Query:
    """Documents whose pinyin field holds every one of `parts`."""
    Q = tantivy.Query
    return Q.boolean_query([(tantivy.Occur.Must, Q.term_query(schema, "pinyin_t", p, option)) for p in parts])


def _across_fields(schema: tantivy.Schema, term: str, boost: float) -> tantivy.Query:
    Q = tantivy.Query
    per_field = [Q.boost_query(Q.term_query(schema, f, term, "freq"), b * boost) for f, b in TEXT_FIELDS.items()]
    # Best field wins, the others add a little: one word repeated in every field should
    # not outrank two different words.
    return Q.disjunction_max_query(per_field, tie_breaker=0.2)


# The bucket of documents without a region; no region code looks like it.
NO_REGION = "\x1fnone"


def facet_request(with_total: bool = False, layout: FacetLayout | None = None) -> dict:
    request = {name: {"terms": {"field": field, "size": FACET_SIZE}} for name, field in FACET_FIELDS.items()}
    for name, how in (layout or {}).items():
        if how == "set":
            request[name] = {"terms": {"field": SET_FIELDS[name], "size": SET_BUCKETS}}
        elif isinstance(how, int):
            del request[name]
            for number in range(how):
                field = facet_bits.field_name(name, number)
                request[field] = {"terms": {"field": field, "size": facet_bits.BUCKETS_PER_FIELD}}
    if with_total:
        # A document has one region or none, so the region buckets (with one for "none")
        # add up to the number of matching documents: no separate count to collect.
        request["region"]["terms"]["missing"] = NO_REGION
    return request


def total_count(aggregation: dict) -> int:
    """The number of matching documents, from a `facet_request(with_total=True)` aggregation."""
    region = aggregation.get("region", {})
    return sum(int(b["doc_count"]) for b in region.get("buckets", [])) + int(region.get("sum_other_doc_count") or 0)


_SET_MEMBERS: dict[str, tuple[str, ...]] = {}


def facet_counts(
    aggregation: dict, layout: FacetLayout | None = None, bits: FacetBits | None = None
) -> dict[str, dict[str, int]]:
    layout = layout or {}
    out = {}
    for name in FACET_FIELDS:
        how = layout.get(name, "multi")
        buckets = aggregation.get(name, {}).get("buckets", [])
        if isinstance(how, int):
            assert bits is not None
            counts: defaultdict[str, int] = defaultdict(int)
            for number in range(how):
                for bucket in aggregation.get(facet_bits.field_name(name, number), {}).get("buckets", []):
                    value, n = int(bucket["key"]), bucket["doc_count"]
                    if value:
                        for member in bits.names_of(name, number, value):
                            counts[member] += n
            out[name] = _ranked(counts)
        elif how == "set":
            set_counts: defaultdict[str, int] = defaultdict(int)
            members = _SET_MEMBERS
            for bucket in buckets:
                key, n = bucket["key"], bucket["doc_count"]
                values = members.get(key)
                if values is None:
                    values = tuple(key.split(SET_SEPARATOR))
                    if len(members) < 100_000:
                        members[key] = values
                for member in values:
                    set_counts[member] += n
            out[name] = _ranked(set_counts)
        else:
            out[name] = {b["key"]: int(b["doc_count"]) for b in buckets if b["key"] != NO_REGION}
    return out


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    """As the terms aggregation would: most frequent first, at most FACET_SIZE."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_SIZE]
    return {value: int(n) for value, n in ranked}
