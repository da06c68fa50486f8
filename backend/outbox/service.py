"""Writing to the outbox. Draining it belongs to the search sync worker."""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.outbox.models import OutboxEvent

LISTING_CHANGED = "listing.changed"


async def record_listing_change(session: AsyncSession, *, kind: str, listing_id: int) -> None:
    """Queue a listing for (re)indexing in the caller's transaction."""
    session.add(OutboxEvent(topic=LISTING_CHANGED, entity_kind=kind, entity_id=listing_id))
    await session.flush()
