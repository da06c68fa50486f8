"""Writing to the outbox. Draining it belongs to the search sync worker."""

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.db import utcnow
from backend.outbox.models import OutboxEvent

LISTING_CHANGED = "listing.changed"


async def record_listing_change(session: AsyncSession, *, kind: str, listing_id: int) -> None:
    """Queue a listing for (re)indexing in the caller's transaction."""
    session.add(OutboxEvent(topic=LISTING_CHANGED, entity_kind=kind, entity_id=listing_id))
    await session.flush()


async def record_listing_changes(session: AsyncSession, *, kind: str, listing_ids: list[int]) -> None:
    """`record_listing_change` for many listings in one multi-row INSERT (bulk imports)."""
    if not listing_ids:
        return
    now = utcnow()
    rows = [
        {"topic": LISTING_CHANGED, "entity_kind": kind, "entity_id": i, "created_at": now, "available_at": now}
        for i in listing_ids
    ]
    await session.exec(insert(OutboxEvent), params=rows)
