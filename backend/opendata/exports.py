"""Export a list view, with its filters and the caller's visibility, in the import layout.

The columns are exactly those `backend.imports.parsing` reads (its FIELDS, headed by its
FIELD_LABELS), and every value is written in a form the importer maps back to the same
listing: tracks as names (plus the free tags, which the category mapping keeps as tags),
the budget as its original text, the organisation kind and maturity as labels the importer
knows, and an id for every row (`<kind>-<id>` when the listing has no external id), so an
exported file edited in Excel and imported again updates the listings instead of
duplicating them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.imports.parsing import FIELD_LABELS, FIELDS
from backend.kit.errors import Unprocessable
from backend.listings.models import (
    LISTING_MODELS,
    MATURITY_LABELS,
    ListingKind,
    ListingStatus,
    Maturity,
    Offering,
    Opportunity,
)
from backend.listings.presenter import present
from backend.listings.ranges import BudgetRange, DeadlineWindow
from backend.listings.service import Listing, build_list_query, list_order, place_to_region
from backend.opendata.tabular import csv_bytes, xlsx_bytes
from backend.organisations.models import Organisation, OrganisationKind
from backend.searching import service as searching
from backend.taxonomy.models import Region
from search import SearchEngine
from search.engine import MAX_PAGE_SIZE

# Bounded by what one import accepts, so that every export can be imported again.
MAX_EXPORT_ROWS = 20000
# A text query's hits come from the search engine, which ranks at most this many
# (Meilisearch's maxTotalHits, search/meili.py).
MAX_SEARCH_EXPORT_ROWS = 10_000
_CHUNK = 500

KIND_VALUES = {ListingKind.opportunity: "机会清单", ListingKind.offering: "产品清单"}
SHEET_TITLES = KIND_VALUES
# Labels the importer's organisation-kind table accepts (the display label of `lab` is not one).
ORGANISATION_KIND_VALUES = {
    OrganisationKind.government: "政府部门",
    OrganisationKind.city: "设区市",
    OrganisationKind.soe: "国有企业",
    OrganisationKind.enterprise: "企业",
    OrganisationKind.lab: "实验室",
}
HEADERS = [FIELD_LABELS[f] for f in FIELDS]
_WIDTHS = {"title": 36, "organisation": 28, "description": 60, "tracks": 24, "domains": 18, "requirements": 40}


@dataclass(frozen=True)
class ExportFilters:
    """The list endpoint's filters."""

    statuses: Sequence[ListingStatus] = ()
    organisation_id: int | None = None
    track: str | None = None
    domain: str | None = None
    region: str | None = None
    batch: int | None = None
    mine: bool = False
    text: str | None = None
    budget: BudgetRange | None = None
    deadline: DeadlineWindow | None = None
    # The list's order (`backend.listings.service.list_order`), so the file reads as the page does.
    sort: str = "newest"


def export_id(kind: ListingKind, listing: Listing) -> str:
    """The row's 编号: the listing's external id, or `<kind>-<id>` (which the importer resolves back)."""
    return listing.external_id or f"{kind.value}-{listing.id}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def budget_cell(text: str, low: Decimal | None, high: Decimal | None) -> str:
    """The budget as written; a range entered as numbers only is written out so that it parses back."""
    if text:
        return text
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{_number(low)}万元" if low == high else f"{_number(low)}-{_number(high)}万元"
    if low is None:
        return f"不超过{_number(high)}万元"  # type: ignore[arg-type]
    return f"{_number(low)}万元以上"


class _Regions:
    def __init__(self, rows: Sequence[Region]) -> None:
        self.by_code = {r.code: r for r in rows}

    def full_name(self, code: str) -> str:
        region = self.by_code.get(code)
        if region is None:
            return ""
        if region.level == "county" and region.parent_code in self.by_code:
            return self.by_code[region.parent_code].name + region.name
        return region.name

    def cell(self, place: str, region_code: str | None) -> str:
        """The place as written when it still names the listing's region; else the region's full name."""
        if place and place_to_region(place) == region_code:
            return place
        if region_code:
            return self.full_name(region_code) or place
        return place


async def _ranked_ids(
    session: AsyncSession, engine: SearchEngine, *, actor: Actor, kind: ListingKind, filters: ExportFilters
) -> list[int]:
    """The listings a text query finds, in the search engine's order, as the list page finds them."""
    ids: list[int] = []
    page = 1
    while True:
        params = searching.SearchParams(
            q=filters.text or "",
            kind=kind,
            tracks=[filters.track] if filters.track else [],
            domains=[filters.domain] if filters.domain else [],
            regions=[filters.region] if filters.region else [],
            statuses=list(filters.statuses),
            batch=filters.batch,
            budget=filters.budget,
            deadline=filters.deadline,
            sort=filters.sort,
            page=page,
            page_size=MAX_PAGE_SIZE,
            facets=False,
        )
        found = await searching.search(session, engine, actor=actor, params=params)
        if found.total > MAX_SEARCH_EXPORT_ROWS:
            raise Unprocessable(
                f"与关键词相关的有 {found.total} 条，超过按关键词导出的上限 {MAX_SEARCH_EXPORT_ROWS} 条，请增加筛选条件后再导出"
            )
        ids += [hit.listing.id for hit in found.hits if hit.listing.id is not None]
        if not found.hits or page * MAX_PAGE_SIZE >= found.total:
            return list(dict.fromkeys(ids))
        page += 1


async def _select(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, filters: ExportFilters, engine: SearchEngine | None
) -> list[Listing]:
    by_engine = bool(filters.text and filters.text.strip() and engine is not None)
    query = build_list_query(
        actor=actor,
        kind=kind,
        statuses=filters.statuses,
        organisation_id=filters.organisation_id,
        track=filters.track,
        domain=filters.domain,
        region=filters.region,
        batch=filters.batch,
        mine=filters.mine,
        # Words go to the engine when there is one, not to the database's literal match.
        text=None if by_engine else filters.text,
        budget=filters.budget,
        deadline=filters.deadline,
    )
    if by_engine and engine is not None:
        # As on the list page: words go to the search engine (segmentation, synonyms, 繁简, pinyin)
        # and come back in its order; the other filters and the visibility are still the database's.
        ranked = await _ranked_ids(session, engine, actor=actor, kind=kind, filters=filters)
        if query is None or not ranked:
            return []
        model = LISTING_MODELS[kind]
        rows = {listing.id: listing for listing in (await session.exec(query.where(col(model.id).in_(ranked)))).all()}
        return [rows[i] for i in ranked if i in rows]
    if query is None:
        return []
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    if total > MAX_EXPORT_ROWS:
        raise Unprocessable(f"符合条件的有 {total} 条，超过单次导出上限 {MAX_EXPORT_ROWS} 条，请增加筛选条件后再导出")
    return list((await session.exec(query.order_by(*list_order(kind, filters.sort, filters.text)))).all())


async def export_rows(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: ListingKind,
    filters: ExportFilters,
    engine: SearchEngine | None = None,
) -> list[list[Any]]:
    """The rows (in FIELDS order) of the listings the actor may see, contacts only where the actor may see them.

    With `engine`, a text query is matched by the search engine, as the list page matches it;
    without, by the words' literal presence (`build_list_query`)."""
    listings = await _select(session, actor=actor, kind=kind, filters=filters, engine=engine)
    if not listings:
        return []
    regions = _Regions((await session.exec(select(Region))).all())
    organisation_ids = {listing.organisation_id for listing in listings}
    credit_codes = dict(
        (
            await session.exec(
                select(Organisation.id, Organisation.credit_code).where(col(Organisation.id).in_(organisation_ids))
            )
        ).all()
    )
    rows: list[list[Any]] = []
    for start in range(0, len(listings), _CHUNK):
        chunk = listings[start : start + _CHUNK]
        # The presenter applies the visibility rules of the list pages (contacts above all).
        for listing, item in zip(chunk, await present(session, actor=actor, kind=kind, listings=chunk), strict=True):
            values: dict[str, Any] = {
                "kind": KIND_VALUES[kind],
                "external_id": export_id(kind, listing),
                "title": item.title,
                "organisation": item.organisation.name,
                "organisation_kind": ORGANISATION_KIND_VALUES.get(item.organisation.kind, item.organisation.kind),
                "credit_code": credit_codes.get(listing.organisation_id) or "",
                "region": regions.cell(listing.place, listing.region_code),
                "description": item.description,
                # Free tags go with the tracks: the importer's category mapping keeps what is no track as a tag.
                "tracks": "、".join([t.name for t in item.tracks] + list(item.tags)),
                "domains": "、".join(d.name for d in item.domains),
                "contact": item.contact or "",
                "batch": item.batch,
            }
            if isinstance(listing, Opportunity):
                values["budget"] = budget_cell(listing.budget_text, listing.budget_min, listing.budget_max)
                values["deadline"] = listing.deadline
                values["requirements"] = listing.requirements
            else:
                assert isinstance(listing, Offering)
                values["maturity"] = (
                    MATURITY_LABELS[Maturity(listing.maturity)] if listing.maturity in Maturity.__members__ else ""
                )
                values["reference_cases"] = listing.reference_cases
                values["certifications"] = listing.certifications
            rows.append([values.get(f) for f in FIELDS])
    return rows


def to_xlsx(kind: ListingKind, rows: list[list[Any]]) -> bytes:
    return xlsx_bytes(SHEET_TITLES[kind], HEADERS, rows, widths=[_WIDTHS.get(f, 14) for f in FIELDS])


def to_csv(rows: list[list[Any]]) -> bytes:
    # Dates as ISO text; everything else as is.
    return csv_bytes([HEADERS, *([v.isoformat() if isinstance(v, date) else v for v in row] for row in rows)])
