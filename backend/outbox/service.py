"""Writing to the outbox. Draining it belongs to the search sync worker.

Topics:
- `listing.changed`: the search index must learn the listing's current state (the sync worker
  applies it);
- `listing.published`: the listing was just published; once the index holds it, the saved
  searches run over it (`backend.subscriptions.alerts`, run by the same worker after a sync);
- `listing.shown`: what the listing's page shows beside the listing itself changed (its
  attachments, its published winners). Nothing to index: the row is written done, and serves
  as the change mark that visitors' kept pages are held to (backend/listings/public_cache.py).
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.db import utcnow
from backend.outbox.models import OutboxEvent

LISTING_CHANGED = "listing.changed"
LISTING_PUBLISHED = "listing.published"
LISTING_SHOWN = "listing.shown"


async def record_listing_change(session: AsyncSession, *, kind: str, listing_id: int) -> None:
    """Queue a listing for (re)indexing in the caller's transaction."""
    session.add(OutboxEvent(topic=LISTING_CHANGED, entity_kind=kind, entity_id=listing_id))
    await session.flush()


async def record_listings_shown(session: AsyncSession, *, kind: str, listing_ids: list[int]) -> None:
    """Note in the caller's transaction that these listings' pages show something new (one
    INSERT, the rows written done: nothing to index)."""
    await _insert(session, LISTING_SHOWN, kind, listing_ids, done=True)


async def record_listing_changes(session: AsyncSession, *, kind: str, listing_ids: list[int]) -> None:
    """`record_listing_change` for many listings in one multi-row INSERT (bulk imports)."""
    await _insert(session, LISTING_CHANGED, kind, listing_ids)


async def record_listings_published(session: AsyncSession, *, kind: str, listing_ids: list[int]) -> None:
    """Note in the caller's transaction that listings were published (after their `listing.changed`
    row, so the alerts run once the index holds the publication)."""
    await _insert(session, LISTING_PUBLISHED, kind, listing_ids)


async def _insert(session: AsyncSession, topic: str, kind: str, listing_ids: list[int], *, done: bool = False) -> None:
    if not listing_ids:
        return
    now = utcnow()
    rows = [
        {
            "topic": topic,
            "entity_kind": kind,
            "entity_id": i,
            "created_at": now,
            "available_at": now,
            "processed_at": now if done else None,
        }
        for i in listing_ids
    ]
    await session.exec(insert(OutboxEvent), params=rows)


async def change_stamp(session: AsyncSession) -> int:
    """The newest outbox row's id: it moves whenever anything a list of listings shows may have
    changed, since every such change writes a row in its own transaction (0 when there are none).
    One index lookup, so a page can ask it on every request to know whether counts it kept still hold."""
    return (await session.exec(select(func.max(col(OutboxEvent.id))))).one() or 0


# Outbox ids looked at again on each look: two PostgreSQL transactions may commit in the other
# order than they drew their ids, so the newest id alone can miss one that commits late.
OUT_OF_ORDER = 100


async def change_mark(session: AsyncSession) -> tuple[int, int]:
    """`change_stamp`, and how many rows the last `OUT_OF_ORDER` ids below it hold: a transaction
    that drew its id before the newest row's and committed after it moves the second number.
    Two index lookups in one statement. SQLite has one writer at a time, so its ids commit in
    order and the stamp alone tells."""
    if session.get_bind().dialect.name == "sqlite":
        return await change_stamp(session), 0
    newest = select(func.coalesce(func.max(col(OutboxEvent.id)), 0)).scalar_subquery()
    recent = select(func.count()).select_from(OutboxEvent).where(col(OutboxEvent.id) > newest - OUT_OF_ORDER)
    stamp, count = (await session.exec(select(newest, recent.scalar_subquery()))).one()
    return stamp, count


async def postpone(
    session: AsyncSession,
    events: Sequence[OutboxEvent],
    error: BaseException,
    *,
    now: datetime,
    delay: Callable[[int], timedelta],
) -> None:
    """Leave rows pending after a failed round: one more attempt counted, the reason kept on
    each row, and the next try after `delay(attempts)`."""
    for event in events:
        event.attempts += 1
        event.last_error = f"{type(error).__name__}: {error}"[:1000]
        event.available_at = now + delay(event.attempts)
        session.add(event)
    await session.flush()
