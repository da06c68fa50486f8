"""Lists with facets: the filters of a browsed list and how many listings each facet value holds.

The API and the list pages share this one implementation. Facet counts are taken without the
facet's own filter, so the other values of that facet stay offered as alternatives; a county's
listings count for its city.
"""

from typing import Any, NamedTuple, Protocol

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.listings import service
from backend.listings.labels import STATUS_LABELS
from backend.listings.models import DOMAIN_LINKS, LISTING_MODELS, TRACK_LINKS, ListingKind, ListingStatus
from backend.listings.ranges import budget_range, deadline_window
from backend.taxonomy.models import Batch, Region
from backend.taxonomy.service import TaxonomyIndex

FACETS = ("track", "domain", "region", "batch", "status")


class BrowseFilters(Protocol):
    """What a browsed list is filtered by (the list pages' ListingParams is one)."""

    q: str
    track: str | None
    domain: str | None
    region: str | None
    batch: int | None
    status: str | None
    budget: str | None  # a BUDGET_CHOICES code
    deadline: str | None  # a DEADLINE_CHOICES code


class FacetValue(NamedTuple):
    value: str
    label: str
    count: int


def filters(params: BrowseFilters, *, without: str | None = None) -> dict[str, Any]:
    status = params.status or ListingStatus.published.value
    return {
        "track": None if without == "track" else params.track,
        "domain": None if without == "domain" else params.domain,
        "region": None if without == "region" else params.region,
        "batch": None if without == "batch" else params.batch,
        "statuses": () if without == "status" else (ListingStatus(status),),
        "budget": budget_range(params.budget),
        "deadline": deadline_window(params.deadline),
        "text": params.q or None,
    }


async def facet_counts(
    session: AsyncSession, actor: Actor, kind: ListingKind, params: BrowseFilters, facet: str, names: TaxonomyIndex
) -> list[FacetValue]:
    # Counted without the facet's own filter, so that the other values stay offered as alternatives.
    query = service.build_list_query(actor=actor, kind=kind, **filters(params, without=facet))
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
        return await region_counts(session, model, ids)
    if facet == "batch":
        counted = (
            select(Batch.number, func.count())
            .join(model, model.batch_id == Batch.id)
            .where(col(model.id).in_(select(ids.c.id)))
        )
        if not actor.is_staff:
            # A batch still being assembled is not public (it shows once 发布第N批 is done).
            counted = counted.where(col(Batch.published_at).is_not(None))
        rows = (await session.exec(counted.group_by(Batch.number).order_by(Batch.number))).all()
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


async def region_counts(session: AsyncSession, model: Any, ids: Any) -> list[FacetValue]:
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
        if region is None:
            continue
        city = region.parent_code if region.level == "county" and region.parent_code in regions else region.code
        counts[city] = counts.get(city, 0) + n
    # Province-level listings (江西省 as a whole) come first, as their own choice.
    return [
        FacetValue(c, province_label(regions[c].name) if regions[c].level == "province" else regions[c].name, counts[c])
        for c in sorted(counts, key=lambda c: (regions[c].level != "province", c))
    ]


def province_label(name: str) -> str:
    """ "江西省" as a region choice means the province-level listings: say so."""
    return f"{name}（省级）"
