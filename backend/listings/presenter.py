"""Turn listing rows into their public shape, hiding what the actor may not see."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.listings.hooks import released_contact_ids
from backend.listings.models import (
    ListingImport,
    ListingKind,
    ListingRevision,
    ListingStatus,
    Offering,
    Opportunity,
    RevisionStatus,
)
from backend.listings.schemas import CodeName, ImportRef, OfferingPublic, OpportunityPublic, OrganisationRef
from backend.listings.service import Listing, can_see_private_fields, load_classification
from backend.organisations.models import Organisation
from backend.taxonomy.models import Batch
from backend.taxonomy.service import load_index


async def present(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listings: Sequence[Listing]
) -> list[OpportunityPublic | OfferingPublic]:
    return await present_mixed(session, actor=actor, rows=[(kind, listing) for listing in listings])


async def present_mixed(
    session: AsyncSession, *, actor: Actor, rows: Sequence[tuple[ListingKind, Listing]]
) -> list[OpportunityPublic | OfferingPublic]:
    """Listings of either kind, in the order given, with what they need loaded once for all."""
    if not rows:
        return []
    classification = {}
    for kind in ListingKind:
        ids = [listing.id for k, listing in rows if k == kind]
        if ids:
            classification[kind] = await load_classification(session, kind, ids)
    names = await load_index(session)
    organisation_ids = {listing.organisation_id for _, listing in rows}
    organisations = {
        o.id: o
        for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
    }
    batch_ids = {listing.batch_id for _, listing in rows if listing.batch_id is not None}
    batches: dict[int, tuple[int, bool]] = (
        {
            batch_id: (number, published_at is not None)
            for batch_id, number, published_at in (
                await session.exec(
                    select(Batch.id, Batch.number, Batch.published_at).where(col(Batch.id).in_(batch_ids))
                )
            ).all()
        }
        if batch_ids
        else {}
    )
    import_ids = {listing.import_id for _, listing in rows if listing.import_id is not None}
    imports = (
        {
            i.id: i
            for i in (await session.exec(select(ListingImport).where(col(ListingImport.id).in_(import_ids)))).all()
        }
        if import_ids
        else {}
    )
    pending: dict[tuple[str, int], int] = {}
    if any(can_see_private_fields(actor, listing) for _, listing in rows):
        revision_rows = await session.exec(
            select(ListingRevision.listing_kind, ListingRevision.listing_id, ListingRevision.id).where(
                ListingRevision.status == RevisionStatus.pending,
                col(ListingRevision.listing_id).in_([listing.id for _, listing in rows]),
            )
        )
        pending = {(k, i): r for k, i, r in revision_rows.all() if r is not None}
    # An approved introduction releases the contact (and only that) to the enterprise.
    opportunity_ids = [listing.id for k, listing in rows if k == ListingKind.opportunity]
    released = await released_contact_ids(session, actor=actor, opportunity_ids=opportunity_ids)

    out: list[OpportunityPublic | OfferingPublic] = []
    for kind, listing in rows:
        tracks, domains = classification[kind]
        organisation = organisations[listing.organisation_id]
        private = can_see_private_fields(actor, listing)
        batch_number, batch_published = (
            batches.get(listing.batch_id, (None, False)) if listing.batch_id else (None, False)
        )
        imported = imports.get(listing.import_id) if listing.import_id else None
        common = {
            "id": listing.id,
            "kind": kind.value,
            "title": listing.title,
            "description": listing.description,
            "organisation": OrganisationRef(id=organisation.id, name=organisation.name, kind=organisation.kind),
            "region": CodeName(
                code=listing.region_code, name=names.regions.get(listing.region_code, listing.region_code)
            )
            if listing.region_code
            else None,
            "place": listing.place,
            "tracks": [CodeName(code=c, name=names.tracks.get(c, c)) for c in tracks[listing.id]],
            "domains": [CodeName(code=c, name=names.domains.get(c, c)) for c in domains[listing.id]],
            "tags": listing.tags,
            "status": listing.status,
            # A batch is part of the public record only once it is published (发布第N批); until then
            # the card says nothing of it, except to staff who assemble the batch.
            "batch": batch_number if batch_published or actor.is_staff else None,
            "batch_published": batch_published,
            "withdrawal_reason": listing.withdrawal_reason if listing.status == ListingStatus.withdrawn else "",
            "imported_from": ImportRef(id=imported.id, filename=imported.filename, created_at=imported.created_at)
            if private and imported is not None and imported.id is not None
            else None,
            "pending_revision_id": pending.get((kind.value, listing.id)) if private else None,
            "contact": listing.contact
            if private or (kind == ListingKind.opportunity and listing.id in released)
            else None,
            "review_note": listing.review_note if private else None,
            "published_at": listing.published_at,
            "created_at": listing.created_at,
            "modified_at": listing.modified_at,
            "merged_into_id": listing.merged_into_id,
        }
        if isinstance(listing, Opportunity):
            out.append(
                OpportunityPublic(
                    **common,
                    budget_text=listing.budget_text,
                    budget_min=listing.budget_min,
                    budget_max=listing.budget_max,
                    deadline=listing.deadline,
                    requirements=listing.requirements,
                    closed_at=listing.closed_at,
                )
            )
        else:
            assert isinstance(listing, Offering)
            out.append(
                OfferingPublic(
                    **common,
                    maturity=listing.maturity,
                    reference_cases=listing.reference_cases,
                    certifications=listing.certifications,
                )
            )
    return out
