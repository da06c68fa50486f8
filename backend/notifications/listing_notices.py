"""Delivers the listings domain's notices to a listing's organisation (registered on `listings.hooks.owner_notice`)."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.listings import hooks
from backend.notifications.service import notify


@hooks.owner_notice.register
async def _deliver(
    session: AsyncSession, *, user_ids: Sequence[int], kind: str, title: str, body: str, link: str
) -> None:
    await notify(session, user_ids=user_ids, kind=kind, title=title, body=body, link=link)
