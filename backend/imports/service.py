"""Bulk import of listings: unknown organisations are created, external ids upsert, bad rows are reported.

Every import is recorded (`ListingImport`: file name, who, counts) and each listing it creates
is marked with it. Without "导入后直接发布" a new listing lands in the review queue
(`pending_review`) where a matchmaker publishes or returns it, marked with its import; it no
longer sits as a draft of an organisation that may have no account to see it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_staff
from backend.imports.parsing import ImportRow, RowError
from backend.kit.db import utcnow
from backend.listings.models import (
    DOMAIN_LINKS,
    LISTING_MODELS,
    TRACK_LINKS,
    ListingImport,
    ListingKind,
    ListingStatus,
    Offering,
    Opportunity,
)
from backend.listings.service import place_to_region
from backend.organisations.credit_code import validate_credit_code
from backend.organisations.models import Organisation, OrganisationKind
from backend.outbox.service import record_listing_change
from backend.subscriptions import service as subscriptions_service
from backend.taxonomy.mapping import classify_categories, load_taxonomy
from backend.taxonomy.service import get_or_create_batch

_DEFAULT_ORGANISATION_KIND = {
    ListingKind.opportunity: OrganisationKind.government,
    ListingKind.offering: OrganisationKind.enterprise,
}
_MATURITIES = {"concept", "prototype", "pilot", "mature"}


@dataclass
class ImportReport:
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    organisations_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    import_id: int | None = None


class _RowRejected(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        self.field, self.reason = field, reason


async def _organisation_for(
    session: AsyncSession, row: ImportRow, kind: ListingKind, cache: dict[str, Organisation], report: ImportReport
) -> Organisation:
    if row.organisation in cache:
        return cache[row.organisation]
    organisation = (await session.exec(select(Organisation).where(Organisation.name == row.organisation))).first()
    if organisation is None:
        credit_code = None
        if row.credit_code:
            try:
                credit_code = validate_credit_code(row.credit_code)
            except ValueError as exc:
                raise _RowRejected("credit_code", str(exc)) from exc
            taken = (await session.exec(select(Organisation.id).where(Organisation.credit_code == credit_code))).first()
            if taken is not None:
                raise _RowRejected("credit_code", "该统一社会信用代码已属于另一个组织")
        organisation_kind = row.organisation_kind or _DEFAULT_ORGANISATION_KIND[kind]
        if organisation_kind not in OrganisationKind.__members__:
            raise _RowRejected("organisation_kind", f"单位类型无效：{organisation_kind}")
        organisation = Organisation(
            name=row.organisation,
            kind=organisation_kind,
            credit_code=credit_code,
            region_code=place_to_region(row.region),
            place=row.region,
        )
        session.add(organisation)
        await session.flush()
        report.organisations_created += 1
    cache[row.organisation] = organisation
    return organisation


def _classify(row: ImportRow, taxonomy: dict) -> tuple[list[str], list[str], list[str]]:
    """Map free-form categories onto tracks and domains; whatever does not map is kept as a tag."""
    tracks: list[str] = []
    domains: list[str] = []
    tags: list[str] = []
    for raw in (row.tracks, row.domains):
        classified = classify_categories(raw, taxonomy)
        tracks += classified.tracks
        domains += classified.domains
        tags += classified.tags
    return list(dict.fromkeys(tracks)), list(dict.fromkeys(domains)), list(dict.fromkeys(tags))


# An export (backend.opendata) names a listing without an external id `<kind>-<id>`.
_EXPORTED_ID = re.compile(r"(opportunity|offering)-([1-9][0-9]{0,8})")


async def _exported_listing(
    session: AsyncSession, kind: ListingKind, external_id: str
) -> Opportunity | Offering | None:
    """The listing an exported row came from, so that re-importing the file updates it instead of duplicating it."""
    match = _EXPORTED_ID.fullmatch(external_id)
    if match is None or match[1] != kind.value:
        return None
    listing = await session.get(LISTING_MODELS[kind], int(match[2]))
    return listing if listing is not None and listing.external_id is None else None


async def _apply_row(
    session: AsyncSession,
    row: ImportRow,
    *,
    actor: Actor,
    publish: bool,
    taxonomy: dict,
    organisations: dict[str, Organisation],
    report: ImportReport,
    import_id: int | None = None,
) -> bool:
    kind = ListingKind(row.kind)
    model = LISTING_MODELS[kind]
    organisation = await _organisation_for(session, row, kind, organisations, report)
    tracks, domains, tags = _classify(row, taxonomy)
    if row.maturity and row.maturity not in _MATURITIES:
        raise _RowRejected("maturity", f"成熟度无效：{row.maturity}（可选 concept/prototype/pilot/mature）")

    listing = None
    if row.external_id:
        listing = (await session.exec(select(model).where(model.external_id == row.external_id))).first()
        if listing is None:
            listing = await _exported_listing(session, kind, row.external_id)
    created = listing is None
    if listing is None:
        listing = model(
            title=row.title,
            organisation_id=organisation.id,
            external_id=row.external_id,
            created_by_id=actor.user_id,
            import_id=import_id,
            status=ListingStatus.pending_review,
        )
    listing.title = row.title
    listing.description = row.description
    listing.organisation_id = organisation.id
    listing.place = row.region
    listing.region_code = place_to_region(row.region)
    listing.tags = tags
    listing.contact = row.contact
    if isinstance(listing, Opportunity):
        listing.budget_text = row.budget_text
        listing.budget_min = row.budget_min
        listing.budget_max = row.budget_max
        listing.deadline = row.deadline
        listing.requirements = row.requirements
    else:
        listing.maturity = row.maturity
        listing.reference_cases = row.reference_cases
        listing.certifications = row.certifications
    if row.batch is not None:
        listing.batch_id = (await get_or_create_batch(session, number=row.batch)).id
    newly_published = publish and listing.status in (ListingStatus.draft, ListingStatus.pending_review)
    if newly_published:
        listing.status = ListingStatus.published
        listing.published_at = listing.published_at or utcnow()
    listing.modified_at = utcnow()
    session.add(listing)
    await session.flush()

    track_link, domain_link = TRACK_LINKS[kind], DOMAIN_LINKS[kind]
    if not created:
        for link in (track_link, domain_link):
            for existing in (await session.exec(select(link).where(link.listing_id == listing.id))).all():
                await session.delete(existing)
        await session.flush()
    for code in tracks:
        session.add(track_link(listing_id=listing.id, track_code=code))
    for code in domains:
        session.add(domain_link(listing_id=listing.id, domain_code=code))
    await session.flush()
    await record_listing_change(session, kind=kind, listing_id=listing.id)
    if newly_published and isinstance(listing, Opportunity):
        # Published by import is still published: subscribers hear of it as they would otherwise.
        await subscriptions_service.on_opportunity_published(session, listing)
    return created


async def import_rows(
    session: AsyncSession,
    *,
    actor: Actor,
    rows: list[ImportRow],
    parse_errors: list[RowError],
    publish: bool = False,
    on_progress: Callable[[int], None] | None = None,
    filename: str = "",
) -> ImportReport:
    """Apply parsed rows, each in its own savepoint so that one bad row never costs the good ones."""
    require_staff(actor, "只有撮合专员或管理员可以批量导入")
    report = ImportReport(total_rows=len(rows) + len(parse_errors), errors=list(parse_errors))
    run = ListingImport(filename=filename[:300], published=publish, created_by_id=actor.user_id)
    session.add(run)
    await session.flush()
    report.import_id = run.id
    taxonomy = load_taxonomy()
    organisations: dict[str, Organisation] = {}
    seen_external_ids: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.kind, row.external_id or "")
        if row.external_id and key in seen_external_ids:
            report.errors.append(RowError(row.row_number, "external_id", f"编号在本文件中重复：{row.external_id}"))
            continue
        seen_external_ids.add(key)
        savepoint = await session.begin_nested()
        try:
            created = await _apply_row(
                session,
                row,
                actor=actor,
                publish=publish,
                taxonomy=taxonomy,
                organisations=organisations,
                report=report,
                import_id=run.id,
            )
        except _RowRejected as exc:
            await savepoint.rollback()
            organisations.pop(row.organisation, None)
            report.errors.append(RowError(row.row_number, exc.field, exc.reason))
        except (IntegrityError, DBAPIError) as exc:
            await savepoint.rollback()
            organisations.pop(row.organisation, None)
            report.errors.append(
                RowError(row.row_number, None, f"数据库拒绝了该行：{type(exc.orig).__name__ if exc.orig else exc}")
            )
        else:
            await savepoint.commit()
            if created:
                report.created += 1
            else:
                report.updated += 1
        if on_progress:
            on_progress(1)
    report.errors.sort(key=lambda e: e.row_number)
    run.total_rows, run.created, run.updated = report.total_rows, report.created, report.updated
    session.add(run)
    await session.flush()
    return report
