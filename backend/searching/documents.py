"""Listing rows → the documents the search engine indexes."""

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.listings.models import LISTING_MODELS, ListingKind, Offering, Opportunity
from backend.listings.service import Listing, load_classification
from backend.organisations.service import names_of as organisation_names_of
from backend.taxonomy.models import Batch
from backend.taxonomy.service import load_index
from search import ListingDocument


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def deadline_seconds(day: date) -> int:
    """How a deadline date is indexed (the end of that day, UTC): filters on a range of
    dates convert their bounds with this same function, so they compare like for like."""
    return int(datetime.combine(day, time.max, tzinfo=UTC).timestamp())


def _amount(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


async def city_codes(session: AsyncSession) -> dict[str, str]:
    """County → its city, so that a city filter or facet covers its counties."""
    return (await load_index(session)).cities


async def build_documents(
    session: AsyncSession, kind: ListingKind, listings: Sequence[Listing]
) -> list[ListingDocument]:
    if not listings:
        return []
    ids = [listing.id for listing in listings]
    tracks, domains = await load_classification(session, kind, ids)
    names = await load_index(session)
    cities = names.cities
    organisation_ids = {listing.organisation_id for listing in listings}
    organisations = await organisation_names_of(session, organisation_ids)
    batch_ids = {listing.batch_id for listing in listings if listing.batch_id}
    # Only a published batch is indexed: membership of a batch still being assembled is not public
    # (publishing a batch re-queues its listings, see backend.batches.service.publish_batch).
    batches = (
        dict(
            (
                await session.exec(
                    select(Batch.id, Batch.number).where(
                        col(Batch.id).in_(batch_ids), col(Batch.published_at).is_not(None)
                    )
                )
            ).all()
        )
        if batch_ids
        else {}
    )
    documents = []
    for listing in listings:
        if isinstance(listing, Opportunity):
            deadline = deadline_seconds(listing.deadline) if listing.deadline else None
            extra_text, maturity = listing.requirements, None
            budget = (_amount(listing.budget_min), _amount(listing.budget_max))
        else:
            assert isinstance(listing, Offering)
            deadline = None
            extra_text = "\n".join(part for part in (listing.reference_cases, listing.certifications) if part)
            maturity = listing.maturity
            budget = (None, None)
        documents.append(
            ListingDocument(
                id=ListingDocument.make_id(kind.value, listing.id),
                kind=kind.value,
                listing_id=listing.id,
                title=listing.title,
                description=listing.description,
                organisation=organisations.get(listing.organisation_id, ""),
                region=cities.get(listing.region_code, listing.region_code) if listing.region_code else None,
                place=listing.place,
                tracks=[names.tracks.get(code, code) for code in tracks[listing.id]],
                domains=[names.domains.get(code, code) for code in domains[listing.id]],
                tags=list(listing.tags),
                status=listing.status,
                batch=batches.get(listing.batch_id) if listing.batch_id else None,
                published_at=_seconds(listing.published_at),
                created_at=_seconds(listing.created_at) or 0,
                deadline=deadline,
                maturity=maturity,
                extra_text=extra_text,
                budget_min=budget[0],
                budget_max=budget[1],
                updated_at=_seconds(listing.modified_at) or 0,
            )
        )
    return documents


async def load_documents(session: AsyncSession, kind: ListingKind, listing_ids: Sequence[int]) -> list[ListingDocument]:
    model = LISTING_MODELS[kind]
    rows = (await session.exec(select(model).where(col(model.id).in_(list(listing_ids))))).all()
    return await build_documents(session, kind, rows)


async def all_documents(session: AsyncSession, *, chunk: int = 1000) -> AsyncIterator[list[ListingDocument]]:
    """Every listing of both kinds, in chunks, for a full rebuild."""
    for kind, model in LISTING_MODELS.items():
        last_id = 0
        while True:
            rows = (
                await session.exec(select(model).where(col(model.id) > last_id).order_by(col(model.id)).limit(chunk))
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            yield await build_documents(session, kind, rows)
