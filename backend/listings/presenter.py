"""Turn listing rows into their public shape, hiding what the actor may not see."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.listings.hooks import released_contact_ids
from backend.listings.models import ListingKind, Offering, Opportunity
from backend.listings.schemas import CodeName, OfferingPublic, OpportunityPublic, OrganisationRef
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
    batches = (
        dict((await session.exec(select(Batch.id, Batch.number).where(col(Batch.id).in_(batch_ids)))).all())
        if batch_ids
        else {}
    )
    # An approved introduction releases the contact (and only that) to the enterprise.
    opportunity_ids = [listing.id for k, listing in rows if k == ListingKind.opportunity]
    released = await released_contact_ids(session, actor=actor, opportunity_ids=opportunity_ids)

    out: list[OpportunityPublic | OfferingPublic] = []
    for kind, listing in rows:
        tracks, domains = classification[kind]
        organisation = organisations[listing.organisation_id]
        private = can_see_private_fields(actor, listing)
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
            "batch": batches.get(listing.batch_id) if listing.batch_id else None,
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
