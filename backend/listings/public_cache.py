"""What a visitor sees of published listings, kept per process while nothing about them changed.

Search results go mostly to visitors, and the same listings come back in result after result:
presenting them (their rows, organisations, tracks, domains and batches, then the response
models) was about half of a search request's time (bench/README.md, issue 14). A visitor's view
of a published listing is the same for every visitor, so a process keeps it.

Kept honest by the outbox: every change to a listing writes an outbox row in its own transaction
(backend/outbox/service.py). Before each use the newest outbox id is read (one index lookup);
when it moved, the listings named by the rows since the last look are dropped, all of them when
there are more than `FOLLOW_AT_MOST`. The look reaches `OUT_OF_ORDER` ids back because two
PostgreSQL transactions may commit in the other order than they drew their ids (one that commits
late is seen at the next move of the stamp, or after `KEEP_SECONDS`). A renamed organisation
writes a row for each of its listings (backend/listings/service.py). What changes a listing's
face without an outbox row (a taxonomy name edited) shows within `KEEP_SECONDS`; README
"Several hosts" lists this with the other per-process caches.
"""

import time
from collections.abc import Hashable, Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from backend.auth.actor import ANONYMOUS
from backend.kit.db import session_scope
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.listings.schemas import OfferingPublic, OpportunityPublic
from backend.listings.service import Listing
from backend.outbox.models import OutboxEvent
from backend.outbox.service import OUT_OF_ORDER, change_mark, change_stamp
from search import SearchEngine

KEEP_SECONDS = 60.0
KEEP_AT_MOST = 20_000  # listings; the oldest go first
FOLLOW_AT_MOST = 1_000  # outbox rows read to drop single listings, else everything is dropped

Public = OpportunityPublic | OfferingPublic


class PublicListings:
    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._entries: dict[tuple[str, int], tuple[float, Public]] = {}
        self._stamp: int | None = None

    async def follow(self, session: AsyncSession, stamp: int | None = None) -> int:
        """Drop what changed since the last look (call once per request, before `get`); answers the
        change stamp it read, for whatever else the request keeps by it. `stamp`: one already read
        for this request, after it arrived (`looked_stamp`)."""
        if stamp is None:
            stamp = await change_stamp(session)
        if self._stamp is None or stamp < self._stamp:
            # First look, or outbox rows gone (a restore, a test's rollback): start afresh.
            self._entries.clear()
        elif stamp != self._stamp:
            changed = (
                await session.exec(
                    select(OutboxEvent.entity_kind, OutboxEvent.entity_id)
                    .where(col(OutboxEvent.id) > self._stamp - OUT_OF_ORDER, col(OutboxEvent.id) <= stamp)
                    .limit(FOLLOW_AT_MOST + 1)
                )
            ).all()
            if len(changed) > FOLLOW_AT_MOST:
                self._entries.clear()
            else:
                for kind, listing_id in changed:
                    self._entries.pop((kind, listing_id), None)
        self._stamp = stamp
        return stamp

    def get(self, kind: ListingKind, listing_id: int) -> Public | None:
        found = self._entries.get((kind.value, listing_id))
        if found is None:
            return None
        if time.monotonic() - found[0] > self.keep_seconds:
            del self._entries[(kind.value, listing_id)]
            return None
        return found[1]

    async def present(self, session: AsyncSession, *, kind: ListingKind, rows: Sequence[Listing]) -> list[Public]:
        """What a visitor sees of `rows`, in their order: the kept ones as kept, the others
        presented and kept (call `follow` first in the request)."""
        kept: dict[int | None, Public | None] = {row.id: self.get(kind, row.id or 0) for row in rows}
        fresh = [row for row in rows if kept[row.id] is None]
        for item in await present(session, actor=ANONYMOUS, kind=kind, listings=fresh):
            self.put(kind, item)
            kept[item.id] = item
        return [found for row in rows if (found := kept[row.id]) is not None]

    def put(self, kind: ListingKind, item: Public) -> None:
        """Keep what a visitor was shown (published listings only: anything else is never cached)."""
        if item.status != ListingStatus.published:
            return
        self._entries[(kind.value, item.id)] = (time.monotonic(), item)
        while len(self._entries) > KEEP_AT_MOST:
            del self._entries[next(iter(self._entries))]


# Where KeepVisitorAnswers leaves, for the request it lets through, what `as_visitors_see_them` said.
LOOKED = "listings_as_seen"


def looked_stamp(request: Request) -> int | None:
    """The change stamp read for this request after it arrived, if the visitors' answer cache
    looked (a visitor's search, list or listing page): the request need not read it again."""
    word = getattr(request.state, LOOKED, None)
    return word[0][0] if word else None


async def as_visitors_see_them(sessionmaker: async_sessionmaker[AsyncSession], engine: SearchEngine) -> Hashable | None:
    """What visitors' searches, list and listing pages depend on, as it is now: the outbox's
    change mark (every change to a listing, and to what its page shows beside it: `listing.shown`)
    and the search index's generation (what searches find). None when
    the engine cannot name its state cheaply (Meilisearch applies writes in its own time), so
    their whole answers are not kept (backend/kit/visitor_answers.py)."""
    index = engine.generation()
    if index is None:
        return None
    async with session_scope(sessionmaker, write=False) as session:
        return await change_mark(session), index
