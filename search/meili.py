"""The Meilisearch engine (production).

Documents are pre-normalised and pre-segmented here (`*_zh` fields of space-joined
tokens) so that Meilisearch's prefix-only matching still finds `处理` inside `待处理`,
and queries go through the same normalisation. Settings are code (`index_settings`),
applied by `ensure_ready`. Request building is pure functions so it is testable
without a server.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError

from .engine import ListingDocument, SearchHit, SearchQuery, SearchResult, SearchUnavailable
from .highlight import highlight
from .plan import Mode, QueryPlan, plan_query
from .suggest import VocabularyCache
from .text import index_tokens, normalise, pinyin_tokens, synonym_groups, vocabulary_words

SEARCHABLE = ["title_zh", "labels_zh", "meta_zh", "text_zh", "extra_zh", "pinyin"]
FILTERABLE = ["id", "kind", "status", "region", "tracks", "domains", "batch", "deadline"]
SORTABLE = ["sort_time", "published_at", "deadline", "created_at"]
FACET_ATTRIBUTES = {"track": "tracks", "domain": "domains", "region": "region"}
BATCH_SIZE = 1000
TASK_TIMEOUT_MS = 120_000
# Meilisearch ignores query words past the tenth.
MAX_QUERY_WORDS = 10


def index_settings() -> dict[str, Any]:
    return {
        "searchableAttributes": SEARCHABLE,
        "filterableAttributes": FILTERABLE,
        "sortableAttributes": SORTABLE,
        "displayedAttributes": ["id", "kind", "listing_id", "doc"],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
        "synonyms": synonyms_setting(),
        "typoTolerance": {
            "enabled": True,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 8},
            # A typo in pinyin is a different word.
            "disableOnAttributes": ["pinyin"],
        },
        # Without this, short Chinese text is sometimes detected as Japanese.
        "localizedAttributes": [{"attributePatterns": ["*_zh"], "locales": ["cmn"]}],
        "faceting": {"maxValuesPerFacet": 500},
        "pagination": {"maxTotalHits": 10_000},
    }


def synonyms_setting() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in synonym_groups():
        for word in group:
            out.setdefault(word, [])
            out[word] += [w for w in group if w != word and w not in out[word]]
    return out


def to_meili(doc: ListingDocument) -> dict[str, Any]:
    parts = {
        "title_zh": index_tokens(doc.title),
        "labels_zh": index_tokens("。".join([*doc.tracks, *doc.domains, *doc.tags])),
        "meta_zh": index_tokens("。".join([doc.organisation, doc.place])),
        "text_zh": index_tokens(doc.description),
        "extra_zh": index_tokens(doc.extra_text),
    }
    every = list(dict.fromkeys(t for tokens in parts.values() for t in tokens))
    return {
        "id": doc.id,
        "kind": doc.kind,
        "listing_id": doc.listing_id,
        "status": doc.status,
        "region": doc.region,
        "tracks": doc.tracks,
        "domains": doc.domains,
        "batch": doc.batch,
        "sort_time": doc.sort_time,
        "published_at": doc.published_at,
        "created_at": doc.created_at,
        "deadline": doc.deadline,
        **{name: " ".join(tokens) for name, tokens in parts.items()},
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

    Every user-supplied value goes through `quote`, so it can only ever be the right-hand
    side of one equality.
    """
    out: list[str | list[str]] = []
    if query.kind:
        out.append(f"kind = {quote(query.kind)}")
    for attribute, values in (
        ("status", query.statuses),
        ("tracks", query.tracks),
        ("domains", query.domains),
        ("region", query.regions),
    ):
        values = list(dict.fromkeys(values))
        if values:
            out.append([f"{attribute} = {quote(v)}" for v in values])
    if query.batch is not None:
        out.append(f"batch = {int(query.batch)}")
    if query.open_at is not None:
        out.append([f"deadline >= {int(query.open_at)}", "deadline IS NULL"])
    if query.exclude_ids:
        ids = ", ".join(quote(i) for i in dict.fromkeys(query.exclude_ids))
        out.append(f"id NOT IN [{ids}]")
    return out


def build_search_params(query: SearchQuery, plan: QueryPlan) -> tuple[str, dict[str, Any]]:
    """The `q` string and the options of one search request."""
    params: dict[str, Any] = {
        "offset": query.offset,
        "limit": query.page_size,
        "attributesToRetrieve": ["id", "kind", "listing_id", "doc"],
        "showRankingScore": True,
    }
    filters = build_filter(query)
    if filters:
        params["filter"] = filters
    if query.facets:
        params["facets"] = list(FACET_ATTRIBUTES.values())
    if query.sort == "newest" or (query.sort == "relevance" and plan.mode is Mode.BROWSE):
        params["sort"] = ["sort_time:desc"]
    elif query.sort == "deadline":
        params["sort"] = ["deadline:asc"]

    if plan.mode is Mode.TERMS:
        # Heaviest terms first: Meilisearch drops words beyond the tenth.
        clauses = sorted(plan.clauses, key=lambda c: (-c.weight, c.term))[:MAX_QUERY_WORDS]
        params["matchingStrategy"] = "frequency"
        return " ".join(c.term for c in clauses), params
    if plan.mode is Mode.TEXT:
        params["matchingStrategy"] = "last"
        return " ".join(plan.words[:MAX_QUERY_WORDS]), params
    return "", params


class MeiliEngine:
    def __init__(self, url: str, api_key: str | None = None, index_name: str = "listings", *, timeout: int = 10):
        self.index_name = index_name
        self.client = meilisearch.Client(url, api_key, timeout=timeout)
        self._vocabulary = VocabularyCache(max_age=300.0)

    @property
    def _index(self) -> meilisearch.index.Index:
        return self.client.index(self.index_name)

    def ensure_ready(self) -> None:
        with _translate_errors():
            self._ensure_index(self.index_name)

    def _ensure_index(self, uid: str) -> None:
        try:
            self.client.get_index(uid)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise
            self._wait(self.client.create_index(uid, {"primaryKey": "id"}))
        self._wait(self.client.index(uid).update_settings(index_settings()))

    def health(self) -> bool:
        try:
            return bool(self.client.is_healthy())
        except Exception:  # health must answer, not raise
            return False

    def close(self) -> None:
        pass

    def upsert(self, docs: Iterable[ListingDocument]) -> None:
        with _translate_errors():
            self._add(self.index_name, docs)

    def _add(self, uid: str, docs: Iterable[ListingDocument]) -> None:
        index = self.client.index(uid)
        for batch in _batches((to_meili(d) for d in docs), BATCH_SIZE):
            self._wait(index.add_documents(batch, primary_key="id"))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            with _translate_errors():
                self._wait(self._index.delete_documents(ids))

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        tmp = f"{self.index_name}_tmp"
        with _translate_errors():
            self._ensure_index(self.index_name)
            self._wait(self.client.delete_index(tmp))  # leftovers of an interrupted rebuild
            self._ensure_index(tmp)
            self._add(tmp, docs)
            self._wait(self.client.swap_indexes([{"indexes": [self.index_name, tmp]}]))
            self._wait(self.client.delete_index(tmp))

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        plan = plan_query(query)
        if plan.mode is Mode.NOTHING:
            return SearchResult.empty(_ms_since(started))
        q, params = build_search_params(query, plan)
        with _translate_errors():
            raw = self._index.search(q, params)
        hits = []
        for item in raw.get("hits", []):
            doc = ListingDocument.from_dict(item["doc"])
            if not query.highlight:
                score = float(item.get("_rankingScore", 0.0)) if "sort" not in params else 0.0
                hits.append(SearchHit(doc.id, doc.kind, doc.listing_id, score, "", "", [], document=doc))
                continue
            marked = highlight(doc, plan.highlight)
            hits.append(
                SearchHit(
                    id=doc.id,
                    kind=doc.kind,
                    listing_id=doc.listing_id,
                    score=float(item.get("_rankingScore", 0.0)) if "sort" not in params else 0.0,
                    title_html=marked.title_html,
                    snippet_html=marked.snippet_html,
                    matched_terms=marked.matched_terms,
                    document=doc,
                )
            )
        distribution = raw.get("facetDistribution") or {}
        facets = (
            {name: dict(distribution.get(attr, {})) for name, attr in FACET_ATTRIBUTES.items()} if query.facets else {}
        )
        total = raw.get("estimatedTotalHits", raw.get("totalHits", len(hits)))
        return SearchResult(hits=hits, total=int(total), facets=facets, took_ms=_ms_since(started))

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, ListingDocument] = {}
        with _translate_errors():
            for chunk in _batches(iter(ids), BATCH_SIZE):
                flt = f"id IN [{', '.join(quote(i) for i in chunk)}]"
                result = self._index.get_documents({"filter": flt, "fields": ["doc"], "limit": len(chunk)})
                for item in result.results:
                    doc = ListingDocument.from_dict(_as_dict(item)["doc"])
                    out[doc.id] = doc
        return out

    def suggest(self, text: str, *, kind: str | None = None, limit: int = 5) -> list[str]:
        # The same vocabulary rules as the embedded engine (search/suggest.py), from the stored
        # documents; rebuilt when the count changes or every few minutes.
        return self._vocabulary.suggest(self, text, kind=kind, limit=limit)

    def document_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        with _translate_errors():
            while True:
                page = self._index.get_documents({"fields": ["id"], "offset": offset, "limit": BATCH_SIZE})
                out.update(_as_dict(item)["id"] for item in page.results)
                offset += BATCH_SIZE
                if offset >= page.total:
                    return out

    def doc_count(self) -> int:
        with _translate_errors():
            return int(self._index.get_stats().number_of_documents)

    def term_doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(dict.fromkeys(terms))
        if not terms:
            return {}
        queries = [
            {"indexUid": self.index_name, "q": normalise(t), "limit": 0, "matchingStrategy": "all"} for t in terms
        ]
        with _translate_errors():
            results = self.client.multi_search(queries)["results"]
        return {t: int(r.get("estimatedTotalHits", 0)) for t, r in zip(terms, results, strict=True)}

    def _wait(self, task_info) -> None:
        task = self.client.wait_for_task(task_info.task_uid, timeout_in_ms=TASK_TIMEOUT_MS)
        if task.status == "failed":
            error = task.error or {}
            if error.get("code") == "index_not_found" and task.type == "indexDeletion":
                return  # deleting an index that is already gone
            raise SearchUnavailable(f"Meilisearch task {task.uid} ({task.type}) failed: {error.get('message')}")


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
        raise SearchUnavailable(f"Meilisearch is not reachable: {exc}") from exc
    except MeilisearchApiError as exc:
        raise SearchUnavailable(f"Meilisearch refused the request: {exc}") from exc


def _batches(items: Iterator[Any] | Iterable[Any], size: int) -> Iterator[list[Any]]:
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
