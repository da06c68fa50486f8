"""Bulk import of listings: unknown organisations are created, external ids upsert, bad rows are reported."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, delete, func, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_staff
from backend.imports.parsing import ImportRow, RowError
from backend.kit.db import utcnow
from backend.kit.errors import describe_database_refusal
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
from backend.outbox.service import record_listing_change, record_listing_changes, record_listings_published
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
    key = (tuple(row.tracks), tuple(row.domains))
    cached = _CLASSIFIED.get(key)
    if cached is None or cached[0] is not taxonomy:
        cached = (taxonomy, _classify_uncached(row, taxonomy))
        if len(_CLASSIFIED) > 10_000:
            _CLASSIFIED.clear()
        _CLASSIFIED[key] = cached
    tracks, domains, tags = cached[1]
    return list(tracks), list(domains), list(tags)


# Imported files repeat the same few category strings on thousands of rows, and classifying
# one is the dearest Python work of a row; the taxonomy is the seed file, fixed per process.
_CLASSIFIED: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[dict, tuple[list[str], list[str], list[str]]]] = {}


def _classify_uncached(row: ImportRow, taxonomy: dict) -> tuple[list[str], list[str], list[str]]:
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
    if newly_published:
        # Published by import is still published: saved searches hear of it as they would otherwise.
        await record_listings_published(session, kind=kind, listing_ids=[listing.id])
    return created


# Rows applied together: one query per kind of lookup and one multi-row INSERT per table
# for the whole chunk, instead of a savepoint and a dozen statements per row.
CHUNK_ROWS = 500


@dataclass
class _Chunk:
    """What one chunk adds to the report; merged only once the chunk is kept."""

    created: int = 0
    updated: int = 0
    organisations_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    new_organisations: list[str] = field(default_factory=list)


async def _load_organisations(
    session: AsyncSession,
    rows: list[ImportRow],
    cache: dict[str, Organisation],
    chunk: _Chunk,
) -> list[ImportRow]:
    """Fill `cache` with every organisation the rows name, creating the missing ones in one INSERT.

    Returns the rows still standing: a row whose new organisation has an invalid or taken
    credit code is reported, as the row-by-row path would.
    """
    wanted = list(dict.fromkeys(r.organisation for r in rows if r.organisation not in cache))
    if wanted:
        found = await session.exec(select(Organisation).where(col(Organisation.name).in_(wanted)))
        for organisation in found.all():
            cache[organisation.name] = organisation
    creating: dict[str, tuple[ImportRow, str | None]] = {}
    kept: list[ImportRow] = []
    rejected: set[int] = set()
    for row in rows:
        if row.organisation in cache or row.organisation in creating:
            kept.append(row)
            continue
        credit_code = None
        if row.credit_code:
            try:
                credit_code = validate_credit_code(row.credit_code)
            except ValueError as exc:
                chunk.errors.append(RowError(row.row_number, "credit_code", str(exc)))
                continue
        organisation_kind = row.organisation_kind or _DEFAULT_ORGANISATION_KIND[ListingKind(row.kind)]
        if organisation_kind not in OrganisationKind.__members__:
            chunk.errors.append(RowError(row.row_number, "organisation_kind", f"单位类型无效：{organisation_kind}"))
            continue
        creating[row.organisation] = (row, credit_code)
        kept.append(row)
    codes = [code for _, code in creating.values() if code]
    taken: set[str] = set()
    if codes:
        statement = select(Organisation.credit_code).where(col(Organisation.credit_code).in_(codes))
        taken = {code for code in (await session.exec(statement)).all() if code}
    claimed: set[str] = set()
    for name, (row, credit_code) in list(creating.items()):
        if credit_code and (credit_code in taken or credit_code in claimed):
            chunk.errors.append(RowError(row.row_number, "credit_code", "该统一社会信用代码已属于另一个组织"))
            rejected.add(row.row_number)
            del creating[name]
            continue
        if credit_code:
            claimed.add(credit_code)
        organisation_kind = row.organisation_kind or _DEFAULT_ORGANISATION_KIND[ListingKind(row.kind)]
        organisation = Organisation(
            name=name,
            kind=organisation_kind,
            credit_code=credit_code,
            region_code=place_to_region(row.region),
            place=row.region,
        )
        session.add(organisation)
        cache[name] = organisation
        chunk.new_organisations.append(name)
    if creating:
        await session.flush()
        chunk.organisations_created += len(creating)
    # A row whose organisation was refused goes with it (other rows naming it too).
    return [r for r in kept if r.row_number not in rejected and r.organisation in cache]


async def _existing_listings(
    session: AsyncSession, kind: ListingKind, rows: list[ImportRow]
) -> dict[str, Opportunity | Offering]:
    model = LISTING_MODELS[kind]
    ids = [r.external_id for r in rows if r.external_id]
    found: dict[str, Opportunity | Offering] = {}
    if ids:
        result = await session.exec(select(model).where(col(model.external_id).in_(ids)))
        found = {listing.external_id: listing for listing in result.all() if listing.external_id}  # type: ignore[misc]
    for external_id in ids:
        if external_id not in found:
            exported = await _exported_listing(session, kind, external_id)
            if exported is not None:
                found[external_id] = exported
    return found


def _values(row: ImportRow, kind: ListingKind, organisation: Organisation, tags: list[str]) -> dict[str, Any]:
    """The columns an import row sets, as `_apply_row` sets them."""
    values: dict[str, Any] = {
        "title": row.title,
        "description": row.description,
        "organisation_id": organisation.id,
        "place": row.region,
        "region_code": _region_of(row.region),
        "tags": tags,
        "contact": row.contact,
    }
    if kind is ListingKind.opportunity:
        values.update(
            budget_text=row.budget_text,
            budget_min=row.budget_min,
            budget_max=row.budget_max,
            deadline=row.deadline,
            requirements=row.requirements,
        )
    else:
        values.update(maturity=row.maturity, reference_cases=row.reference_cases, certifications=row.certifications)
    return values


_REGIONS: dict[str, str | None] = {}


def _region_of(place: str) -> str | None:
    """`place_to_region`, remembered: an import names the same few places on every row."""
    if place not in _REGIONS:
        if len(_REGIONS) > 10_000:
            _REGIONS.clear()
        _REGIONS[place] = place_to_region(place)
    return _REGIONS[place]


# Every other column of a new listing, as the model's defaults would set it. New listings
# are inserted as plain rows: building thousands of SQLModel objects (pydantic defaults,
# validation) cost more than all the SQL of the import.
_NEW_OPPORTUNITY: dict[str, Any] = {
    "external_id": None,
    "batch_id": None,
    "closed_at": None,
    "merged_into_id": None,
    "withdrawal_reason": "",
    "import_id": None,
}
_NEW_OFFERING: dict[str, Any] = {
    "external_id": None,
    "batch_id": None,
    "withdrawn_at": None,
    "merged_into_id": None,
    "withdrawal_reason": "",
    "import_id": None,
}


def _new_listing(kind: ListingKind, values: dict[str, Any], *, actor: Actor, now: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(_NEW_OPPORTUNITY if kind is ListingKind.opportunity else _NEW_OFFERING)
    out.update(
        # Not published by the import: it waits in the review queue (issue 12), not as an invisible draft.
        status=ListingStatus.pending_review.value,
        review_note="",
        created_by_id=actor.user_id,
        published_at=None,
        created_at=now,
        modified_at=now,
    )
    out.update(values)
    return out


async def _reserve_ids(session: AsyncSession, table: str, count: int) -> list[int]:
    """Ids for `count` new rows of `table`, so that they go in as one executemany with no RETURNING.

    PostgreSQL hands them out from the table's sequence (safe next to any other writer).
    On SQLite the transaction holds the database's write lock from its first statement
    (`BEGIN IMMEDIATE`, see `backend.kit.db`), so nobody else can insert between reading
    the largest id and using the ones after it.
    """
    if session.get_bind().dialect.name == "postgresql":
        result = await session.exec(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)").bindparams(
                table=table, n=count
            )
        )  # type: ignore[call-overload]
        return [int(value) for (value,) in result.all()]
    ids = Table(table, MetaData(), Column("id", Integer)).c.id
    largest = (await session.exec(select(func.coalesce(func.max(ids), 0)))).one()
    first = int(largest) + 1
    return list(range(first, first + count))


async def _apply_chunk(
    session: AsyncSession,
    rows: list[ImportRow],
    *,
    actor: Actor,
    publish: bool,
    taxonomy: dict,
    organisations: dict[str, Organisation],
    batches: dict[int, int],
    chunk: _Chunk,
    import_id: int | None = None,
) -> None:
    """Apply a chunk of rows with set-based statements; raises on any database refusal."""
    standing: list[ImportRow] = []
    for row in rows:
        if row.maturity and row.maturity not in _MATURITIES:
            chunk.errors.append(
                RowError(
                    row.row_number, "maturity", f"成熟度无效：{row.maturity}（可选 concept/prototype/pilot/mature）"
                )
            )
        else:
            standing.append(row)
    standing = await _load_organisations(session, standing, organisations, chunk)
    for number in {r.batch for r in standing if r.batch is not None} - batches.keys():
        batches[number] = (await get_or_create_batch(session, number=number)).id  # type: ignore[assignment]
    now = utcnow()
    for kind in ListingKind:
        published: list[int] = []  # ids of the listings of this kind the chunk published
        mine = [r for r in standing if r.kind == kind.value]
        if not mine:
            continue
        model = LISTING_MODELS[kind]
        existing = await _existing_listings(session, kind, mine)
        # (listing id or the index of a new row, tracks, domains)
        links: list[tuple[int, list[str], list[str]]] = []
        updated: list[tuple[int, list[str], list[str]]] = []
        new_rows: list[dict[str, Any]] = []
        new_links: list[tuple[list[str], list[str]]] = []
        for row in mine:
            tracks, domains, tags = _classify(row, taxonomy)
            values = _values(row, kind, organisations[row.organisation], tags)
            if row.batch is not None:
                values["batch_id"] = batches[row.batch]
            listing = existing.get(row.external_id) if row.external_id else None
            if listing is None:
                values = _new_listing(kind, values, actor=actor, now=now)
                values["external_id"] = row.external_id
                values["import_id"] = import_id
                if publish:
                    values.update(status=ListingStatus.published.value, published_at=now)
                new_rows.append(values)
                new_links.append((tracks, domains))
                continue
            for name, value in values.items():
                setattr(listing, name, value)
            if publish and listing.status in (ListingStatus.draft, ListingStatus.pending_review):
                listing.status = ListingStatus.published
                listing.published_at = listing.published_at or now
                published.append(listing.id)  # type: ignore[arg-type]
            listing.modified_at = now
            session.add(listing)
            updated.append((listing.id, tracks, domains))  # type: ignore[arg-type]
        await session.flush()  # the UPDATEs of listings that existed
        if new_rows:
            table = model.__table__  # type: ignore[union-attr]
            new_ids = await _reserve_ids(session, table.name, len(new_rows))
            for values, listing_id in zip(new_rows, new_ids, strict=True):
                values["id"] = listing_id
            await session.exec(insert(table), params=new_rows)  # type: ignore[call-overload]
            links += [(i, t, d) for i, (t, d) in zip(new_ids, new_links, strict=True)]
            if publish:
                published += new_ids
        track_link, domain_link = TRACK_LINKS[kind], DOMAIN_LINKS[kind]
        if updated:
            updated_ids = [listing_id for listing_id, _, _ in updated]
            for link in (track_link, domain_link):
                await session.exec(delete(link).where(col(link.listing_id).in_(updated_ids)))  # type: ignore[call-overload,union-attr]
        links += updated
        track_rows = [{"listing_id": i, "track_code": c} for i, tracks, _ in links for c in tracks]
        domain_rows = [{"listing_id": i, "domain_code": c} for i, _, domains in links for c in domains]
        if track_rows:
            await session.exec(insert(track_link), params=track_rows)  # type: ignore[call-overload]
        if domain_rows:
            await session.exec(insert(domain_link), params=domain_rows)  # type: ignore[call-overload]
        await record_listing_changes(session, kind=kind, listing_ids=[i for i, _, _ in links])
        # Published by import is still published: saved searches hear of it as they would otherwise.
        await record_listings_published(session, kind=kind, listing_ids=published)
        chunk.created += len(new_rows)
        chunk.updated += len(updated)
    await session.flush()


async def _apply_rows_one_by_one(
    session: AsyncSession,
    rows: list[ImportRow],
    *,
    actor: Actor,
    publish: bool,
    taxonomy: dict,
    organisations: dict[str, Organisation],
    report: ImportReport,
    import_id: int | None = None,
) -> None:
    """The slow path, for a chunk the database refused: each row in its own savepoint, so the
    row at fault is reported with the database's reason and every other row is kept."""
    for row in rows:
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
                import_id=import_id,
            )
        except _RowRejected as exc:
            await savepoint.rollback()
            organisations.pop(row.organisation, None)
            report.errors.append(RowError(row.row_number, exc.field, exc.reason))
        except (IntegrityError, DBAPIError) as exc:
            await savepoint.rollback()
            organisations.pop(row.organisation, None)
            report.errors.append(RowError(row.row_number, None, describe_database_refusal(exc)))
        else:
            await savepoint.commit()
            if created:
                report.created += 1
            else:
                report.updated += 1


async def import_rows(
    session: AsyncSession,
    *,
    actor: Actor,
    rows: list[ImportRow],
    parse_errors: list[RowError],
    publish: bool = False,
    on_progress: Callable[[int], None] | None = None,
    after_chunk: Callable[[], Awaitable[None]] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    filename: str = "",
) -> ImportReport:
    """Apply parsed rows chunk by chunk; one bad row never costs the good ones.

    Each chunk is applied with set-based statements inside a savepoint. If the database
    refuses any of it (a value too long for its column, a unique key taken meanwhile), the
    savepoint is rolled back and that chunk alone is replayed row by row, each row in its
    own savepoint, so the report names the row at fault and keeps the rest. Every listing
    gets its own outbox row, as any other write does. `after_chunk` runs after each chunk:
    the command line commits there, so a long import neither holds SQLite's write lock
    for minutes nor loses finished chunks to a crash.
    """
    require_staff(actor, "只有撮合专员或管理员可以批量导入")
    report = ImportReport(total_rows=len(rows) + len(parse_errors), errors=list(parse_errors))
    # The import itself is recorded; the listings it creates are marked with it (review queue).
    run = ListingImport(filename=filename[:300], published=publish, created_by_id=actor.user_id)
    session.add(run)
    await session.flush()
    report.import_id = run.id
    taxonomy = load_taxonomy()
    organisations: dict[str, Organisation] = {}
    batches: dict[int, int] = {}
    seen_external_ids: set[tuple[str, str]] = set()
    unique: list[ImportRow] = []
    for row in rows:
        key = (row.kind, row.external_id or "")
        if row.external_id and key in seen_external_ids:
            report.errors.append(RowError(row.row_number, "external_id", f"编号在本文件中重复：{row.external_id}"))
            continue
        seen_external_ids.add(key)
        unique.append(row)
    for start in range(0, len(unique), chunk_rows):
        part = unique[start : start + chunk_rows]
        chunk = _Chunk()
        savepoint = await session.begin_nested()
        try:
            await _apply_chunk(
                session,
                part,
                actor=actor,
                publish=publish,
                taxonomy=taxonomy,
                organisations=organisations,
                batches=batches,
                chunk=chunk,
                import_id=run.id,
            )
        except (IntegrityError, DBAPIError):
            await savepoint.rollback()
            for name in chunk.new_organisations:
                organisations.pop(name, None)
            for number in list(batches):
                batches.pop(number)  # a batch created inside the savepoint is gone with it
            await _apply_rows_one_by_one(
                session,
                part,
                actor=actor,
                publish=publish,
                taxonomy=taxonomy,
                organisations=organisations,
                report=report,
                import_id=run.id,
            )
        else:
            await savepoint.commit()
            report.created += chunk.created
            report.updated += chunk.updated
            report.organisations_created += chunk.organisations_created
            report.errors += chunk.errors
        if after_chunk is not None:
            await after_chunk()
        if on_progress:
            on_progress(len(part))
    if on_progress and len(unique) < len(rows):
        on_progress(len(rows) - len(unique))
    report.errors.sort(key=lambda e: e.row_number)
    run.total_rows, run.created, run.updated = report.total_rows, report.created, report.updated
    session.add(run)
    await session.flush()
    return report
