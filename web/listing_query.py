"""Where list-page results come from.

A text query goes to the search engine (segmentation, synonyms, pinyin, highlights, facet
counts for the query); browsing without text reads the database directly, so the lists
keep working when the engine is down. Either way the same `ListingResults` comes back.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fastapi import Request
from markupsafe import Markup
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.kit.pagination import PageParams
from backend.kit.params import whole_number
from backend.listings import service
from backend.listings.models import DOMAIN_LINKS, LISTING_MODELS, TRACK_LINKS, ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.taxonomy.models import Batch, Region
from backend.taxonomy.service import TaxonomyIndex, load_index

PAGE_SIZE = 20
SNIPPET_CHARS = 120
FACETS = ("track", "domain", "region", "batch", "status")
FACET_LABELS = {"track": "赛道", "domain": "场景领域", "region": "地区", "batch": "批次", "status": "状态"}
SORTS = {"relevance": "相关度", "newest": "最新发布", "deadline": "截止日期"}
STATUS_LABELS = {
    "draft": "草稿",
    "pending_review": "待审核",
    "published": "已发布",
    "closed": "已截止",
    "withdrawn": "已撤回",
}


class SearchOutage(Exception):
    """The search engine cannot answer; list pages say so and the rest of the site keeps working."""


class FacetValue(NamedTuple):
    value: str
    label: str
    count: int


@dataclass
class ListingParams:
    """Everything a list page's URL can say; bad values are dropped rather than refused."""

    q: str = ""
    track: str | None = None
    domain: str | None = None
    region: str | None = None
    batch: int | None = None
    status: str | None = None
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_request(cls, request: Request, kind: ListingKind) -> "ListingParams":
        get = request.query_params.get
        q = " ".join((get("q") or "").split())[:100]
        sort = get("sort") or ("relevance" if q else "newest")
        if sort not in SORTS or (sort == "deadline" and kind != ListingKind.opportunity):
            sort = "relevance" if q else "newest"
        return cls(
            q=q,
            track=_code(get("track")),
            domain=_code(get("domain")),
            region=_code(get("region")),
            batch=_int(get("batch"), 10000),
            status=get("status") if get("status") in STATUS_LABELS else None,
            sort=sort,
            page=_int(get("page"), 100000) or 1,
        )

    def as_query(self) -> dict[str, Any]:
        values = {f: getattr(self, f) for f in ("q", *FACETS)}
        values["sort"] = None if self.sort == ("relevance" if self.q else "newest") else self.sort
        return values

    @property
    def active_filters(self) -> list[str]:
        return [f for f in FACETS if getattr(self, f) is not None]


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

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def find_listings(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams
) -> ListingResults:
    """Results, facet counts and highlights for a list page."""
    try:
        if params.q:
            return await _from_engine(request, session, actor, kind, params)
        return await _from_database(session, actor, kind, params)
    except SearchOutage:
        return ListingResults(items=[], total=0, page=params.page, unavailable=True)


# ---------------------------------------------------------------- the search engine (text queries)


async def _from_engine(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams
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
        sort=params.sort,
        page=params.page,
        page_size=PAGE_SIZE,
    )
    try:
        page = await searching.search(session, request.app.state.search_engine, actor=actor, params=query)
    except ServiceUnavailable as exc:
        raise SearchOutage(str(exc)) from exc
    presented = {
        item.id: item
        for item in await present(session, actor=actor, kind=kind, listings=[h.listing for h in page.hits])
    }
    items = [
        ResultItem(presented[h.listing.id], Markup(h.title_html), Markup(h.snippet_html) if h.snippet_html else None)
        for h in page.hits
    ]
    facets = {name: [FacetValue(v.value, v.label, v.count) for v in values] for name, values in page.facets.items()}
    return ListingResults(items=items, total=page.total, page=params.page, facets=facets)


# ---------------------------------------------------------------- the database (browsing without text)


def _filters(params: ListingParams, *, without: str | None = None) -> dict[str, Any]:
    status = params.status or ListingStatus.published.value
    return {
        "track": None if without == "track" else params.track,
        "domain": None if without == "domain" else params.domain,
        "region": None if without == "region" else params.region,
        "batch": None if without == "batch" else params.batch,
        "statuses": () if without == "status" else (ListingStatus(status),),
        "text": params.q or None,
    }


async def _from_database(
    session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams
) -> ListingResults:
    rows, total = await service.list_listings(
        session,
        actor=actor,
        kind=kind,
        page=PageParams(page=params.page, page_size=PAGE_SIZE),
        sort=params.sort,
        **_filters(params),
    )
    listings = await present(session, actor=actor, kind=kind, listings=rows)
    terms = params.q.split()
    items = [ResultItem(item, mark(item.title, terms), snippet(item.description, terms)) for item in listings]
    names = await load_index(session)
    facets = {facet: await _facet_counts(session, actor, kind, params, facet, names) for facet in FACETS}
    return ListingResults(items=items, total=total, page=params.page, facets=facets)


async def _facet_counts(
    session: AsyncSession, actor: Actor, kind: ListingKind, params: ListingParams, facet: str, names: TaxonomyIndex
) -> list[FacetValue]:
    # Counted without the facet's own filter, so that the other values stay offered as alternatives.
    query = service.build_list_query(actor=actor, kind=kind, **_filters(params, without=facet))
    if query is None:
        return []
    model = LISTING_MODELS[kind]
    ids = query.with_only_columns(col(model.id)).subquery()
    if facet in ("track", "domain"):
        link = TRACK_LINKS[kind] if facet == "track" else DOMAIN_LINKS[kind]
        code = link.track_code if facet == "track" else link.domain_code  # type: ignore[union-attr]
        rows = (
            await session.exec(
                select(code, func.count()).where(col(link.listing_id).in_(select(ids.c.id))).group_by(code)
            )
        ).all()
        labels = names.tracks if facet == "track" else names.domains
        values = [FacetValue(c, labels.get(c, c), n) for c, n in rows]
        return sorted(values, key=lambda v: (-v.count, v.label))
    if facet == "region":
        return await _region_counts(session, model, ids)
    if facet == "batch":
        rows = (
            await session.exec(
                select(Batch.number, func.count())
                .join(model, model.batch_id == Batch.id)
                .where(col(model.id).in_(select(ids.c.id)))
                .group_by(Batch.number)
                .order_by(Batch.number)
            )
        ).all()
        return [FacetValue(str(n), f"第{n}批", c) for n, c in rows]
    rows = (
        await session.exec(
            select(model.status, func.count()).where(col(model.id).in_(select(ids.c.id))).group_by(model.status)
        )
    ).all()
    order = list(STATUS_LABELS)
    return sorted(
        (FacetValue(s, STATUS_LABELS.get(s, s), n) for s, n in rows),
        key=lambda v: order.index(v.value) if v.value in order else 99,
    )


async def _region_counts(session: AsyncSession, model: Any, ids: Any) -> list[FacetValue]:
    """Counts per city (a county's listings count for its city), in the order of the region codes."""
    rows = (
        await session.exec(
            select(model.region_code, func.count())
            .where(col(model.id).in_(select(ids.c.id)))
            .group_by(model.region_code)
        )
    ).all()
    regions = {r.code: r for r in (await session.exec(select(Region))).all()}
    counts: dict[str, int] = {}
    for code, n in rows:
        region = regions.get(code) if code else None
        if region is None or region.level == "province":
            continue
        city = region.parent_code if region.level == "county" and region.parent_code in regions else region.code
        counts[city] = counts.get(city, 0) + n
    return [FacetValue(c, regions[c].name, counts[c]) for c in sorted(counts)]


# ---------------------------------------------------------------- highlighting


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def mark(text: str, terms: Sequence[str]) -> Markup:
    """The text escaped, with each query word wrapped in <mark>."""
    pattern = _pattern(terms)
    if pattern is None:
        return Markup(html.escape(text))
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last : m.start()]), "<mark>", html.escape(m.group(0)), "</mark>"]
        last = m.end()
    out.append(html.escape(text[last:]))
    return Markup("".join(out))


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
    return Markup(prefix) + mark(window, terms) + Markup(suffix)


# ---------------------------------------------------------------- matches (seam for the matching service)


@dataclass
class MatchView:
    title: str
    url: str
    organisation: str
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    kind: str = ""
    listing_id: int = 0


async def find_matches(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, listing_id: int
) -> list[MatchView] | None:
    """Ranked matches for a listing with their reasons in Chinese; None when the engine is down."""
    from backend.kit.errors import ServiceUnavailable
    from backend.searching import service as searching

    try:
        rows = await searching.matches_for(
            session, request.app.state.search_engine, actor=actor, kind=kind, listing_id=listing_id, limit=10
        )
    except ServiceUnavailable:
        return None
    organisations = {
        item.id: item.organisation.name
        for target in {r.kind for r in rows}
        for item in await present(
            session, actor=actor, kind=target, listings=[r.listing for r in rows if r.kind == target]
        )
    }
    views = []
    for row in rows:
        reasons = []
        if row.shared_tracks:
            reasons.append("同属赛道：" + "、".join(row.shared_tracks))
        if row.shared_domains:
            reasons.append("同一场景领域：" + "、".join(row.shared_domains))
        if row.matched_terms:
            reasons.append("关键词：" + "、".join(row.matched_terms[:6]))
        if row.same_region:
            reasons.append("同一地区")
        for mine, theirs in row.similar_sentences:
            reasons.append(f"语义相近：“{mine}”与“{theirs}”")
        if row.accepted:
            reasons.append("撮合专员已采纳")
        path = "opportunities" if row.kind == ListingKind.opportunity else "offerings"
        views.append(
            MatchView(
                title=row.listing.title,
                url=f"/{path}/{row.listing.id}",
                organisation=organisations.get(row.listing.id, ""),
                score=round(row.score, 2),
                reasons=reasons,
                kind=row.kind.value,
                listing_id=row.listing.id,
            )
        )
    return views
