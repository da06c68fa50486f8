"""Saved searches and follows, and telling their owners when a matching opportunity is published.

Matching rule: every filter the subscription gives must intersect the opportunity (tracks
and domains by code; a region matches the opportunity's region or any region above it, so
a city's subscription sees its counties), and every word of `q` must occur in the
opportunity's normalised title and description — the same normalisation as search, so a
Traditional, pinyin-annotated text matches a Simplified query.
"""

from collections.abc import Sequence

import pypinyin
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role, User
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.listings import hooks as listing_hooks
from backend.listings.models import Opportunity, OpportunityDomain, OpportunityTrack
from backend.notifications import service as notifications
from backend.notifications.models import NotificationKind
from backend.subscriptions.models import Subscription
from backend.subscriptions.schemas import SubscriptionCreate, SubscriptionUpdate
from backend.taxonomy import service as taxonomy_service
from backend.taxonomy.models import Region
from search.text import is_latin, looks_like_pinyin, normalise, query_tokens, synonyms_of

MAX_SUBSCRIPTIONS_PER_USER = 50


def _require_enterprise(actor: Actor) -> int:
    user_id = require_signed_in(actor)
    if actor.role != Role.enterprise:
        raise Forbidden("只有企业账号可以订阅机会")
    return user_id


async def _check_regions(session: AsyncSession, regions: Sequence[str]) -> None:
    if not regions:
        return
    known = set((await session.exec(select(Region.code).where(col(Region.code).in_(list(regions))))).all())
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise Unprocessable(f"未知的地区代码：{'、'.join(unknown)}", field="regions")


async def _default_name(
    session: AsyncSession, q: str, tracks: list[str], domains: list[str], regions: list[str]
) -> str:
    names = await taxonomy_service.load_index(session)
    parts = [q] if q else []
    parts += [names.tracks.get(c, c) for c in tracks] + [names.domains.get(c, c) for c in domains]
    parts += [names.regions.get(c, c) for c in regions]
    return ("关注：" + "、".join(parts))[:60]


def _check_not_empty(q: str, tracks: list[str], domains: list[str], regions: list[str]) -> None:
    # An empty subscription would mail every new opportunity to its owner: surely a mistake.
    if not (q or tracks or domains or regions):
        raise Unprocessable("请至少填写关键词、赛道、场景领域或地区中的一项", field="q")


async def create(session: AsyncSession, *, actor: Actor, data: SubscriptionCreate) -> Subscription:
    """Save a search or a follow for the signed-in enterprise user."""
    user_id = _require_enterprise(actor)
    tracks, domains, regions = (list(dict.fromkeys(v)) for v in (data.tracks, data.domains, data.regions))
    _check_not_empty(data.q, tracks, domains, regions)
    await taxonomy_service.check_codes(session, tracks=tracks, domains=domains)
    await _check_regions(session, regions)
    count = (
        await session.exec(select(func.count()).select_from(Subscription).where(Subscription.user_id == user_id))
    ).one()
    if count >= MAX_SUBSCRIPTIONS_PER_USER:
        raise Conflict(f"每个账号最多保存 {MAX_SUBSCRIPTIONS_PER_USER} 个订阅，请先删除不用的订阅")
    name = data.name or await _default_name(session, data.q, tracks, domains, regions)
    subscription = Subscription(user_id=user_id, name=name, q=data.q, tracks=tracks, domains=domains, regions=regions)
    session.add(subscription)
    await session.flush()
    return subscription


async def _get_mine(session: AsyncSession, actor: Actor, subscription_id: int) -> Subscription:
    require_signed_in(actor)
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or subscription.user_id != actor.user_id:
        raise NotFound("订阅不存在")
    return subscription


async def get(session: AsyncSession, *, actor: Actor, subscription_id: int) -> Subscription:
    """One of the actor's own subscriptions; anyone else's is reported as missing."""
    return await _get_mine(session, actor, subscription_id)


async def list_mine(session: AsyncSession, *, actor: Actor, page: PageParams) -> tuple[list[Subscription], int]:
    require_signed_in(actor)
    mine = Subscription.user_id == actor.user_id
    return await paginate(session, select(Subscription).where(mine), page, col(Subscription.id).desc())


async def update(
    session: AsyncSession, *, actor: Actor, subscription_id: int, data: SubscriptionUpdate
) -> Subscription:
    """Change one of the actor's subscriptions; the result is validated like a new one."""
    subscription = await _get_mine(session, actor, subscription_id)
    changes = data.model_dump(exclude_unset=True)
    q = changes["q"] if changes.get("q") is not None else subscription.q
    tracks = list(dict.fromkeys(changes["tracks"])) if changes.get("tracks") is not None else subscription.tracks
    domains = list(dict.fromkeys(changes["domains"])) if changes.get("domains") is not None else subscription.domains
    regions = list(dict.fromkeys(changes["regions"])) if changes.get("regions") is not None else subscription.regions
    _check_not_empty(q, tracks, domains, regions)
    await taxonomy_service.check_codes(session, tracks=tracks, domains=domains)
    await _check_regions(session, regions)
    subscription.q, subscription.tracks, subscription.domains, subscription.regions = q, tracks, domains, regions
    if changes.get("name") is not None:
        subscription.name = changes["name"] or await _default_name(session, q, tracks, domains, regions)
    subscription.modified_at = utcnow()
    session.add(subscription)
    await session.flush()
    return subscription


async def delete(session: AsyncSession, *, actor: Actor, subscription_id: int) -> None:
    subscription = await _get_mine(session, actor, subscription_id)
    await session.delete(subscription)
    await session.flush()


# --- matching -----------------------------------------------------------------------------


class _OpportunityFacts:
    """What a subscription is matched against, computed once per published opportunity."""

    def __init__(self, *, text: str, tracks: set[str], domains: set[str], regions: set[str]) -> None:
        self.text = text
        self.tracks = tracks
        self.domains = domains
        self.regions = regions
        self._pinyin: str | None = None

    @property
    def pinyin(self) -> str:
        # Only for queries typed in pinyin (`zhihuinongye`); most never need it.
        if self._pinyin is None:
            self._pinyin = "".join(pypinyin.lazy_pinyin(self.text, errors="ignore")).lower()
        return self._pinyin

    def has_word(self, token: str) -> bool:
        if any(t in self.text for t in (token, *synonyms_of(token))):
            return True
        return is_latin(token) and looks_like_pinyin(token) and token in self.pinyin


def matches(subscription: Subscription, facts: _OpportunityFacts) -> bool:
    """Every given filter intersects, and every word of q occurs in the opportunity's text."""
    if subscription.tracks and not facts.tracks.intersection(subscription.tracks):
        return False
    if subscription.domains and not facts.domains.intersection(subscription.domains):
        return False
    if subscription.regions and not facts.regions.intersection(subscription.regions):
        return False
    return all(facts.has_word(token) for token in query_tokens(subscription.q)) if subscription.q else True


async def _region_and_ancestors(session: AsyncSession, region_code: str | None) -> set[str]:
    codes: set[str] = set()
    while region_code is not None and region_code not in codes:
        codes.add(region_code)
        region_code = (await session.exec(select(Region.parent_code).where(Region.code == region_code))).first()
    return codes


async def _facts(session: AsyncSession, opportunity: Opportunity) -> _OpportunityFacts:
    tracks = set(
        (
            await session.exec(select(OpportunityTrack.track_code).where(OpportunityTrack.listing_id == opportunity.id))
        ).all()
    )
    domains = set(
        (
            await session.exec(
                select(OpportunityDomain.domain_code).where(OpportunityDomain.listing_id == opportunity.id)
            )
        ).all()
    )
    return _OpportunityFacts(
        text=normalise(f"{opportunity.title}\n{opportunity.description}"),
        tracks=tracks,
        domains=domains,
        regions=await _region_and_ancestors(session, opportunity.region_code),
    )


async def matching_user_ids(session: AsyncSession, opportunity: Opportunity) -> list[int]:
    """The active users with at least one subscription matching the opportunity.

    Every subscription is checked in Python: publications are rare (a matchmaker's click)
    and subscriptions number in the thousands at most, so a scan beats keeping the
    Chinese-aware text rule in SQL. Revisit with a prefilter if that stops being true.
    """
    facts = await _facts(session, opportunity)
    rows = await session.exec(
        select(Subscription)
        .join(User, col(User.id) == col(Subscription.user_id))
        .where(col(User.is_active))
        .order_by(col(Subscription.user_id), col(Subscription.id))
    )
    users: dict[int, None] = {}
    for subscription in rows.all():
        if subscription.user_id not in users and matches(subscription, facts):
            users[subscription.user_id] = None
    return list(users)


@listing_hooks.opportunity_published.register
async def on_opportunity_published(session: AsyncSession, opportunity: Opportunity) -> int:
    """Notify (in-app and by email) every user whose subscriptions match; once per user. Returns how many."""
    return await _notify(session, opportunity, await matching_user_ids(session, opportunity))


async def _notify(session: AsyncSession, opportunity: Opportunity, user_ids: list[int]) -> int:
    if not user_ids:
        return 0
    description = opportunity.description.strip()
    excerpt = description[:200] + ("…" if len(description) > 200 else "")
    body = f"您订阅的条件有新发布的机会：\n\n{opportunity.title}\n\n{excerpt}".rstrip()
    if opportunity.deadline is not None:
        body += f"\n\n答题截止日期：{opportunity.deadline.isoformat()}"
    await notifications.notify(
        session,
        user_ids=user_ids,
        kind=NotificationKind.subscription_match,
        title=f"新机会：{opportunity.title}",
        body=body,
        link=f"/opportunities/{opportunity.id}",
    )
    return len(user_ids)


async def on_opportunities_published(session: AsyncSession, opportunity_ids: list[int]) -> int:
    """`on_opportunity_published` for many opportunities (a bulk import): the subscriptions are
    read once, and when there are none nothing else is asked of the database."""
    subscriptions = list(
        (
            await session.exec(
                select(Subscription)
                .join(User, col(User.id) == col(Subscription.user_id))
                .where(col(User.is_active))
                .order_by(col(Subscription.user_id), col(Subscription.id))
            )
        ).all()
    )
    if not subscriptions:
        return 0
    notified = 0
    found = await session.exec(select(Opportunity).where(col(Opportunity.id).in_(opportunity_ids)))
    for opportunity in found.all():
        facts = await _facts(session, opportunity)
        user_ids = list(dict.fromkeys(s.user_id for s in subscriptions if matches(s, facts)))
        notified += await _notify(session, opportunity, user_ids)
    return notified
