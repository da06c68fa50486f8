"""Where list-page results come from.

A text query goes to the search engine (segmentation, synonyms, pinyin, highlights, facet
counts for the query); browsing without text reads the database directly, so the lists
keep working when the engine is down. Either way the same `ListingResults` comes back.
"""

import asyncio
import html
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from markupsafe import Markup, escape
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.kit.pagination import PageParams
from backend.kit.params import whole_number
from backend.listings import browse, service
from backend.listings.browse import FACETS, FacetValue
from backend.listings.labels import STATUS_LABELS
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.listings.public_cache import PublicListings, looked_stamp
from backend.listings.ranges import BUDGET_CHOICES, DEADLINE_CHOICES, budget_range, deadline_window, range_params
from backend.outbox.service import change_stamp
from backend.taxonomy.service import load_index
from web.kit.paging import page_number

PAGE_SIZE = 20
SNIPPET_CHARS = 120
SORTS = {
    "relevance": "相关度",
    "newest": "最新发布",
    "deadline": "截止日期",
    "updated": "最近更新",
    "maturity": "成熟度",
}
# The sorts each list offers: a deadline is the opportunities', a maturity the offerings'.
KIND_SORTS = {
    ListingKind.opportunity: ("relevance", "newest", "deadline", "updated"),
    ListingKind.offering: ("relevance", "newest", "updated", "maturity"),
}
# The filters that are fixed choices rather than facet counts (opportunities only).
RANGE_FILTERS = ("budget", "deadline")
RANGE_LABELS = {"budget": "预算", "deadline": "截止日期"}
RANGE_CHOICES = {
    "budget": {code: label for code, (label, _) in BUDGET_CHOICES.items()},
    "deadline": DEADLINE_CHOICES,
}


class SearchOutage(Exception):
    """The search engine cannot answer; list pages say so and the rest of the site keeps working."""


@dataclass
class ListingParams:
    """Everything a list page's URL can say; bad values are dropped rather than refused."""

    q: str = ""
    track: str | None = None
    domain: str | None = None
    region: str | None = None
    batch: int | None = None
    status: str | None = None
    budget: str | None = None  # a BUDGET_CHOICES code
    deadline: str | None = None  # a DEADLINE_CHOICES code
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_request(cls, request: Request, kind: ListingKind) -> "ListingParams":
        get = request.query_params.get
        q = " ".join((get("q") or "").split())[:100]
        sort = get("sort") or ("relevance" if q else "newest")
        if sort not in KIND_SORTS[kind]:
            sort = "relevance" if q else "newest"
        opportunity = kind == ListingKind.opportunity
        return cls(
            q=q,
            track=_code(get("track")),
            domain=_code(get("domain")),
            region=_code(get("region")),
            batch=_int(get("batch"), 10000),
            status=get("status") if get("status") in STATUS_LABELS else None,
            budget=get("budget") if opportunity and get("budget") in BUDGET_CHOICES else None,
            deadline=get("deadline") if opportunity and get("deadline") in DEADLINE_CHOICES else None,
            sort=sort,
            page=page_number(request),
        )

    def as_query(self) -> dict[str, Any]:
        values = {f: getattr(self, f) for f in ("q", *FACETS, *RANGE_FILTERS)}
        values["sort"] = None if self.sort == ("relevance" if self.q else "newest") else self.sort
        return values

    def export_query(self) -> dict[str, Any]:
        """The export API's parameters for what this page lists: its filters (the budget and deadline
        choices as the API's numbers and dates, `range_params`), published by default, and its sort."""
        values: dict[str, Any] = {f: getattr(self, f) for f in ("q", *FACETS)}
        values["status"] = self.status or ListingStatus.published.value
        values["sort"] = None if self.sort == "newest" else self.sort
        return values | range_params(budget_range(self.budget), deadline_window(self.deadline))

    @property
    def active_filters(self) -> list[str]:
        return [f for f in (*FACETS, *RANGE_FILTERS) if getattr(self, f) is not None]


def _code(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and len(value) <= 40 and re.fullmatch(r"[A-Za-z0-9_\-]+", value) else None


def _int(value: str | None, limit: int) -> int | None:
    return whole_number(value, 1, limit)


@dataclass
class ResultItem:
    listing: Any  # OpportunityPublic | OfferingPublic
    title_html: Markup
    snippet_html: Markup | None


@dataclass
class ListingResults:
    items: list[ResultItem]
    total: int
    page: int
    page_size: int = PAGE_SIZE
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    unavailable: bool = False
    # “您是不是要找”: other words from the index when a text query found nothing.
    suggestions: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def find_listings(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams
) -> ListingResults:
    """Results, facet counts and highlights for a list page."""
    try:
        # Visitors all see the same of a published listing: the process keeps it for them.
        cache: PublicListings | None = None if actor.is_authenticated else request.app.state.public_listings
        stamp = await cache.follow(session, looked_stamp(request)) if cache is not None else None
        if params.q:
            return await _from_engine(request, session, actor, kind, params, cache)
        ttl = request.app.state.settings.list_facet_cache_seconds
        return await _from_database(session, actor, kind, params, facet_ttl=ttl, cache=cache, stamp=stamp)
    except SearchOutage:
        return ListingResults(items=[], total=0, page=params.page, unavailable=True)


# ---------------------------------------------------------------- the search engine (text queries)


async def _from_engine(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    kind: ListingKind,
    params: ListingParams,
    cache: PublicListings | None,
) -> ListingResults:
    from backend.kit.errors import ServiceUnavailable
    from backend.searching import service as searching

    query = searching.SearchParams(
        q=params.q,
        kind=kind,
        tracks=[params.track] if params.track else [],
        domains=[params.domain] if params.domain else [],
        regions=[params.region] if params.region else [],
        statuses=[ListingStatus(params.status)] if params.status else [ListingStatus.published],
        batch=params.batch,
        budget=budget_range(params.budget),
        deadline=deadline_window(params.deadline),
        sort=params.sort,
        page=params.page,
        page_size=PAGE_SIZE,
    )
    try:
        page = await searching.search_presented(
            session, request.app.state.search_engine, actor=actor, params=query, cache=cache
        )
    except ServiceUnavailable as exc:
        raise SearchOutage(str(exc)) from exc
    items = [
        # The engine escapes the text and adds only <mark> (search.highlight).
        ResultItem(
            h.listing,
            Markup(h.title_html),  # noqa: S704
            Markup(h.snippet_html) if h.snippet_html else None,  # noqa: S704
        )
        for h in page.hits
    ]
    facets = {name: [FacetValue(v.value, v.label, v.count) for v in values] for name, values in page.facets.items()}
    suggestions = []
    if page.total == 0:
        suggestions = await searching.suggest(request.app.state.search_engine, text=params.q, kind=kind)
    return ListingResults(items=items, total=page.total, page=params.page, facets=facets, suggestions=suggestions)


# ---------------------------------------------------------------- the database (browsing without text)


async def _from_database(
    session: AsyncSession,
    actor: Actor,
    kind: ListingKind,
    params: ListingParams,
    *,
    facet_ttl: float = 0.0,
    cache: PublicListings | None = None,
    stamp: int | None = None,
) -> ListingResults:
    """`stamp`: the change stamp already read in this request (by the cache), if any."""
    # Read before counting: a change committed in between then moves the stamp past what was
    # counted, and the next page counts again rather than keeping a count under the old stamp.
    if stamp is None:
        stamp = await change_stamp(session) if facet_ttl > 0 else 0
    key = _counts_key(session, actor, kind, params)
    kept_total = _totals.get(key)
    rows, total = await service.list_listings(
        session,
        actor=actor,
        kind=kind,
        page=PageParams(page=params.page, page_size=PAGE_SIZE),
        sort=params.sort,
        known_total=kept_total[1] if kept_total is not None and kept_total[0] == stamp and facet_ttl > 0 else None,
        **browse.filters(params),
    )
    if facet_ttl > 0:
        _keep(_totals, key, (stamp, total))
    if cache is not None:
        listings = await cache.present(session, kind=kind, rows=rows)
    else:
        listings = await present(session, actor=actor, kind=kind, listings=rows)
    terms = params.q.split()
    items = [ResultItem(item, mark(item.title, terms), snippet(item.description, terms)) for item in listings]
    facets = await _cached_facets(session, actor, kind, params, ttl=facet_ttl, stamp=stamp)
    return ListingResults(items=items, total=total, page=params.page, facets=facets)


# The facet counts of a list page are five GROUP BY queries over every matching listing (all
# published ones when browsing), and its total one COUNT: at 100k listings on SQLite a recount
# takes about a second, and they are the same on every page of a listing and for every visitor.
# So each process keeps them per (database, person, kind, filters), with the outbox's change
# stamp (backend/outbox/service.change_stamp) they were counted at:
# - the total is kept while the stamp has not moved, so it is always exact;
# - the facet counts are kept while the stamp has not moved, and once it has, for up to `ttl`
#   seconds (SCENEMATCH_LIST_FACET_CACHE_SECONDS, 10 by default) after they were counted, so a
#   count may lag a publication by that long under a stream of writes, and not at all otherwise.
#   Changes that write no outbox row (a region or batch renamed) show within KEEP_AT_MOST seconds.
KEEP_AT_MOST = 600.0
_facet_cache: dict[tuple[Any, ...], tuple[float, int, dict[str, list[FacetValue]]]] = {}
_facet_locks: dict[tuple[Any, ...], asyncio.Lock] = {}
_totals: dict[tuple[Any, ...], tuple[int, int]] = {}


def _counts_key(session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams) -> tuple[Any, ...]:
    bind = session.bind
    database = str(getattr(getattr(bind, "engine", bind), "url", id(bind)))
    # The deadline choice goes in as its window: "7天内截止" counts other listings tomorrow.
    return (
        database,
        actor.user_id,
        kind,
        params.track,
        params.domain,
        params.region,
        params.batch,
        params.status,
        params.budget,
        deadline_window(params.deadline),
    )


def _keep(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
    if len(cache) > 2_000 and key not in cache:
        cache.clear()
    cache[key] = value


async def _count_facets(
    session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams
) -> dict[str, list[FacetValue]]:
    names = await load_index(session)
    return {facet: await browse.facet_counts(session, actor, kind, params, facet, names) for facet in FACETS}


def _still_good(kept: tuple[float, int, Any] | None, stamp: int, ttl: float) -> bool:
    if kept is None:
        return False
    age = time.monotonic() - kept[0]
    return age < ttl or (kept[1] == stamp and age < KEEP_AT_MOST)


async def _cached_facets(
    session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams, *, ttl: float, stamp: int = 0
) -> dict[str, list[FacetValue]]:
    if ttl <= 0:
        return await _count_facets(session, actor, kind, params)
    key = _counts_key(session, actor, kind, params)
    cached = _facet_cache.get(key)
    if _still_good(cached, stamp, ttl):
        assert cached is not None
        return cached[2]
    # One count per key at a time: under load, fifty requests missing the cache at once
    # would otherwise run the same five GROUP BYs fifty times over. While one request
    # recounts, the others show the previous counts rather than queue behind it (at 100k
    # listings a recount takes about a second on SQLite, which every queued page would wait).
    lock = _facet_locks.setdefault(key, asyncio.Lock())
    if cached is not None and lock.locked():
        return cached[2]
    async with lock:
        cached = _facet_cache.get(key)
        if _still_good(cached, stamp, ttl):
            assert cached is not None
            return cached[2]
        facets = await _count_facets(session, actor, kind, params)
        if len(_facet_cache) > 2_000:
            _facet_locks.clear()
        _keep(_facet_cache, key, (time.monotonic(), stamp, facets))
    return facets


# ---------------------------------------------------------------- highlighting


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def mark(text: str, terms: Sequence[str]) -> Markup:
    """The text escaped, with each query word wrapped in <mark>."""
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last : m.start()]), "<mark>", html.escape(m.group(0)), "</mark>"]
        last = m.end()
    out.append(html.escape(text[last:]))
    return Markup("".join(out))  # noqa: S704 (every piece of text above is escaped)


def snippet(text: str, terms: Sequence[str], size: int = SNIPPET_CHARS) -> Markup | None:
    """A window of the description around the first matched word."""
    text = " ".join(text.split())
    if not text:
        return None
    pattern = _pattern(terms)
    found = pattern.search(text) if pattern else None
    start = max(0, found.start() - size // 4) if found else 0
    window = text[start : start + size]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + size < len(text) else ""
    return escape(prefix) + mark(window, terms) + escape(suffix)
