"""The sync worker: drains the outbox into the search engine, then embeds.

At least once and idempotent: each outbox row names a listing, and applying it means
"make the index hold that listing's current state" (upsert by id, or delete when the
listing is gone), so a row applied twice does no harm. One worker drains at a time
(a PostgreSQL advisory lock), so an older state can never overwrite a newer one.

Embedding (listing vectors for matching, `search.vectorize`) is the worker's idle work:
only when the outbox is empty does it embed a few listings (`EMBED_BATCH`, about a
second or two of CPU), so a new or edited listing is searchable at once and gets its
vector shortly after; until then it is matched by text. A listing is embedded again only
when its text changed. Embedding failures are logged and never hold up the sync.

Only `listing.changed` rows are the sync's; after each round the worker runs the jobs
registered on `after_sync` (saved-search alerts over newly published listings), each in its
own transaction, so they see the index as this writer left it and one failing holds nothing up.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from anyio import to_thread
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit import busy
from backend.kit.db import session_scope, utcnow
from backend.kit.hooks import Hook
from backend.kit.worker import PollingWorker
from backend.listings.models import ListingKind
from backend.outbox.models import OutboxEvent
from backend.outbox.service import LISTING_CHANGED, postpone
from backend.searching.documents import all_documents, load_documents
from search import ListingDocument, SearchEngine, SearchUnavailable
from search.vectorize import Vectorizer

logger = logging.getLogger(__name__)

# Any constant shared by all workers; "scenematch search sync" as a number.
ADVISORY_LOCK_KEY = 0x5C3E_5EA5
MAX_BACKOFF_SECONDS = 300
# Listings embedded per idle round of the worker (2–3 sentences each).
EMBED_BATCH = 4

Applied = Callable[[Sequence[ListingDocument], Sequence[str]], None]

# Jobs that must run where the index is written, after a sync round (the subscriptions domain
# registers its alerts): each gets its own transaction and the engine, returns how much it did.
after_sync: Hook[Callable[[AsyncSession, SearchEngine], Awaitable[int]]] = Hook("searching.sync.after_sync")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 12) * 0.5))


async def _try_lock(session: AsyncSession) -> bool:
    if session.bind.dialect.name != "postgresql":
        return True  # SQLite: the demo runs a single process
    return bool(
        (await session.exec(text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=ADVISORY_LOCK_KEY))).scalar()
    )  # type: ignore[call-overload]


async def drain(
    session: AsyncSession, engine: SearchEngine, *, limit: int = 500, applied: Applied | None = None
) -> int:
    """Apply up to `limit` due outbox rows to the engine; returns how many were applied.
    `applied` is told which documents were upserted and which ids deleted.

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
                .where(
                    OutboxEvent.topic == LISTING_CHANGED,
                    col(OutboxEvent.processed_at).is_(None),
                    OutboxEvent.available_at <= now,
                )
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
        await postpone(session, events, exc, now=now, delay=backoff)
        return 0
    if applied is not None:
        applied(documents, gone)
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
        await session.exec(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.topic == LISTING_CHANGED, col(OutboxEvent.processed_at).is_(None))
        )
    ).one()


class SyncWorker(PollingWorker):
    """Runs `drain` in a loop, in-process (serve, demo) or on its own (`scenematch worker`)."""

    name = "search-sync"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: SearchEngine,
        *,
        # Publishing in another web process cannot wake this one: the poll is part of the index
        # lag (bench/load.py), and an idle poll is one indexed query.
        poll_seconds: float = 0.2,
        vectorizer: Vectorizer | bool | None = True,
    ) -> None:
        """`vectorizer`: True for one with the configured model, None for no embedding."""
        super().__init__(poll_seconds=poll_seconds)
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.vectorizer = Vectorizer(engine) if vectorizer is True else vectorizer or None

    def _applied(self, documents: Sequence[ListingDocument], gone: Sequence[str]) -> None:
        if self.vectorizer is not None:
            self.vectorizer.note_upserted(documents)
            self.vectorizer.note_deleted(gone)

    async def run_after_sync(self) -> int:
        """Every `after_sync` job once, each in its own transaction; returns the sum of what they did."""
        done = 0
        for job in after_sync.handlers:
            try:
                async with session_scope(self.sessionmaker) as session:
                    done += await job(session, self.engine)
            except Exception:
                logger.exception("search sync: job %s failed", getattr(job, "__qualname__", job))
        return done

    async def run_once(self) -> int:
        async with session_scope(self.sessionmaker) as session:
            applied = await drain(session, self.engine, applied=self._applied)
        applied += await self.run_after_sync()
        if applied or self.vectorizer is None:
            return applied
        return await self.embed_when_quiet()

    async def embed_when_quiet(self) -> int:
        """One round of embedding, unless this process is answering requests (backend/kit/busy.py):
        requests go first, and embedding resumes once the process has been quiet a moment."""
        if self.vectorizer is None or not busy.is_quiet():
            return 0
        return await to_thread.run_sync(self._embed_step)

    def _embed_step(self) -> int:
        assert self.vectorizer is not None
        try:
            return self.vectorizer.step(EMBED_BATCH)
        except SearchUnavailable:
            return 0
        except Exception:
            logger.exception("embedding round failed; listings stay matched by text")
            return 0


__all__ = ["SearchUnavailable", "SyncWorker", "drain", "pending_count", "reindex"]
