"""Who may read and change a listing.

- Everyone reads a published listing, and a listing withdrawn after publication (its page
  says it was withdrawn and why; it is in no list and no search); its own organisation and staff (matchmakers, admins)
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
    if listing.status == ListingStatus.published or can_see_private_fields(actor, listing):
        return True
    # Withdrawn after publication: the public page stays, with the reason (a merge is not a withdrawal).
    return (
        listing.status == ListingStatus.withdrawn
        and listing.published_at is not None
        and listing.merged_into_id is None
    )


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
        if listing.status == ListingStatus.published:
            raise Conflict("已发布的内容请提交修改申请，经撮合专员批准后生效", field="status")
        if listing.status == ListingStatus.pending_review:
            raise Conflict("待审核的内容不能修改；请先撤回审核，改好后再提交", field="status")
        raise Conflict("只有草稿可以修改", field="status")


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
