"""Who may read and change a listing.

- Everyone reads a published listing; its own organisation and staff (matchmakers, admins)
  read it at every stage, together with its private fields (contact, review notes).
- Its organisation edits it while it is a draft; staff edit it at any stage.
- A listing the actor may not read is reported as missing, never as forbidden.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import visibility
from backend.auth.actor import Actor, require_signed_in
from backend.kit.errors import Conflict, NotFound
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus, Offering, Opportunity

Listing = Opportunity | Offering

KIND_LABELS = {ListingKind.opportunity: "机会", ListingKind.offering: "产品"}


def can_see_private_fields(actor: Actor, listing: Listing) -> bool:
    """Contact details and review notes: the listing's own organisation and staff only."""
    return actor.is_staff or actor.belongs_to(listing.organisation_id)


def can_read(actor: Actor, listing: Listing) -> bool:
    return listing.status == ListingStatus.published or can_see_private_fields(actor, listing)


def can_edit(actor: Actor, listing: Listing) -> bool:
    return actor.is_staff or (actor.belongs_to(listing.organisation_id) and listing.status == ListingStatus.draft)


def check_can_edit(actor: Actor, kind: ListingKind, listing: Listing) -> None:
    """401 for visitors; another organisation's listing is missing; a submitted one is a conflict."""
    require_signed_in(actor)
    if actor.is_staff:
        return
    if not actor.belongs_to(listing.organisation_id):
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    if listing.status != ListingStatus.draft:
        raise Conflict("只有草稿可以修改；已提交或已发布的内容请联系撮合专员", field="status")


async def get_readable(session: AsyncSession, *, actor: Actor, kind: ListingKind, id: int) -> Listing:
    """A listing the actor may see; anything else is reported as missing, not forbidden."""
    listing = await session.get(LISTING_MODELS[kind], id)
    if listing is None or not can_read(actor, listing):
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    return listing


def _history_check(kind: ListingKind) -> visibility.HistoryCheck:
    async def check(session: AsyncSession, actor: Actor, entity_id: int) -> None:
        require_signed_in(actor)
        listing = await session.get(LISTING_MODELS[kind], entity_id)
        if listing is None or not can_see_private_fields(actor, listing):
            raise NotFound("记录不存在")

    return check


# A listing's history (review notes, who changed what) is as private as its private fields.
for _kind in ListingKind:
    visibility.register(_kind.value)(_history_check(_kind))
