"""Full-text search and two-way matching over the engine, joined back to database rows."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from anyio import to_thread
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.kit.db import utcnow
from backend.kit.errors import Forbidden, NotFound, ServiceUnavailable
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus, Opportunity
from backend.listings.presenter import present_mixed
from backend.listings.public_cache import Public, PublicListings
from backend.listings.ranges import BudgetRange, DeadlineWindow
from backend.listings.service import KIND_LABELS, Listing, can_see_private_fields, get_visible
from backend.searching.documents import build_documents, deadline_seconds
from backend.searching.models import MatchDecision, MatchVerdict
from backend.taxonomy.service import TaxonomyIndex, load_index
from search import SearchEngine, SearchQuery, SearchResult, SearchUnavailable, match

UNAVAILABLE_MESSAGE = "搜索服务暂时不可用，请稍后再试；清单浏览不受影响"
OTHER_KIND = {ListingKind.opportunity: ListingKind.offering, ListingKind.offering: ListingKind.opportunity}


@dataclass
class SearchParams:
    q: str = ""
    kind: ListingKind | None = None
    tracks: list[str] = field(default_factory=list)  # codes
    domains: list[str] = field(default_factory=list)  # codes
    regions: list[str] = field(default_factory=list)  # city codes
    statuses: list[ListingStatus] = field(default_factory=list)
    batch: int | None = None
    budget: BudgetRange | None = None
    deadline: DeadlineWindow | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20
    # False: no facet counts and no highlights (exports only want the listings, in order).
    facets: bool = True


def range_query(budget: BudgetRange | None, window: DeadlineWindow | None) -> dict[str, Any]:
    """The budget and deadline filters as `SearchQuery` takes them (deadline dates as the
    documents index them: `documents.deadline_seconds`); saved-search alerts use it too."""
    out: dict[str, Any] = {}
    if budget is not None:
        out["budget_from"] = float(budget.start) if budget.start is not None else None
        out["budget_to"] = float(budget.end) if budget.end is not None else None
    if window is not None:
        start = deadline_seconds(window.start) if window.start is not None else None
        end = deadline_seconds(window.end) if window.end is not None else None
        if window.undated and end is None:
            out["open_at"] = start if start is not None else 0
        else:
            out["deadline_from"] = start if start is not None else 0
            out["deadline_to"] = end
    return out


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


# A hit's listing: its database row (`search`), or its public shape (`search_presented`).
L = TypeVar("L")


@dataclass
class SearchHitRow(Generic[L]):
    listing: L
    kind: ListingKind
    score: float
    title_html: str
    snippet_html: str
    matched_terms: list[str]


@dataclass
class SearchPage(Generic[L]):
    hits: list[SearchHitRow[L]]
    total: int
    facets: dict[str, list[FacetValue]]
    took_ms: float


def _visible_statuses(actor: Actor, requested: Sequence[ListingStatus]) -> list[str]:
    """Visitors and organisations search published listings only; staff may search any status."""
    if actor.is_staff:
        return [s.value for s in requested]
    return [ListingStatus.published.value]


async def _load_rows(
    session: AsyncSession, wanted: dict[ListingKind, list[int]]
) -> dict[tuple[ListingKind, int], Listing]:
    rows: dict[tuple[ListingKind, int], Listing] = {}
    for kind, ids in wanted.items():
        if not ids:
            continue
        model = LISTING_MODELS[kind]
        for listing in (await session.exec(select(model).where(col(model.id).in_(ids)))).all():
            rows[(kind, listing.id)] = listing
    return rows


def _facets(raw: dict[str, dict[str, int]], names: TaxonomyIndex) -> dict[str, list[FacetValue]]:
    by_name = {
        "track": {name: code for code, name in names.tracks.items()},
        "domain": {name: code for code, name in names.domains.items()},
    }
    out: dict[str, list[FacetValue]] = {}
    for facet in ("track", "domain", "region"):
        values = []
        for value, count in raw.get(facet, {}).items():
            if facet == "region":
                label = names.regions.get(value, value)
                # The province's own code means its province-level listings (as in backend/listings/browse).
                values.append(FacetValue(value, f"{label}（省级）" if value.endswith("0000") else label, count))
            else:
                values.append(FacetValue(by_name[facet].get(value, value), value, count))
        values.sort(key=lambda v: (-v.count, v.value))
        out[facet] = values
    return out


async def _engine_search(
    session: AsyncSession, engine: SearchEngine, *, actor: Actor, params: SearchParams
) -> tuple[SearchResult, TaxonomyIndex]:
    names = await load_index(session)
    query = SearchQuery(
        text=params.q,
        kind=params.kind.value if params.kind else None,
        tracks=[names.tracks.get(code, code) for code in params.tracks],
        domains=[names.domains.get(code, code) for code in params.domains],
        regions=list(params.regions),
        statuses=_visible_statuses(actor, params.statuses),
        batch=params.batch,
        sort=params.sort,
        page=params.page,
        page_size=params.page_size,
        facets=params.facets,
        highlight=params.facets,
        **range_query(params.budget, params.deadline),
    )
    try:
        return await to_thread.run_sync(engine.search, query), names
    except SearchUnavailable as exc:
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc


def _shown(actor: Actor, listing: Listing | None) -> bool:
    # The index may lag the database by a moment: never show what the database no longer allows.
    return listing is not None and (listing.status == ListingStatus.published or actor.is_staff)


async def search(
    session: AsyncSession, engine: SearchEngine, *, actor: Actor, params: SearchParams
) -> SearchPage[Listing]:
    """Search both lists (or one); hits are re-checked against the database before they are shown."""
    result, names = await _engine_search(session, engine, actor=actor, params=params)
    wanted: dict[ListingKind, list[int]] = {}
    for hit in result.hits:
        wanted.setdefault(ListingKind(hit.kind), []).append(hit.listing_id)
    rows = await _load_rows(session, wanted)
    hits = []
    for hit in result.hits:
        listing = rows.get((ListingKind(hit.kind), hit.listing_id))
        if listing is None or not _shown(actor, listing):
            continue
        hits.append(
            SearchHitRow(listing, ListingKind(hit.kind), hit.score, hit.title_html, hit.snippet_html, hit.matched_terms)
        )
    return SearchPage(hits=hits, total=result.total, facets=_facets(result.facets, names), took_ms=result.took_ms)


async def search_presented(
    session: AsyncSession,
    engine: SearchEngine,
    *,
    actor: Actor,
    params: SearchParams,
    cache: PublicListings | None = None,
    stamp: int | None = None,
) -> SearchPage[Public]:
    """`search` with each hit in the public shape `actor` may see. With `cache` (a process's
    `PublicListings`, for visitors only) the hits it holds are neither loaded nor presented again;
    the others are, and are kept. `stamp`: the change stamp already read for this request, if any."""
    result, names = await _engine_search(session, engine, actor=actor, params=params)
    if cache is not None:
        await cache.follow(session, stamp)
    shown: dict[tuple[ListingKind, int], Public] = {}
    wanted: dict[ListingKind, list[int]] = {}
    for hit in result.hits:
        kind = ListingKind(hit.kind)
        kept = cache.get(kind, hit.listing_id) if cache is not None else None
        if kept is not None:
            shown[(kind, hit.listing_id)] = kept
        else:
            wanted.setdefault(kind, []).append(hit.listing_id)
    rows = [(kind, row) for (kind, _), row in (await _load_rows(session, wanted)).items() if _shown(actor, row)]
    for (kind, row), item in zip(rows, await present_mixed(session, actor=actor, rows=rows), strict=True):
        shown[(kind, row.id)] = item
        if cache is not None:
            cache.put(kind, item)
    hits = []
    for hit in result.hits:
        item = shown.get((ListingKind(hit.kind), hit.listing_id))
        if item is not None:
            hits.append(
                SearchHitRow(
                    item, ListingKind(hit.kind), hit.score, hit.title_html, hit.snippet_html, hit.matched_terms
                )
            )
    return SearchPage(hits=hits, total=result.total, facets=_facets(result.facets, names), took_ms=result.took_ms)


async def suggest(engine: SearchEngine, *, text: str, kind: ListingKind | None, limit: int = 5) -> list[str]:
    """“您是不是要找” for a query that found nothing; none when the engine cannot answer (it is a hint)."""
    suggest_from = getattr(engine, "suggest", None)
    if suggest_from is None or not text.strip():
        return []
    try:
        found = await to_thread.run_sync(lambda: suggest_from(text, kind=kind.value if kind else None, limit=limit))
    except SearchUnavailable:
        return []
    return list(found)


@dataclass
class MatchRow:
    listing: Listing
    kind: ListingKind
    score: float
    matched_terms: list[str]
    shared_tracks: list[str]
    shared_domains: list[str]
    same_region: bool
    accepted: bool
    # "语义相近": (sentence of the listing, closest sentence of the match), when the
    # match is mainly by meaning rather than by shared words.
    similar_sentences: list[tuple[str, str]] = field(default_factory=list)


async def _decisions(session: AsyncSession, kind: ListingKind, listing_id: int) -> dict[int, str]:
    if kind == ListingKind.opportunity:
        rows = await session.exec(
            select(MatchDecision.offering_id, MatchDecision.verdict).where(MatchDecision.opportunity_id == listing_id)
        )
    else:
        rows = await session.exec(
            select(MatchDecision.opportunity_id, MatchDecision.verdict).where(MatchDecision.offering_id == listing_id)
        )
    return dict(rows.all())


async def matches_for(
    session: AsyncSession, engine: SearchEngine, *, actor: Actor, kind: ListingKind, listing_id: int, limit: int = 20
) -> list[MatchRow]:
    """Ranked suggestions of the other kind, with reasons; dismissed pairs never come back."""
    require_signed_in(actor)
    listing = await get_visible(session, actor=actor, kind=kind, listing_id=listing_id)
    if not can_see_private_fields(actor, listing):
        raise Forbidden("只有发布单位和撮合专员可以查看推荐")
    target = OTHER_KIND[kind]
    decisions = await _decisions(session, kind, listing_id)
    dismissed = [f"{target.value}-{i}" for i, verdict in decisions.items() if verdict == MatchVerdict.dismissed]
    (document,) = await build_documents(session, kind, [listing])
    try:
        found = await to_thread.run_sync(
            lambda: match(engine, document, target.value, limit=limit, exclude_ids=dismissed)
        )
    except SearchUnavailable as exc:
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc
    rows = await _load_rows(session, {target: [m.listing_id for m in found]})
    today = date.today()
    out = []
    for m in found:
        candidate = rows.get((target, m.listing_id))
        if candidate is None or candidate.status != ListingStatus.published:
            continue
        if isinstance(candidate, Opportunity) and candidate.deadline is not None and candidate.deadline < today:
            continue
        out.append(
            MatchRow(
                listing=candidate,
                kind=target,
                score=m.score,
                matched_terms=m.reasons.matched_terms,
                shared_tracks=m.reasons.shared_tracks,
                shared_domains=m.reasons.shared_domains,
                same_region=m.reasons.same_region,
                accepted=decisions.get(m.listing_id) == MatchVerdict.accepted,
                similar_sentences=list(m.reasons.similar_sentences),
            )
        )
    return out


async def decide(
    session: AsyncSession, *, actor: Actor, opportunity_id: int, offering_id: int, verdict: MatchVerdict, reason: str
) -> MatchDecision:
    """A matchmaker accepts or dismisses a suggested pair (a later verdict replaces an earlier one)."""
    from backend.auth.actor import require_staff

    require_staff(actor, "只有撮合专员可以处理推荐")
    for kind, listing_id in ((ListingKind.opportunity, opportunity_id), (ListingKind.offering, offering_id)):
        if await session.get(LISTING_MODELS[kind], listing_id) is None:
            raise NotFound(f"{KIND_LABELS[kind]}不存在")
    decision = (
        await session.exec(
            select(MatchDecision).where(
                MatchDecision.opportunity_id == opportunity_id, MatchDecision.offering_id == offering_id
            )
        )
    ).first()
    if decision is None:
        decision = MatchDecision(opportunity_id=opportunity_id, offering_id=offering_id, verdict=verdict)
    decision.verdict = verdict
    decision.reason = reason
    decision.decided_by_id = actor.user_id
    decision.decided_at = utcnow()
    session.add(decision)
    await session.flush()
    return decision


async def undo_dismissal(session: AsyncSession, *, actor: Actor, opportunity_id: int, offering_id: int) -> None:
    """A matchmaker takes back a dismissal: the pair is suggested again (an accepted pair is left as it is)."""
    from backend.auth.actor import require_staff

    require_staff(actor, "只有撮合专员可以处理推荐")
    decision = (
        await session.exec(
            select(MatchDecision).where(
                MatchDecision.opportunity_id == opportunity_id,
                MatchDecision.offering_id == offering_id,
                MatchDecision.verdict == MatchVerdict.dismissed,
            )
        )
    ).first()
    if decision is None:
        raise NotFound("没有可撤销的忽略")
    await session.delete(decision)
    await session.flush()
