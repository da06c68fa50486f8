"""Saved searches and follows of either list: saving, listing, changing and deleting them.

Who may save a search of which list is `permissions.py`'s; a subscription is its owner's alone.
The searches run over newly published listings in `alerts.py`, through the search engine, so
they match exactly as the list page's search does (synonyms, 繁简, pinyin).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.listings.models import ListingKind
from backend.listings.ranges import DEADLINE_CHOICES, BudgetRange, budget_label
from backend.subscriptions.models import Subscription
from backend.subscriptions.permissions import check_can_save
from backend.subscriptions.schemas import SubscriptionCreate, SubscriptionUpdate
from backend.taxonomy import service as taxonomy_service
from backend.taxonomy.models import Region
from search.text import query_tokens

MAX_SUBSCRIPTIONS_PER_USER = 50


async def _check_regions(session: AsyncSession, regions: Sequence[str]) -> None:
    if not regions:
        return
    known = set((await session.exec(select(Region.code).where(col(Region.code).in_(list(regions))))).all())
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise Unprocessable(f"未知的地区代码：{'、'.join(unknown)}", field="regions")


async def _default_name(
    session: AsyncSession, q: str, tracks: list[str], domains: list[str], regions: list[str], ranges: "Ranges"
) -> str:
    names = await taxonomy_service.load_index(session)
    parts = [q] if q else []
    parts += [names.tracks.get(c, c) for c in tracks] + [names.domains.get(c, c) for c in domains]
    parts += [names.regions.get(c, c) for c in regions]
    parts += ranges.labels()
    return ("关注：" + "、".join(parts))[:60]


def _check_not_empty(q: str, tracks: list[str], domains: list[str], regions: list[str], ranges: "Ranges") -> None:
    # An empty subscription would mail every new listing to its owner: surely a mistake. A budget
    # range narrows enough on its own; a deadline choice does not (every new listing is still open).
    if not (q or tracks or domains or regions or ranges.budget is not None):
        raise Unprocessable("请至少填写关键词、赛道、场景领域、地区或预算中的一项", field="q")


@dataclass(frozen=True)
class Ranges:
    """A saved search's budget range (万元) and deadline choice (a DEADLINE_CHOICES code)."""

    budget_from: Decimal | None = None
    budget_to: Decimal | None = None
    deadline: str | None = None

    @classmethod
    def of(cls, subscription: Subscription) -> "Ranges":
        return cls(subscription.budget_from, subscription.budget_to, subscription.deadline)

    @property
    def budget(self) -> BudgetRange | None:
        if self.budget_from is None and self.budget_to is None:
            return None
        return BudgetRange(self.budget_from, self.budget_to)

    def check(self, kind: str) -> "Ranges":
        if (self.budget is not None or self.deadline is not None) and kind != ListingKind.opportunity.value:
            raise Unprocessable("产品清单没有预算和截止日期，不能按它们订阅", field="budget_from")
        if self.budget_from is not None and self.budget_to is not None and self.budget_from >= self.budget_to:
            raise Unprocessable("预算区间的下界应小于上界", field="budget_from")
        if self.deadline is not None and self.deadline not in DEADLINE_CHOICES:
            raise Unprocessable("未知的截止日期条件", field="deadline")
        return self

    def labels(self) -> list[str]:
        """As people read them: 预算 100万–500万, 30天内截止."""
        labels = ["预算 " + budget_label(self.budget)] if self.budget is not None else []
        if self.deadline in DEADLINE_CHOICES:
            labels.append(DEADLINE_CHOICES[self.deadline])
        return labels


async def create(session: AsyncSession, *, actor: Actor, data: SubscriptionCreate) -> Subscription:
    """Save a search or a follow of one list, for a user who may (see `permissions`)."""
    user_id = check_can_save(actor, data.kind)
    tracks, domains, regions = (list(dict.fromkeys(v)) for v in (data.tracks, data.domains, data.regions))
    ranges = Ranges(data.budget_from, data.budget_to, data.deadline).check(data.kind)
    _check_not_empty(data.q, tracks, domains, regions, ranges)
    await taxonomy_service.check_codes(session, tracks=tracks, domains=domains)
    await _check_regions(session, regions)
    count = (
        await session.exec(select(func.count()).select_from(Subscription).where(Subscription.user_id == user_id))
    ).one()
    if count >= MAX_SUBSCRIPTIONS_PER_USER:
        raise Conflict(f"每个账号最多保存 {MAX_SUBSCRIPTIONS_PER_USER} 个订阅，请先删除不用的订阅")
    await _refuse_duplicate(session, user_id, data.kind, data.q, tracks, domains, regions, ranges)
    name = data.name or await _default_name(session, data.q, tracks, domains, regions, ranges)
    subscription = Subscription(
        user_id=user_id,
        kind=data.kind,
        frequency=data.frequency,
        name=name,
        q=data.q,
        tracks=tracks,
        domains=domains,
        regions=regions,
        budget_from=ranges.budget_from,
        budget_to=ranges.budget_to,
        deadline=ranges.deadline,
    )
    session.add(subscription)
    await session.flush()
    return subscription


def _same_search(q: str, tracks: list[str], domains: list[str], regions: list[str], ranges: Ranges) -> tuple:
    # The same words (normalised, in any order) and the same filters (in any order) are the same search.
    return (
        tuple(sorted(query_tokens(q))) if q else (),
        *(tuple(sorted(v)) for v in (tracks, domains, regions)),
        ranges,
    )


async def _refuse_duplicate(
    session: AsyncSession,
    user_id: int,
    kind: str,
    q: str,
    tracks: list[str],
    domains: list[str],
    regions: list[str],
    ranges: Ranges,
) -> None:
    # The same search of the other list is another search; how often it reports does not count.
    wanted = _same_search(q, tracks, domains, regions, ranges)
    mine = select(Subscription).where(Subscription.user_id == user_id, Subscription.kind == kind)
    for existing in (await session.exec(mine)).all():
        if _same_search(existing.q, existing.tracks, existing.domains, existing.regions, Ranges.of(existing)) == wanted:
            raise Conflict(f"已保存过相同的订阅：“{existing.name}”", field="q")


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
    # Given (null included: that clears it) or kept.
    ranges = Ranges(
        *(changes[f] if f in changes else getattr(subscription, f) for f in ("budget_from", "budget_to", "deadline"))
    ).check(subscription.kind)
    _check_not_empty(q, tracks, domains, regions, ranges)
    await taxonomy_service.check_codes(session, tracks=tracks, domains=domains)
    await _check_regions(session, regions)
    subscription.q, subscription.tracks, subscription.domains, subscription.regions = q, tracks, domains, regions
    subscription.budget_from, subscription.budget_to, subscription.deadline = (
        ranges.budget_from,
        ranges.budget_to,
        ranges.deadline,
    )
    if changes.get("frequency") is not None:
        # Matches already waiting for a digest go out with the next daily digest (see alerts).
        subscription.frequency = changes["frequency"]
    if changes.get("name") is not None:
        subscription.name = changes["name"] or await _default_name(session, q, tracks, domains, regions, ranges)
    subscription.modified_at = utcnow()
    session.add(subscription)
    await session.flush()
    return subscription


async def delete(session: AsyncSession, *, actor: Actor, subscription_id: int) -> None:
    subscription = await _get_mine(session, actor, subscription_id)
    await session.delete(subscription)
    await session.flush()
