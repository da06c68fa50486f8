"""The Meilisearch engine (production), made to find what the embedded engine finds.

Documents are pre-normalised and pre-segmented here (`*_zh` fields of space-joined
tokens, the same tokens the embedded engine indexes), and queries go through the same
normalisation and segmentation (`plan.plan_query`). Meilisearch then only has to match
whole tokens, and the rules below make it do exactly that whatever its version:

- Every query word is sent as a phrase (`"智慧农业"`) unless it is a latin word long
  enough for typos. Meilisearch re-segments Chinese (`智慧农业` → `智慧` + `农业`); a
  phrase keeps the parts together and in order, is never dropped by the matching
  strategy, counts as one word towards Meilisearch's ten-word limit, and gets no typo
  and no prefix derivation (before v1.16 a two-character word is six bytes long and
  allowed a typo, so `智慧` found `智力`). The domain lexicon also goes in as the
  `dictionary` setting so those words are not re-split at all.
- A word that starts with a digit is written with a letter in front (`DIGIT_MARK`), in
  the documents and in queries, so that Meilisearch segments it the same in both; `+`
  and `#` are spelt out (`c++` is `cplusplus`), as Meilisearch ≥ v1.16 splits words there.
- Synonyms are expanded into the document (`syn_zh`: the synonyms of its tokens), not
  at query time: Meilisearch applies no synonyms to phrases. A change to
  `data/synonyms.txt` therefore needs a reindex, like a change of the settings.
- Text queries require every word up to three, and beyond that the same share as the
  embedded engine (`plan.min_match`): `matchingStrategy: "all"`, and for longer queries
  one federated query per subset of that many words (Meilisearch unions the documents,
  counting totals and facets once per document). A long Chinese word that few listings
  hold whole may also match by all its parts anywhere, as in the embedded engine: one
  more alternative per such word (`prepare_plan`).
- Matching's weighted key terms (any of them may match) are one federated query per
  term, weighted by the term's weight.
- `sort` is the first ranking rule, so "newest" and "deadline" order strictly; without a
  `sort` parameter the rule does nothing. `prefixSearch` is disabled.
- String filters and facets use hex-encoded copies of the values (`f_*` attributes):
  Meilisearch compares filter strings case- and whitespace-insensitively, the embedded
  engine exactly, and hex has neither case nor whitespace.

Writes: batches are sized by their UTF-8 bytes (Meilisearch refuses payloads over
100 MB by default); a rebuild fills `<index>_tmp` and swaps it in, replaying the writes
made meanwhile into it first. Each thread has its own client (the official client keeps
`Content-Type` in a dict it shares between calls). Given the master key, `ensure_ready`
creates (once) an admin key and a search key scoped to this index, and searches use the
search key; if Meilisearch did not answer at start-up, the first use does it. Settings and
request building are pure functions, testable without a server.

Listing vectors (for matching) are stored in the documents through a user-provided
embedder when an embedding model is configured: see `meili_vectors.py`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError
from meilisearch.models.task import TaskInfo

from .embedded import SUBTOKEN_FALLBACK_MAX_DOCS
from .embedding import TEXT_ONLY, listing_hash, store_name
from .engine import ListingDocument, SearchHit, SearchQuery, SearchResult, SearchUnavailable
from .highlight import highlight
from .meili_vectors import (
    HASH_FIELD,
    VECTORS_FIELD,
    MeiliVectors,
    embedder_name,
    embedders_setting,
    nearest_params,
    read_vector,
    vector_fields,
)
from .plan import Clause, Mode, QueryPlan, min_match, plan_query, without_subtokens
from .suggest import VocabularyCache
from .tantivy_index import SUBTOKEN_BOOST
from .text import has_cjk, index_tokens, lexicon, normalise, pinyin_tokens, synonyms_of, vocabulary_words

log = logging.getLogger(__name__)

TEXT_ATTRIBUTES = ["title_zh", "labels_zh", "meta_zh", "text_zh", "extra_zh"]
SEARCHABLE = [*TEXT_ATTRIBUTES, "syn_zh", "pinyin"]
# Filter values and facets: hex of the UTF-8 value (see the module docstring).
ENCODED = {"kind": "f_kind", "status": "f_status", "region": "f_region", "tracks": "f_tracks", "domains": "f_domains"}
FILTERABLE = ["id", *ENCODED.values(), "batch", "deadline", "budget_low", "budget_high"]
SORTABLE = ["sort_time", "published_at", "deadline", "created_at", "updated_at", "maturity_rank"]
FACET_ATTRIBUTES = {"track": "f_tracks", "domain": "f_domains", "region": "f_region"}
RANKING_RULES = ["sort", "words", "typo", "proximity", "attribute", "exactness"]
# Meilisearch's default payload limit is 100 MB; stay well below it.
BATCH_MAX_BYTES = 8_000_000
BATCH_MAX_DOCS = 1000
# Document ids per `get` / delete filter.
ID_CHUNK = 500
TASK_TIMEOUT_MS = 120_000
# How long `ensure_ready` waits for a settings change before letting the app start; the
# change goes on in Meilisearch and searches use the old settings until it is done.
SETTINGS_WAIT_MS = 5_000
# The upper bound of a budget that has none (万元; far above any real budget).
NO_BUDGET_MAX = 1e12
# Meilisearch ignores query words past the tenth (a phrase counts as one word).
MAX_QUERY_WORDS = 10
# Queries in one federated search (see `prepare_plan`).
MAX_FEDERATED_QUERIES = 64
# Present in every document of the current shape; an index whose documents lack it was
# written by an older adapter and answers wrongly until `scenematch reindex` rebuilds it
# (bump the name when the shape changes again).
DOCUMENT_FORMAT = "format_v4"
SEARCH_KEY_NAME = "scenematch-search-{index}"
ADMIN_KEY_NAME = "scenematch-admin-{index}"
ADMIN_ACTIONS = ["search", "documents.*", "indexes.*", "tasks.*", "settings.*", "stats.*"]


def key_uid(name: str) -> str:
    """The uid of the key called `name`, the same in every process (a UUID v4 in form, as
    Meilisearch requires): web processes starting together list no key and all create it,
    and Meilisearch refuses every creation but the first (`api_key_already_exists`). The
    key itself is derived by Meilisearch from the uid and the master key."""
    digest = hashlib.sha256(f"scenematch:{name}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def index_settings(model: str | None = None, *, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index settings for documents carrying `model`'s vectors (default: the configured
    model; `TEXT_ONLY`: none). `current`: the index's settings, whose other embedders are
    removed (`meili_vectors.embedders_setting`)."""
    settings = {
        "searchableAttributes": SEARCHABLE,
        "filterableAttributes": FILTERABLE,
        "sortableAttributes": SORTABLE,
        "displayedAttributes": ["id", "kind", "listing_id", "doc"],
        "rankingRules": RANKING_RULES,
        # Expanded into the documents instead (`syn_zh`): phrases get no synonyms.
        "synonyms": {},
        "dictionary": dictionary_setting(),
        "prefixSearch": "disabled",
        "typoTolerance": {
            "enabled": True,
            # As `text.fuzzy_distance`: latin words only (Chinese words are phrases).
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 8},
            # A typo in pinyin is a different word.
            "disableOnAttributes": ["pinyin"],
        },
        # Without this, short Chinese text is sometimes detected as Japanese.
        "localizedAttributes": [{"attributePatterns": ["*_zh"], "locales": ["cmn"]}],
        "faceting": {"maxValuesPerFacet": 500},
        "pagination": {"maxTotalHits": 10_000},
    }
    model = store_name() if model is None else model
    embedders = embedders_setting(model, (current or {}).get("embedders"))
    if embedders is not None:
        settings["embedders"] = embedders
    if model != TEXT_ONLY:
        settings["displayedAttributes"] = [*settings["displayedAttributes"], HASH_FIELD, VECTORS_FIELD]
    return settings


def dictionary_setting() -> list[str]:
    """The domain lexicon (the words `text` adds to its segmenter), so Meilisearch keeps
    them whole. Only words with a Chinese character: latin words are never split. Written
    as the documents write them (`meili_token`)."""
    return sorted(meili_token(word) for word in lexicon() if has_cjk(word))


def encode(value: object) -> str:
    """A filter or facet value as stored in the `f_*` attributes."""
    return str(value).encode("utf-8").hex()


def decode(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-8")
    except ValueError:
        return value


# Meilisearch's tokenizer glues a digit to the script before it: after Chinese text `5g`
# becomes `5` + `g` and `2024年` `2` + `0` + `2` + `4` + `年`, while the same word alone
# (as in a query phrase) stays `5g`. A letter in front makes it latin wherever it stands.
DIGIT_MARK = "n"


# Charabia 0.9 (Meilisearch ≥ v1.16) reads `+` and `#` as separators, so `c++`, `c#` and
# `c` would all be the word `c`; the embedded engine keeps them apart. Spelt out instead.
SIGNS = {"+": "plus", "#": "sharp"}


def meili_token(token: str) -> str:
    """A token as the Meilisearch documents and queries write it (see `DIGIT_MARK` and
    `SIGNS`)."""
    for sign, word in SIGNS.items():
        token = token.replace(sign, word)
    return DIGIT_MARK + token if token[:1].isdigit() else token


def _joined(tokens: Iterable[str]) -> str:
    return " ".join(meili_token(t) for t in tokens)


def to_meili(doc: ListingDocument) -> dict[str, Any]:
    """The document Meilisearch stores: one flat dict, so more attributes (an embedder's
    `_vectors`, say) are one more key here and, if searched or filtered, in the settings."""
    parts = {
        "title_zh": index_tokens(doc.title),
        "labels_zh": index_tokens("。".join([*doc.tracks, *doc.domains, *doc.tags])),
        "meta_zh": index_tokens("。".join([doc.organisation, doc.place])),
        "text_zh": index_tokens(doc.description),
        "extra_zh": index_tokens(doc.extra_text),
    }
    every = list(dict.fromkeys(t for tokens in parts.values() for t in tokens))
    present = set(every)
    synonyms = [s for s in dict.fromkeys(s for t in every for s in synonyms_of(t)) if s not in present]
    return {
        "id": doc.id,
        "kind": doc.kind,
        "listing_id": doc.listing_id,
        "f_kind": encode(doc.kind),
        "f_status": encode(doc.status),
        "f_region": encode(doc.region) if doc.region is not None else None,
        "f_tracks": [encode(t) for t in doc.tracks],
        "f_domains": [encode(d) for d in doc.domains],
        "batch": doc.batch,
        "sort_time": doc.sort_time,
        "published_at": doc.published_at,
        "created_at": doc.created_at,
        "deadline": doc.deadline,
        # The budget's bounds as the filters compare them (`build_filter`): an open lower
        # bound is 0, an open upper one a number above any budget; null without a budget,
        # which no comparison matches.
        "budget_low": (doc.budget_min or 0.0) if doc.has_budget else None,
        "budget_high": (doc.budget_max if doc.budget_max is not None else NO_BUDGET_MAX) if doc.has_budget else None,
        "updated_at": doc.updated_at,
        "maturity_rank": doc.maturity_rank,
        **{name: _joined(tokens) for name, tokens in parts.items()},
        "syn_zh": _joined(synonyms),
        DOCUMENT_FORMAT: True,
        "pinyin": " ".join(pinyin_tokens(every)),
        "doc": {
            **doc.to_dict(),
            "words": vocabulary_words(parts["title_zh"], parts["labels_zh"], parts["text_zh"], parts["extra_zh"]),
        },
    }


def quote(value: object) -> str:
    """A filter string literal: backslashes and double quotes escaped (Meilisearch ≥ 1.4)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def build_filter(query: SearchQuery) -> list[str | list[str]]:
    """Filter in Meilisearch's array form: outer items AND-ed, inner lists OR-ed.

    Every user-supplied value is hex-encoded and quoted, so it can only ever be the
    right-hand side of one equality.
    """
    out: list[str | list[str]] = []
    if query.kind:
        out.append(f"f_kind = {quote(encode(query.kind))}")
    for attribute, values in (
        ("status", query.statuses),
        ("tracks", query.tracks),
        ("domains", query.domains),
        ("region", query.regions),
    ):
        values = list(dict.fromkeys(values))
        if values:
            out.append([f"{ENCODED[attribute]} = {quote(encode(v))}" for v in values])
    if query.batch is not None:
        out.append(f"batch = {int(query.batch)}")
    if query.open_at is not None:
        out.append([f"deadline >= {int(query.open_at)}", "deadline IS NULL"])
    if query.deadline_from is not None:
        out.append(f"deadline >= {int(query.deadline_from)}")
    if query.deadline_to is not None:
        out.append(f"deadline <= {int(query.deadline_to)}")
    if query.has_budget_range:
        # `engine.budget_matches`: low < end and (high > start or low >= start); a document
        # without a budget has null bounds, which no comparison matches.
        out.append("budget_low >= 0")
        if query.budget_to is not None:
            out.append(f"budget_low < {_number(query.budget_to)}")
        if query.budget_from is not None:
            start = _number(query.budget_from)
            out.append([f"budget_high > {start}", f"budget_low >= {start}"])
    if query.exclude_ids:
        ids = ", ".join(quote(i) for i in dict.fromkeys(query.exclude_ids))
        out.append(f"id NOT IN [{ids}]")
    if query.ids is not None:
        ids = ", ".join(quote(i) for i in dict.fromkeys(query.ids))
        out.append(f"id IN [{ids}]")
    return out


def _number(value: float) -> str:
    """A filter number: never in exponent form, which the filter grammar does not read."""
    return format(float(value), "f").rstrip("0").rstrip(".") or "0"


def query_word(clause: Clause) -> str:
    """How one plan word goes into `q`: a phrase, except a latin word long enough for
    typos (which phrases would switch off)."""
    term = clause.term.replace('"', " ").strip()
    if clause.fuzzy and term.isascii():
        return meili_token(term)
    return f'"{meili_token(term)}"'


def _sort(query: SearchQuery, plan: QueryPlan) -> list[str] | None:
    if query.sort == "newest" or (query.sort == "relevance" and plan.mode is Mode.BROWSE):
        return ["sort_time:desc"]
    if query.sort == "deadline":
        return ["deadline:asc"]
    if query.sort == "updated":
        return ["updated_at:desc"]
    if query.sort == "maturity":
        return ["maturity_rank:desc", "sort_time:desc"]
    return None


def _common(query: SearchQuery, plan: QueryPlan) -> dict[str, Any]:
    """What every query of one search shares (filters, sort, retrieved attributes)."""
    params: dict[str, Any] = {"attributesToRetrieve": ["id", "kind", "listing_id", "doc"], "showRankingScore": True}
    filters = build_filter(query)
    if filters:
        params["filter"] = filters
    sort = _sort(query, plan)
    if sort:
        params["sort"] = sort
    return params


def build_search_params(query: SearchQuery, plan: QueryPlan) -> tuple[str, dict[str, Any]]:
    """The `q` string and the options of a search that is one request (browse, and text
    of at most three words, which must all match)."""
    params = {"offset": query.offset, "limit": query.page_size, **_common(query, plan)}
    if query.facets:
        params["facets"] = list(FACET_ATTRIBUTES.values())
    if plan.mode is Mode.BROWSE:
        return "", params
    params["matchingStrategy"] = "all"
    return query_string(plan.clauses[:MAX_QUERY_WORDS]), params


def query_string(clauses: Iterable[Clause]) -> str:
    """`q` for these words. It ends with a space: Meilisearch treats the last word as a
    prefix only when nothing follows it (and `prefixSearch: disabled` needs ≥ v1.12)."""
    return " ".join(query_word(c) for c in clauses) + " "


def prepare_plan(plan: QueryPlan, whole_counts: dict[str, int]) -> QueryPlan:
    """`plan` as the embedded engine runs it: a word that enough listings hold whole is
    not also searched by its parts (`embedded._common_words`), `whole_counts` being the
    `term_doc_freq` of the words that have parts. When the parts would take more queries
    than `MAX_FEDERATED_QUERIES` (long queries of long words), only whole words."""
    plan = without_subtokens(plan, {t for t, n in whole_counts.items() if n >= SUBTOKEN_FALLBACK_MAX_DOCS})
    if federated_query_count(plan) > MAX_FEDERATED_QUERIES:
        plan = without_subtokens(plan, {c.term for c in plan.clauses})
    return plan


def _alternatives(clause: Clause) -> list[tuple[str, float, int]]:
    """The ways one word may match, each a piece of `q` with its weight and its number of
    Meilisearch words: the word, and (for a long Chinese word) all of its parts anywhere,
    as the embedded engine does."""
    out = [(query_word(clause), 1.0, 1)]
    if clause.subtokens:
        parts = " ".join(f'"{meili_token(t)}"' for t in clause.subtokens)
        out.append((parts, SUBTOKEN_BOOST, len(clause.subtokens)))
    return out


def _text_subsets(plan: QueryPlan) -> Iterator[tuple[Clause, ...]]:
    clauses = list(plan.clauses[:MAX_QUERY_WORDS])
    return itertools.combinations(clauses, min_match(len(clauses)))


def _text_combinations(plan: QueryPlan) -> Iterator[tuple[tuple[str, float, int], ...]]:
    """The queries of a text search: for each subset of words that must match, each way
    its words may match. A way with more than `MAX_QUERY_WORDS` phrases is left out:
    Meilisearch would ignore the phrases past the tenth and find listings lacking them
    (three rare words of four parts each, all matched by their parts; a listing that
    holds only the parts of all three is then found by the embedded engine alone)."""
    for subset in _text_subsets(plan):
        for combination in itertools.product(*(_alternatives(c) for c in subset)):
            if sum(n for _, _, n in combination) <= MAX_QUERY_WORDS:
                yield combination


def federated_query_count(plan: QueryPlan) -> int:
    if plan.mode is Mode.TERMS:
        return sum(len(_alternatives(c)) for c in plan.clauses[:MAX_QUERY_WORDS])
    if plan.mode is Mode.TEXT:
        return sum(1 for _ in _text_combinations(plan))
    return 0


def needs_federation(plan: QueryPlan) -> bool:
    """Key terms (any may match), text where some words may be missing, and words that
    may also match by their parts: all unions, which one query cannot express."""
    if plan.mode is Mode.TERMS:
        return True
    return plan.mode is Mode.TEXT and federated_query_count(plan) > 1


def build_federated(index_uid: str, query: SearchQuery, plan: QueryPlan) -> dict[str, Any]:
    """The body of one federated multi-search for `plan` (see `needs_federation`)."""
    common = _common(query, plan)
    queries: list[dict[str, Any]] = []
    if plan.mode is Mode.TERMS:
        # Heaviest terms first: matching sends at most eight, this keeps the ten heaviest.
        clauses = sorted(plan.clauses, key=lambda c: (-c.weight, c.term))[:MAX_QUERY_WORDS]
        for clause in clauses:
            for q, weight, _ in _alternatives(clause):
                queries.append(
                    {
                        "indexUid": index_uid,
                        "q": q + " ",
                        "matchingStrategy": "all",
                        **common,
                        "federationOptions": {"weight": round(max(clause.weight * weight, 0.0001), 6)},
                    }
                )
    else:
        for combination in _text_combinations(plan):
            query_: dict[str, Any] = {
                "indexUid": index_uid,
                "q": " ".join(q for q, _, _ in combination) + " ",
                "matchingStrategy": "all",
                **common,
            }
            weight = math.prod(w for _, w, _ in combination)
            if weight != 1.0:
                query_["federationOptions"] = {"weight": round(weight, 6)}
            queries.append(query_)
    federation: dict[str, Any] = {"offset": query.offset, "limit": query.page_size}
    if query.facets:
        federation["facetsByIndex"] = {index_uid: list(FACET_ATTRIBUTES.values())}
    return {"queries": queries, "federation": federation}


def term_count_query(index_uid: str, term: str) -> dict[str, Any]:
    """One multi-search query counting the documents that hold `term` as a word: a phrase
    (no prefix, typo or synonym variants) in the text attributes (not `syn_zh`)."""
    return {
        "indexUid": index_uid,
        "q": f'"{meili_token(term)}" ',
        "limit": 0,
        "matchingStrategy": "all",
        "attributesToSearchOn": TEXT_ATTRIBUTES,
    }


def encode_documents(
    docs: Iterable[ListingDocument],
    embedder: str | None = None,
    kept: dict[str, tuple[str, list[float]]] | None = None,
) -> Iterator[bytes]:
    """Request bodies of documents (see `json_batches`). With an `embedder`, each carries
    its vector attributes: the (hash, vector) `kept` for it, else the opt-out."""
    if embedder is None:
        return json_batches(to_meili(doc) for doc in docs)
    kept = kept or {}
    return json_batches({**to_meili(doc), **vector_fields(embedder, kept.get(doc.id))} for doc in docs)


def json_batches(objects: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Request bodies, each a JSON array in UTF-8 of at most `BATCH_MAX_BYTES` (a single
    larger object goes alone) and `BATCH_MAX_DOCS` objects."""
    parts: list[bytes] = []
    size = 2
    for obj in objects:
        part = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if parts and (size + len(part) + 1 > BATCH_MAX_BYTES or len(parts) >= BATCH_MAX_DOCS):
            yield b"[" + b",".join(parts) + b"]"
            parts, size = [], 2
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield b"[" + b",".join(parts) + b"]"


def _settings_differ(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether `wanted` changes anything in `current` (as Meilisearch returns it: with
    every default filled in, and some lists in its own order)."""

    def same(have: Any, want: Any) -> bool:
        if isinstance(want, dict):
            if not want:
                return not have
            return isinstance(have, dict) and all(same(have.get(k), v) for k, v in want.items())
        if isinstance(want, list) and all(isinstance(v, str) for v in want):
            return isinstance(have, list) and (have == want or sorted(have) == sorted(want))
        return bool(have == want)

    order_matters = {"searchableAttributes", "rankingRules"}
    for key, want in wanted.items():
        have = current.get(key)
        if key in order_matters:
            if have != want:
                return True
        elif not same(have, want):
            return True
    return False


class MeiliEngine:
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_name: str = "listings",
        *,
        timeout: int = 10,
        model: str | None = None,
    ):
        """`model`: whose vectors the documents carry (default: as configured, see
        `embedding.store_name`; `TEXT_ONLY`: none)."""
        self.url = url
        self.index_name = index_name
        self.timeout = timeout
        self.model = store_name() if model is None else model
        self.embedder = embedder_name(self.model) if self.model != TEXT_ONLY else None
        self._vectors: MeiliVectors | None = None
        self._master_key = api_key
        # Until `ensure_ready` has made the scoped keys, every call uses the given key.
        self._admin_key = api_key
        self._search_key = api_key
        self._local = threading.local()
        self._lock = threading.RLock()  # writes, and the swap at the end of a rebuild
        self._rebuild_lock = threading.Lock()
        # While a rebuild runs, writes are also recorded here and replayed into the new
        # index before the swap, so a concurrent sync is not lost.
        self._journal: list[tuple[str, list[Any]]] | None = None
        # Set by `ensure_ready` when the index holds documents of an older shape.
        self._old_format = False
        # Whether `ensure_ready` has run to the end (see `_ready_first`).
        self._ready = False
        self._ready_lock = threading.Lock()
        # Suggestions (您是不是要找) from the published documents, rebuilt at most every 5 minutes.
        self._vocabulary = VocabularyCache(max_age=300.0)

    # -- clients -----------------------------------------------------------------------

    @property
    def client(self) -> meilisearch.Client:
        """This thread's client with the admin key (writes, settings, tasks)."""
        return self._thread_client("admin", self._admin_key)

    @property
    def search_client(self) -> meilisearch.Client:
        """This thread's client with the search key."""
        return self._thread_client("search", self._search_key)

    def _thread_client(self, role: str, key: str | None) -> meilisearch.Client:
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        found = clients.get(role)
        if found is None or found[0] != key:
            found = clients[role] = (key, meilisearch.Client(self.url, key, timeout=self.timeout))
        return found[1]

    @property
    def _index(self) -> meilisearch.index.Index:
        return self.client.index(self.index_name)

    # -- lifecycle ---------------------------------------------------------------------

    def ensure_ready(self) -> None:
        with _translate_errors():
            self._provision_keys()
            self._ensure_index(self.index_name, wait_ms=SETTINGS_WAIT_MS)
            stats = self._index.get_stats()
            self._old_format = bool(stats.number_of_documents) and DOCUMENT_FORMAT not in dict(
                stats.field_distribution or {}
            )
        self._ready = True
        if self._old_format:
            # As the embedded engine with an index of an old format: search answers 503.
            log.warning(
                "Meilisearch index %s holds documents of an older shape; run `scenematch reindex`", self.index_name
            )

    def _ready_first(self) -> None:
        """Run `ensure_ready` if it has not succeeded yet: the app starts even when
        Meilisearch does not answer (compose starts both at once), and without the keys and
        settings the first documents would create the index with none (Meilisearch creates
        a missing index on document addition), so that every filtered search is refused."""
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                self.ensure_ready()

    def _provision_keys(self) -> None:
        """With the master key: find or create this index's admin and search keys."""
        if not self._master_key:
            return
        master = meilisearch.Client(self.url, self._master_key, timeout=self.timeout)
        try:
            found = {k.name: k.key for k in master.get_keys({"limit": 1000}).results if k.name}
        except MeilisearchApiError as exc:
            # Not the master key (or an instance without one): use the key as given.
            log.info("Meilisearch keys not managed (%s); using the configured key for everything", exc.code)
            return
        indexes = [self.index_name, f"{self.index_name}_tmp"]
        wanted = {
            ADMIN_KEY_NAME.format(index=self.index_name): ADMIN_ACTIONS,
            SEARCH_KEY_NAME.format(index=self.index_name): ["search"],
        }
        for name, actions in wanted.items():
            if name in found:
                continue
            uid = key_uid(name)
            try:
                created = master.create_key(
                    {
                        "uid": uid,
                        "name": name,
                        "description": "scenematch: created at start-up from the master key",
                        "actions": actions,
                        "indexes": indexes,
                        "expiresAt": None,
                    }
                )
                found[name] = created.key
            except MeilisearchApiError as exc:
                # Another process starting at the same time made it first.
                if exc.code != "api_key_already_exists":
                    raise
                found[name] = master.get_key(uid).key
        self._admin_key = found[ADMIN_KEY_NAME.format(index=self.index_name)]
        self._search_key = found[SEARCH_KEY_NAME.format(index=self.index_name)]

    def _ensure_index(self, uid: str, *, wait_ms: int = TASK_TIMEOUT_MS) -> None:
        client = self.client
        try:
            client.get_index(uid)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise
            self._wait(client.create_index(uid, {"primaryKey": "id"}))
        index = client.index(uid)
        current = _plain_settings(index.get_settings())
        settings = index_settings(self.model, current=current)
        if not _settings_differ(current, settings):
            return
        # Not `index.update_settings`: it looks inside each embedder and fails on the
        # `null` that removes one.
        task = TaskInfo(**index.http.patch(f"{index.config.paths.index}/{uid}/{index.config.paths.setting}", settings))
        try:
            self._wait(task, timeout_ms=wait_ms)
        except MeilisearchTimeoutError:
            # Tasks of an index run in order, so documents sent later are indexed with the
            # new settings; searches until then use the old ones. Not a reason to fail.
            log.warning(
                "Meilisearch is still applying the settings of index %s (task %s); searches use the previous "
                "settings until it finishes",
                uid,
                task.task_uid,
            )

    def generation(self) -> None:
        """Meilisearch applies writes in its own time (tasks), with no cheap way to name the state."""
        return None

    def health(self) -> bool:
        try:
            return bool(self.client.is_healthy())
        except Exception:  # health must answer, not raise
            return False

    def close(self) -> None:
        pass

    # -- writes ------------------------------------------------------------------------

    def upsert(self, docs: Iterable[ListingDocument]) -> None:
        self._write("upsert", list(docs))

    def delete(self, ids: Iterable[str]) -> None:
        self._write("delete", list(dict.fromkeys(ids)))

    def put_vectors(self, updates: list[dict[str, Any]]) -> None:
        """Store the sync worker's vectors (partial documents, `meili_vectors.vector_updates`)."""
        self._write("vectors", updates)

    def _write(self, op: str, payload: list[Any]) -> None:
        """Apply one write to the live index, and record it for a rebuild in progress."""
        if not payload:
            return
        self._ready_first()
        with _translate_errors(), self._lock:
            self._apply(self.index_name, op, payload)
            if self._journal is not None:
                self._journal.append((op, payload))

    def _apply(self, uid: str, op: str, payload: list[Any]) -> None:
        if op == "upsert":
            self._add(uid, payload)
        elif op == "vectors":
            self._put(uid, payload)
        else:
            self._delete(uid, payload)

    def _add(self, uid: str, docs: Iterable[ListingDocument]) -> None:
        index = self.client.index(uid)
        for chunk in _batches(docs, BATCH_MAX_DOCS):
            for body in encode_documents(chunk, self.embedder, self._kept_vectors(chunk)):
                self._wait(index.add_documents_raw(body, primary_key="id", content_type="application/json"))

    def _kept_vectors(self, docs: list[ListingDocument]) -> dict[str, tuple[str, list[float]]]:
        """The stored (hash, vector) of each of `docs` whose embedded text is unchanged, read
        from the live index (also when filling the index of a rebuild)."""
        if self.embedder is None:
            return {}
        hashes = {doc.id: listing_hash(doc, self.model) for doc in docs}
        kept = {}
        for item in self.fetch(hashes, ["id", HASH_FIELD], vectors=True):
            vector = read_vector(item, self.embedder)
            if vector is not None and item.get(HASH_FIELD) == hashes.get(item["id"]):
                kept[item["id"]] = (hashes[item["id"]], vector)
        return kept

    def _put(self, uid: str, updates: list[dict[str, Any]]) -> None:
        index = self.client.index(uid)
        for body in json_batches(updates):
            # Only documents that exist: one deleted meanwhile must not come back as a stub.
            # (The client sends bytes as they are; only its annotation says str.)
            task = index.update_documents_raw(
                body,  # type: ignore[arg-type]
                primary_key="id",
                content_type="application/json",
                skip_creation=True,
            )
            self._wait(task)

    def _delete(self, uid: str, ids: list[str]) -> None:
        index = self.client.index(uid)
        for chunk in _batches(ids, ID_CHUNK):
            self._wait(index.delete_documents(filter=f"id IN [{', '.join(quote(i) for i in chunk)}]"))

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        tmp = f"{self.index_name}_tmp"
        self._ready_first()
        with self._rebuild_lock, _translate_errors():
            with self._lock:
                self._journal = []
            try:
                self._ensure_index(self.index_name)
                self._wait(self.client.delete_index(tmp))  # leftovers of an interrupted rebuild
                self._ensure_index(tmp)
                self._add(tmp, docs)
                with self._lock:
                    # Writes wait here: nothing reaches the old index after the replay.
                    for op, payload in self._journal:
                        self._apply(tmp, op, payload)
                    self._journal = None
                    self._wait(self.client.swap_indexes([{"indexes": [self.index_name, tmp]}]))
                    self._old_format = False
                    # A new store object: a running `Vectorizer` compares every listing again.
                    self._vectors = None
            finally:
                with self._lock:
                    self._journal = None
            self._wait(self.client.delete_index(tmp))

    # -- reads -------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        plan = plan_query(query)
        if plan.mode is Mode.NOTHING or query.ids == []:
            return SearchResult.empty(_ms_since(started))
        self._ready_first()
        if self._old_format:
            raise SearchUnavailable(f"Meilisearch index {self.index_name} has an old format; run `scenematch reindex`")
        with_parts = [c.term for c in plan.clauses if c.subtokens]
        if with_parts:
            plan = prepare_plan(plan, self.term_doc_freq(with_parts))
        sorted_ = _sort(query, plan) is not None
        with _translate_errors():
            if needs_federation(plan):
                body = build_federated(self.index_name, query, plan)
                raw: dict[str, Any] = dict(self.search_client.multi_search(body["queries"], body["federation"]))
                by_index = (raw.get("facetsByIndex") or {}).get(self.index_name) or {}
                distribution = by_index.get("distribution") or {}
            else:
                q, params = build_search_params(query, plan)
                raw = self.search_client.index(self.index_name).search(q, params)
                distribution = raw.get("facetDistribution") or {}
        hits = []
        for item in raw.get("hits", []):
            doc = ListingDocument.from_dict(item["doc"])
            score = 0.0 if sorted_ else _score(item)
            if not query.highlight:
                hits.append(SearchHit(doc.id, doc.kind, doc.listing_id, score, "", "", [], document=doc))
                continue
            marked = highlight(doc, plan.highlight)
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
        facets = (
            {
                name: {decode(value): int(count) for value, count in (distribution.get(attr) or {}).items()}
                for name, attr in FACET_ATTRIBUTES.items()
            }
            if query.facets
            else {}
        )
        total = raw.get("estimatedTotalHits", raw.get("totalHits", len(hits)))
        return SearchResult(hits=hits, total=int(total), facets=facets, took_ms=_ms_since(started))

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]:
        out: dict[str, ListingDocument] = {}
        for item in self.fetch(ids, ["doc"]):
            doc = ListingDocument.from_dict(item["doc"])
            out[doc.id] = doc
        return out

    def fetch(self, ids: Iterable[str], fields: list[str], *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """The stored documents of `ids` (those that exist) with `fields`, and with their
        vectors (`_vectors`) when asked."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        self._ready_first()
        with _translate_errors():
            for chunk in _batches(ids, ID_CHUNK):
                params: dict[str, Any] = {
                    "filter": f"id IN [{', '.join(quote(i) for i in chunk)}]",
                    "fields": fields,
                    "limit": len(chunk),
                }
                if vectors:
                    params["retrieveVectors"] = True
                for item in self._index.get_documents(params).results:
                    yield _as_dict(item)

    def each_document(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every stored document, with `fields`."""
        offset = 0
        self._ready_first()
        with _translate_errors():
            while True:
                page = self._index.get_documents({"fields": fields, "offset": offset, "limit": BATCH_MAX_DOCS})
                yield from (_as_dict(item) for item in page.results)
                offset += BATCH_MAX_DOCS
                if offset >= page.total:
                    return

    def vector_store(self, model: str) -> MeiliVectors | None:
        """The listing vectors in this index's documents: only for the model the documents
        carry (see `meili_vectors.py`)."""
        if self.embedder is None or model != self.model:
            return None
        if self._vectors is None:
            self._vectors = MeiliVectors(self, model)
        return self._vectors

    def vector_search(
        self, embedder: str, vector: list[float], where: SearchQuery, limit: int
    ) -> list[tuple[str, float]]:
        """The ids of the `limit` documents passing `where`'s filters nearest to `vector`,
        with their ranking scores (`meili_vectors.nearest_params`): only those with a vector."""
        self._ready_first()
        params = nearest_params(embedder, vector, build_filter(where), limit)
        with _translate_errors():
            raw = self.search_client.index(self.index_name).search("", params)
        return [(hit["id"], _score(hit)) for hit in raw.get("hits", []) if read_vector(hit, embedder) is not None]

    def suggest(self, text: str, *, kind: str | None = None, limit: int = 5) -> list[str]:
        # The same vocabulary rules as the embedded engine (search/suggest.py), from the stored
        # documents; rebuilt when the count changes or every few minutes.
        return self._vocabulary.suggest(self, text, kind=kind, limit=limit)

    def document_ids(self) -> set[str]:
        return {item["id"] for item in self.each_document(["id"])}

    def doc_count(self) -> int:
        self._ready_first()
        with _translate_errors():
            return int(self._index.get_stats().number_of_documents)

    def term_doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(dict.fromkeys(terms))
        out = dict.fromkeys(terms, 0)
        # As the embedded engine: a term that normalises to several words is no token.
        asked = {t: normalise(t).strip() for t in terms}
        asked = {t: n for t, n in asked.items() if n and " " not in n and '"' not in n}
        if not asked:
            return out
        self._ready_first()
        queries = [term_count_query(self.index_name, n) for n in asked.values()]
        with _translate_errors():
            results = self.search_client.multi_search(queries)["results"]
        for term, result in zip(asked, results, strict=True):
            out[term] = int(result.get("estimatedTotalHits", 0))
        return out

    def _wait(self, task_info: Any, *, timeout_ms: int = TASK_TIMEOUT_MS) -> None:
        task = self.client.wait_for_task(task_info.task_uid, timeout_in_ms=timeout_ms)
        if task.status == "failed":
            error = task.error or {}
            if error.get("code") == "index_not_found" and task.type == "indexDeletion":
                return  # deleting an index that is already gone
            raise SearchUnavailable(f"Meilisearch task {task.uid} ({task.type}) failed: {error.get('message')}")
        if task.status == "canceled":
            raise SearchUnavailable(f"Meilisearch task {task.uid} ({task.type}) was canceled")


def _plain_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as Meilisearch returned them: the client turns each embedder into a model."""
    embedders = settings.get("embedders") or {}
    plain = {
        name: e.model_dump(by_alias=True, exclude_none=True) if hasattr(e, "model_dump") else e
        for name, e in embedders.items()
    }
    return {**settings, "embedders": plain} if "embedders" in settings else settings


def _score(item: dict[str, Any]) -> float:
    federation = item.get("_federation") or {}
    if "weightedRankingScore" in federation:
        return float(federation["weightedRankingScore"])
    return float(item.get("_rankingScore", 0.0))


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
        raise SearchUnavailable(f"Meilisearch is not reachable: {exc}") from exc
    except MeilisearchApiError as exc:
        raise SearchUnavailable(f"Meilisearch refused the request: {exc}") from exc


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _as_dict(item: Any) -> dict[str, Any]:
    # The client wraps each JSON object in a `Document`, which iterates as its items.
    return item if isinstance(item, dict) else dict(item)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
