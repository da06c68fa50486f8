"""The sync worker: drains the outbox into the search engine.

At least once and idempotent: each outbox row names a listing, and applying it means
"make the index hold that listing's current state" (upsert by id, or delete when the
listing is gone), so a row applied twice does no harm. One worker drains at a time
(a PostgreSQL advisory lock), so an older state can never overwrite a newer one.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from anyio import to_thread
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.db import session_scope, utcnow
from backend.kit.worker import PollingWorker
from backend.listings.models import ListingKind
from backend.outbox.models import OutboxEvent
from backend.searching.documents import all_documents, load_documents
from search import ListingDocument, SearchEngine, SearchUnavailable

logger = logging.getLogger(__name__)

# Any constant shared by all workers; "scenematch search sync" as a number.
ADVISORY_LOCK_KEY = 0x5C3E_5EA5
MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 12) * 0.5))


async def _try_lock(session: AsyncSession) -> bool:
    if session.bind.dialect.name != "postgresql":
        return True  # SQLite: the demo runs a single process
    return bool(
        (await session.exec(text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=ADVISORY_LOCK_KEY))).scalar()
    )  # type: ignore[call-overload]


async def drain(session: AsyncSession, engine: SearchEngine, *, limit: int = 500) -> int:
    """Apply up to `limit` due outbox rows to the engine; returns how many were applied.

    On engine failure the rows stay pending with a backoff, and the error propagates
    nowhere: writes elsewhere keep succeeding.
    """
    if not await _try_lock(session):
        return 0
    now = utcnow()
    events = list(
        (
            await session.exec(
                select(OutboxEvent)
                .where(col(OutboxEvent.processed_at).is_(None), OutboxEvent.available_at <= now)
                .order_by(col(OutboxEvent.id))
                .limit(limit)
            )
        ).all()
    )
    if not events:
        return 0
    wanted: dict[ListingKind, set[int]] = {}
    for event in events:
        wanted.setdefault(ListingKind(event.entity_kind), set()).add(event.entity_id)
    documents: list[ListingDocument] = []
    gone: list[str] = []
    for kind, ids in wanted.items():
        found = await load_documents(session, kind, sorted(ids))
        documents += found
        present = {doc.listing_id for doc in found}
        gone += [ListingDocument.make_id(kind.value, i) for i in ids - present]
    try:
        await _apply(engine, documents, gone)
    except Exception as exc:
        logger.warning("search sync failed for %d outbox rows: %s", len(events), exc)
        for event in events:
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            event.available_at = now + backoff(event.attempts)
            session.add(event)
        await session.flush()
        return 0
    for event in events:
        event.processed_at = now
        session.add(event)
    await session.flush()
    return len(events)


async def _apply(engine: SearchEngine, documents: Sequence[ListingDocument], gone: Sequence[str]) -> None:
    if documents:
        await to_thread.run_sync(engine.upsert, list(documents))
    if gone:
        await to_thread.run_sync(engine.delete, list(gone))


async def reindex(session: AsyncSession, engine: SearchEngine) -> int:
    """Rebuild the index from the database (fresh index, swapped in when complete)."""
    documents: list[ListingDocument] = []
    async for chunk in all_documents(session):
        documents += chunk
    await to_thread.run_sync(engine.rebuild, documents)
    return len(documents)


async def pending_count(session: AsyncSession) -> int:
    from sqlmodel import func

    return (
        await session.exec(select(func.count()).select_from(OutboxEvent).where(col(OutboxEvent.processed_at).is_(None)))
    ).one()


class SyncWorker(PollingWorker):
    """Runs `drain` in a loop, in-process (serve, demo) or on its own (`scenematch worker`)."""

    name = "search-sync"

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], engine: SearchEngine, *, poll_seconds: float = 0.5
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self.sessionmaker = sessionmaker
        self.engine = engine

    async def run_once(self) -> int:
        async with session_scope(self.sessionmaker) as session:
            return await drain(session, self.engine)


__all__ = ["SearchUnavailable", "SyncWorker", "drain", "pending_count", "reindex"]
