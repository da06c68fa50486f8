"""Telling people about new listings that their saved searches find.

How a listing reaches its followers:

1. Publication (a matchmaker's 发布, or an import that publishes) writes a `listing.published`
   outbox row in its own transaction, after the `listing.changed` row that indexes it.
2. The index writer (the sync worker: one process, `backend/kit/election.py`) runs
   `send_alerts` after each sync round. It takes the published rows whose listing is indexed
   (no older `listing.changed` row of it still pending) and runs every saved search of that
   list as a `SearchQuery` restricted to those listings (`ids`): the search engine's own
   matching, so synonyms, Traditional script and pinyin find exactly what the list page's
   search finds.
3. Each (person, listing) found is recorded once in `subscription_alert` (a unique
   constraint): a restart, a retry or a second worker cannot tell anyone twice. A person whose
   searches are 即时 is notified at once; 每日 / 每周 matches wait for `send_digests`, which the
   mail worker's periodic jobs run: one notice per saved search listing every match recorded
   before the last digest time (DIGEST_HOUR China time; Mondays for weekly ones).

A failed round (the engine is down) leaves the published rows pending with a backoff, like the
sync itself; nothing it recorded survives, so the retry starts clean.
"""

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import cast
from urllib.parse import urlencode

from anyio import to_thread
from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from backend.auth.models import User
from backend.kit.db import utcnow
from backend.listings import hooks as listing_hooks
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus, Offering, Opportunity
from backend.listings.ranges import budget_choice, deadline_window
from backend.notifications import mail
from backend.notifications import service as notifications
from backend.notifications.models import NotificationKind
from backend.outbox.models import OutboxEvent
from backend.outbox.service import LISTING_CHANGED, LISTING_PUBLISHED, postpone, record_listings_published
from backend.searching import sync
from backend.searching.service import range_query
from backend.settings import Settings
from backend.subscriptions.models import Frequency, Subscription, SubscriptionAlert
from backend.subscriptions.permissions import role_can_save
from backend.subscriptions.service import Ranges
from backend.taxonomy.service import TaxonomyIndex, load_index
from search import ListingDocument, SearchEngine, SearchQuery
from search.engine import MAX_PAGE_SIZE

logger = logging.getLogger(__name__)

Listing = Opportunity | Offering

# Published listings taken per round: one engine query per distinct saved search covers them all.
ALERT_BATCH = MAX_PAGE_SIZE
MAX_BACKOFF_SECONDS = 300
DIGEST_LIMIT = 2000
NOUNS = {ListingKind.opportunity: "机会", ListingKind.offering: "产品"}
LIST_PATHS = {ListingKind.opportunity: "/opportunities", ListingKind.offering: "/offerings"}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 12)))


# --- 1. publication ---------------------------------------------------------------------


@listing_hooks.listing_reviewed.register
async def on_listing_reviewed(
    session: AsyncSession, listing: Listing, kind: ListingKind, decision: str, note: str
) -> None:
    """A matchmaker published a listing: its followers hear of it once the index holds it."""
    if decision == "published" and listing.id is not None:
        await record_listings_published(session, kind=kind, listing_ids=[listing.id])


# --- 2. the searches, run by the index writer --------------------------------------------


def _indexed_publications(now: datetime) -> SelectOfScalar[OutboxEvent]:
    """Due `listing.published` rows whose listing the index already holds in that state."""
    earlier = aliased(OutboxEvent)
    unindexed = exists().where(
        col(earlier.topic) == LISTING_CHANGED,
        col(earlier.processed_at).is_(None),
        col(earlier.entity_kind) == col(OutboxEvent.entity_kind),
        col(earlier.entity_id) == col(OutboxEvent.entity_id),
        col(earlier.id) < col(OutboxEvent.id),
    )
    return (
        select(OutboxEvent)
        .where(
            OutboxEvent.topic == LISTING_PUBLISHED,
            col(OutboxEvent.processed_at).is_(None),
            OutboxEvent.available_at <= now,
            ~unindexed,
        )
        .order_by(col(OutboxEvent.id))
        .limit(ALERT_BATCH)
        # Two writers for a moment (an election hand-over): each takes different rows.
        .with_for_update(skip_locked=True, of=OutboxEvent)
    )


async def send_alerts(session: AsyncSession, engine: SearchEngine) -> int:
    """Run the saved searches over newly published, indexed listings; returns how many rows it handled."""
    now = utcnow()
    events = list((await session.exec(_indexed_publications(now))).all())
    if not events:
        return 0
    try:
        async with session.begin_nested():
            await _alert(session, engine, events, now)
    except Exception as exc:
        # Left pending with a backoff, the reason kept on the rows; the savepoint undid the round.
        logger.warning("saved-search alerts failed for %d published listings: %s", len(events), exc, exc_info=True)
        await postpone(session, events, exc, now=now, delay=backoff)
        return 0
    for event in events:
        event.processed_at = now
        session.add(event)
    await session.flush()
    return len(events)


@sync.after_sync.register
async def _alerts_after_sync(session: AsyncSession, engine: SearchEngine) -> int:
    return await send_alerts(session, engine)


async def _followers(session: AsyncSession, kind: ListingKind) -> list[Subscription]:
    """The saved searches of `kind` whose owners are active and may still follow that list."""
    rows = await session.exec(
        select(Subscription, User.role)
        .join(User, col(User.id) == col(Subscription.user_id))
        .where(col(User.is_active), Subscription.kind == kind.value)
        .order_by(col(Subscription.id))
    )
    return [s for s, role in rows.all() if role_can_save(role, kind)]


def _search_key(subscription: Subscription) -> tuple:
    return (
        subscription.q,
        *(tuple(sorted(v)) for v in (subscription.tracks, subscription.domains, subscription.regions)),
        Ranges.of(subscription),
    )


def search_query(
    subscription: Subscription, names: TaxonomyIndex, ids: Sequence[str], *, today: date | None = None
) -> SearchQuery:
    """The saved search as the list page would run it, restricted to the documents `ids`.

    The index holds track and domain names and city codes (a county is filed under its city),
    so codes are translated as the search service translates the list page's filters. A deadline
    choice ("30天内截止") is a window from `today` (China time), the day the alert runs."""
    ranges = Ranges.of(subscription)
    return SearchQuery(
        text=subscription.q,
        kind=subscription.kind,
        tracks=[names.tracks.get(c, c) for c in subscription.tracks],
        domains=[names.domains.get(c, c) for c in subscription.domains],
        regions=list(dict.fromkeys(names.cities.get(c, c) for c in subscription.regions)),
        statuses=[ListingStatus.published.value],
        ids=list(ids),
        page_size=max(1, len(ids)),
        facets=False,
        highlight=False,
        **range_query(ranges.budget, deadline_window(ranges.deadline, today)),
    )


async def _alert(session: AsyncSession, engine: SearchEngine, events: Sequence[OutboxEvent], now: datetime) -> None:
    wanted: dict[ListingKind, list[int]] = {}
    for event in events:
        wanted.setdefault(ListingKind(event.entity_kind), []).append(event.entity_id)
    names = await load_index(session)
    for kind, listing_ids in wanted.items():
        followers = await _followers(session, kind)
        if not followers:
            continue
        documents = [ListingDocument.make_id(kind.value, i) for i in dict.fromkeys(listing_ids)]
        # People who saved the same search share one query.
        groups: dict[tuple, list[Subscription]] = {}
        for subscription in followers:
            groups.setdefault(_search_key(subscription), []).append(subscription)
        found: dict[int, list[Subscription]] = {}
        for group in groups.values():
            result = await to_thread.run_sync(engine.search, search_query(group[0], names, documents))
            for hit in result.hits:
                found.setdefault(hit.listing_id, []).extend(group)
        if found:
            await _record(session, kind, found, now)


async def _record(
    session: AsyncSession, kind: ListingKind, found: dict[int, list[Subscription]], now: datetime
) -> None:
    """One alert per (person, listing) not alerted before; the 即时 ones notified now."""
    # The index may lag the database by a moment: only what is still published is reported.
    listings = await _published(session, kind, list(found))
    users = {s.user_id for subscriptions in found.values() for s in subscriptions}
    told = set(
        (
            await session.exec(
                select(SubscriptionAlert.user_id, SubscriptionAlert.listing_id).where(
                    SubscriptionAlert.listing_kind == kind.value,
                    col(SubscriptionAlert.listing_id).in_(list(found)),
                    col(SubscriptionAlert.user_id).in_(list(users)),
                )
            )
        ).all()
    )
    for listing in listings:
        listing_id = listing.id or 0
        first: dict[int, Subscription] = {}
        for subscription in sorted(found[listing_id], key=_immediate_first):
            first.setdefault(subscription.user_id, subscription)
        at_once: list[int] = []
        for user_id, subscription in first.items():
            if (user_id, listing_id) in told:
                continue
            alert = SubscriptionAlert(
                subscription_id=subscription.id or 0, user_id=user_id, listing_kind=kind.value, listing_id=listing_id
            )
            if subscription.frequency == Frequency.immediate:
                alert.notified_at = now
                subscription.last_alerted_at = now
                session.add(subscription)
                at_once.append(user_id)
            session.add(alert)
        # The unique constraint is the last word: a concurrent writer's alert fails this round.
        await session.flush()
        if at_once:
            await _notify_at_once(session, kind, listing, at_once)


async def _published(session: AsyncSession, kind: ListingKind, ids: list[int]) -> list[Listing]:
    """Those of the listings still published, in order of publication (the index may lag the database)."""
    model = LISTING_MODELS[kind]
    rows = await session.exec(
        select(model)
        .where(col(model.id).in_(ids), model.status == ListingStatus.published)
        .order_by(col(model.published_at), col(model.id))
    )
    return cast(list[Listing], list(rows.all()))


def _immediate_first(subscription: Subscription) -> tuple[bool, int]:
    # A listing found by several of a person's searches is reported at once if any of them is 即时.
    return (subscription.frequency != Frequency.immediate, subscription.id or 0)


def _detail_path(kind: ListingKind, listing_id: int) -> str:
    return f"{LIST_PATHS[kind]}/{listing_id}"


async def _notify_at_once(session: AsyncSession, kind: ListingKind, listing: Listing, user_ids: list[int]) -> None:
    noun = NOUNS[kind]
    description = listing.description.strip()
    excerpt = description[:200] + ("…" if len(description) > 200 else "")
    body = f"您订阅的条件有新发布的{noun}：\n\n{listing.title}\n\n{excerpt}".rstrip()
    if isinstance(listing, Opportunity) and listing.deadline is not None:
        body += f"\n\n答题截止日期：{listing.deadline.isoformat()}"
    await notifications.notify(
        session,
        user_ids=user_ids,
        kind=NotificationKind.subscription_match,
        title=f"新{noun}：{listing.title}",
        body=body,
        link=_detail_path(kind, listing.id or 0),
    )


# --- 3. digests, run by the mail worker's periodic jobs ----------------------------------


def last_weekly_digest_time(now: datetime) -> datetime:
    """The latest Monday DIGEST_HOUR o'clock, China time, at or before `now`."""
    daily = notifications.last_digest_time(now).astimezone(notifications.CHINA)
    return (daily - timedelta(days=daily.weekday())).astimezone(now.tzinfo)


async def send_digests(session: AsyncSession, *, now: datetime | None = None) -> int:
    """One notice per 每日 / 每周 saved search with the matches recorded before its last digest
    time and not yet reported; returns how many notices. Rows are claimed with SKIP LOCKED and
    marked in the same transaction, so no match is reported twice."""
    now = now or utcnow()
    daily, weekly = notifications.last_digest_time(now), last_weekly_digest_time(now)
    # A search changed to 即时 while matches waited sends them with the next daily digest.
    due = or_(
        and_(col(Subscription.frequency) == Frequency.weekly, col(SubscriptionAlert.created_at) < weekly),
        and_(col(Subscription.frequency) != Frequency.weekly, col(SubscriptionAlert.created_at) < daily),
    )
    rows = (
        await session.exec(
            select(SubscriptionAlert, Subscription)
            .join(Subscription, col(Subscription.id) == col(SubscriptionAlert.subscription_id))
            .where(col(SubscriptionAlert.notified_at).is_(None), due)
            .order_by(col(SubscriptionAlert.subscription_id), col(SubscriptionAlert.id))
            .limit(DIGEST_LIMIT)
            .with_for_update(skip_locked=True, of=SubscriptionAlert)
        )
    ).all()
    if not rows:
        return 0
    by_subscription: dict[int, tuple[Subscription, list[SubscriptionAlert]]] = {}
    for alert, subscription in rows:
        by_subscription.setdefault(subscription.id or 0, (subscription, []))[1].append(alert)
    sent = 0
    for subscription, alerts in by_subscription.values():
        kind = ListingKind(subscription.kind)
        listings = await _published(session, kind, [a.listing_id for a in alerts])
        if listings:
            await _notify_digest(session, subscription, kind, listings)
            subscription.last_alerted_at = now
            session.add(subscription)
            sent += 1
        for alert in alerts:
            alert.notified_at = now
            session.add(alert)
    await session.flush()
    return sent


@mail.periodic_jobs.register
async def _saved_search_digests(session: AsyncSession, settings: Settings) -> int:
    return await send_digests(session)


def list_link(subscription: Subscription) -> str:
    """The list page showing the saved search (the page's filters take one value each)."""
    params = {
        "q": subscription.q,
        "track": subscription.tracks[0] if subscription.tracks else "",
        "domain": subscription.domains[0] if subscription.domains else "",
        "region": subscription.regions[0] if subscription.regions else "",
        # The page's budget choices are fixed ranges: a range saved through the API may be none of them.
        "budget": budget_choice(Ranges.of(subscription).budget) or "",
        "deadline": subscription.deadline or "",
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return LIST_PATHS[ListingKind(subscription.kind)] + (f"?{query}" if query else "")


async def _notify_digest(
    session: AsyncSession, subscription: Subscription, kind: ListingKind, listings: list[Listing]
) -> None:
    noun = NOUNS[kind]
    period = "本周" if subscription.frequency == Frequency.weekly else "今日"
    lines = [
        f"{n}. {listing.title}\n{notifications.LINK_LABEL}{_detail_path(kind, listing.id or 0)}"
        for n, listing in enumerate(listings, start=1)
    ]
    body = f"您的订阅“{subscription.name}”{period}汇总：有 {len(listings)} 条新发布的{noun}。\n\n" + "\n\n".join(lines)
    await notifications.notify(
        session,
        user_ids=[subscription.user_id],
        kind=NotificationKind.subscription_digest,
        title=f"订阅汇总：“{subscription.name}”有 {len(listings)} 条新{noun}",
        body=body,
        link=list_link(subscription),
    )
