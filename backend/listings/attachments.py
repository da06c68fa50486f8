"""Documents and images attached to a listing (an opportunity's specification, an offering's
brochure or photo), checked by content like answer attachments and stored in `stored_file`.

- Whoever may read the listing may list and download its attachments: everyone once it is
  published, only its organisation and staff while it is a draft or under review.
- Its organisation adds and removes attachments while the listing is a draft (what is
  published changes only through review); staff may do so at any stage.
- Another organisation's draft is reported as missing, never as forbidden.
"""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.kit import files
from backend.kit.errors import Conflict, NotFound
from backend.listings.models import ListingAttachment, ListingKind, ListingStatus
from backend.listings.permissions import KIND_LABELS, Listing, can_see_private_fields, get_readable
from backend.listings.schemas import ListingAttachmentPublic
from backend.outbox.service import record_listings_shown

MISSING = "附件不存在"


def download_url(kind: ListingKind, listing_id: int, attachment_id: int) -> str:
    prefix = "opportunities" if kind == ListingKind.opportunity else "offerings"
    return f"/api/v1/{prefix}/{listing_id}/attachments/{attachment_id}"


def present(attachment: ListingAttachment) -> ListingAttachmentPublic:
    """An attachment as the API and the pages show it, with its download address."""
    assert attachment.id is not None
    return ListingAttachmentPublic(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        created_at=attachment.created_at,
        url=download_url(ListingKind(attachment.listing_kind), attachment.listing_id, attachment.id),
    )


def can_change(actor: Actor, listing: Listing) -> bool:
    """Whether the actor may add or remove the listing's attachments now."""
    return actor.is_staff or (actor.belongs_to(listing.organisation_id) and listing.status == ListingStatus.draft)


async def _changeable(session: AsyncSession, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    require_signed_in(actor)
    listing = await get_readable(session, actor=actor, kind=kind, id=listing_id)
    if not can_see_private_fields(actor, listing):
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    if not can_change(actor, listing):
        raise Conflict("只有草稿可以添加或删除附件；已提交或已发布的请联系撮合专员", field="file")
    return listing


async def list_for(session: AsyncSession, *, kind: ListingKind, listing_id: int) -> list[ListingAttachment]:
    """The listing's attachments, oldest first (the caller has checked it may read the listing)."""
    statement = (
        select(ListingAttachment)
        .where(ListingAttachment.listing_kind == kind.value, ListingAttachment.listing_id == listing_id)
        .order_by(col(ListingAttachment.id))
    )
    return list((await session.exec(statement)).all())


async def list_presented(session: AsyncSession, *, kind: ListingKind, listing_id: int) -> list[ListingAttachmentPublic]:
    """The listing's attachments with their download addresses (the caller has checked it may read it)."""
    return [present(a) for a in await list_for(session, kind=kind, listing_id=listing_id)]


async def list_readable(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int
) -> list[ListingAttachmentPublic]:
    await get_readable(session, actor=actor, kind=kind, id=listing_id)
    return await list_presented(session, kind=kind, listing_id=listing_id)


async def add(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: ListingKind,
    listing_id: int,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> ListingAttachment:
    """Check the file by content, store it, and attach it to the listing."""
    await _changeable(session, actor, kind, listing_id)
    attachment = await files.store(
        session,
        ListingAttachment,
        data,
        filename,
        max_bytes=max_bytes,
        uploaded_by_id=actor.user_id,
        listing_kind=kind.value,
        listing_id=listing_id,
    )
    await record_listings_shown(session, kind=kind.value, listing_ids=[listing_id])
    return attachment


async def get(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, attachment_id: int
) -> ListingAttachment:
    """An attachment of a listing the actor may read."""
    await get_readable(session, actor=actor, kind=kind, id=listing_id)
    return await _of_listing(session, kind, listing_id, attachment_id)


async def _of_listing(
    session: AsyncSession, kind: ListingKind, listing_id: int, attachment_id: int
) -> ListingAttachment:
    attachment = await session.get(ListingAttachment, attachment_id)
    if attachment is None or attachment.listing_kind != kind.value or attachment.listing_id != listing_id:
        raise NotFound(MISSING)
    return attachment


async def remove(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, attachment_id: int
) -> None:
    """Detach the file and drop its stored bytes."""
    await _changeable(session, actor, kind, listing_id)
    await files.discard(session, await _of_listing(session, kind, listing_id, attachment_id))
    await record_listings_shown(session, kind=kind.value, listing_ids=[listing_id])
