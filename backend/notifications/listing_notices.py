"""The owning organisation hears of a matchmaker's decision on its listing (published, sent back).

Registered on `backend.listings.hooks.listing_reviewed` when imported (see `backend.wiring`), so
listings never imports notifications.
"""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.listings import hooks
from backend.listings.models import ListingKind
from backend.listings.permissions import Listing
from backend.notifications import service as notifications

KIND_LABELS = {ListingKind.opportunity: "机会", ListingKind.offering: "产品"}
# The public page of each kind ("/opportunities/12") and the owner's edit form.
SLUGS = {ListingKind.opportunity: "opportunities", ListingKind.offering: "offerings"}


@hooks.listing_reviewed.register
async def tell_owner(session: AsyncSession, listing: Listing, kind: ListingKind, decision: str, note: str) -> None:
    label = KIND_LABELS[kind]
    if decision == "published":
        batch = f"（第{note}批）" if note else ""
        kind_name, title = "listing_published", f"{label}已发布：{listing.title}"
        body = f"您提交的{label}“{listing.title}”已审核通过并公开发布{batch}。"
        link = f"/{SLUGS[kind]}/{listing.id}"
    elif decision == "sent_back":
        kind_name, title = "listing_sent_back", f"{label}被退回修改：{listing.title}"
        body = f"撮合专员退回了您提交的{label}“{listing.title}”。\n退回原因：{note}\n修改后可再次提交审核。"
        link = f"/workspace/{SLUGS[kind]}/{listing.id}/edit"
    else:
        return
    await notifications.notify(
        session,
        user_ids=await notifications.organisation_user_ids(session, listing.organisation_id),
        kind=kind_name,
        title=title,
        body=body,
        link=link,
    )


@hooks.owner_notice.register
async def deliver_owner_notice(
    session: AsyncSession, *, user_ids: Sequence[int], kind: str, title: str, body: str, link: str
) -> None:
    """Changes after publication (an edit request decided): the listings domain names the people."""
    await notifications.notify(session, user_ids=user_ids, kind=kind, title=title, body=body, link=link)
