"""The figures behind the statistics page, each from a SQL group-by.

Visitors get the public summary (published listings per track, domain and city; the
pairing funnel). Matchmakers also get answers per issuer with response times and the
供需缺口 (tracks and domains whose open opportunities find few offerings), which guide
补链招商. Nothing here calls the search engine: the figures must hold when it is down.
"""

import statistics as stats_lib
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, case, distinct, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerStatus
from backend.auth.actor import Actor
from backend.kit.db import utcnow
from backend.listings.models import (
    DOMAIN_LINKS,
    LISTING_MODELS,
    TRACK_LINKS,
    ListingKind,
    ListingStatus,
    Offering,
    OfferingTrack,
    Opportunity,
    OpportunityDomain,
    OpportunityTrack,
)
from backend.organisations.service import names_of as organisation_names_of
from backend.pairings.models import PIPELINE, STAGE_LABELS, Pairing, PairingStage, PairingStep
from backend.statistics.schemas import (
    CategoryCount,
    Funnel,
    FunnelStage,
    IssuerAnswers,
    Statistics,
    SupplyGap,
    Totals,
)
from backend.taxonomy import service as taxonomy_service
from backend.taxonomy.models import Domain, Region, Track

# An open opportunity with fewer published offerings than this sharing one of its tracks is weakly supplied.
WEAK_SUPPLY_THRESHOLD = 3
OTHER_REGION = "other"
OTHER_REGION_LABEL = "省级、省外或未注明"
_PUBLISHED = ListingStatus.published.value
# Answers that reached the issuer: drafts were never sent and withdrawn ones were taken back.
_COUNTED_ANSWERS = [AnswerStatus.submitted, AnswerStatus.shortlisted, AnswerStatus.selected, AnswerStatus.not_selected]
_SECONDS_PER_DAY = 86400


def _open_clause(today: date) -> Any:
    return and_(
        Opportunity.status == _PUBLISHED,
        or_(col(Opportunity.deadline).is_(None), col(Opportunity.deadline) >= today),
    )


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.exec(query)).one() or 0)


async def totals(session: AsyncSession, *, today: date) -> Totals:
    """How many listings are on the public lists right now, and how many pairings exist."""
    return Totals(
        published_opportunities=await _count(
            session, select(func.count()).select_from(Opportunity).where(Opportunity.status == _PUBLISHED)
        ),
        open_opportunities=await _count(
            session, select(func.count()).select_from(Opportunity).where(_open_clause(today))
        ),
        published_offerings=await _count(
            session, select(func.count()).select_from(Offering).where(Offering.status == _PUBLISHED)
        ),
        pairings=await _count(session, select(func.count()).select_from(Pairing)),
    )


async def _per_category(session: AsyncSession, kind: ListingKind, dimension: str) -> dict[str, int]:
    model = LISTING_MODELS[kind]
    link = TRACK_LINKS[kind] if dimension == "track" else DOMAIN_LINKS[kind]
    code = link.track_code if dimension == "track" else link.domain_code  # type: ignore[union-attr]
    rows = (
        await session.exec(
            select(code, func.count(distinct(model.id)))
            .select_from(link)
            .join(model, col(model.id) == link.listing_id)
            .where(model.status == _PUBLISHED)
            .group_by(code)
        )
    ).all()
    return {c: int(n) for c, n in rows}


async def per_track(session: AsyncSession) -> list[CategoryCount]:
    """Published opportunities and offerings per track, every track listed in the taxonomy's order."""
    opportunities = await _per_category(session, ListingKind.opportunity, "track")
    offerings = await _per_category(session, ListingKind.offering, "track")
    tracks = (await session.exec(select(Track.code, Track.name).order_by(col(Track.position)))).all()
    return [
        CategoryCount(code=c, name=n, opportunities=opportunities.get(c, 0), offerings=offerings.get(c, 0))
        for c, n in tracks
    ]


async def per_domain(session: AsyncSession) -> list[CategoryCount]:
    """Published opportunities and offerings per scenario domain, in the taxonomy's order."""
    opportunities = await _per_category(session, ListingKind.opportunity, "domain")
    offerings = await _per_category(session, ListingKind.offering, "domain")
    domains = (await session.exec(select(Domain.code, Domain.name).order_by(col(Domain.position)))).all()
    return [
        CategoryCount(code=c, name=n, opportunities=opportunities.get(c, 0), offerings=offerings.get(c, 0))
        for c, n in domains
    ]


async def _per_city_of(session: AsyncSession, kind: ListingKind) -> tuple[dict[str, int], int]:
    """(count per city code, total): a county's listings count for its city."""
    model = LISTING_MODELS[kind]
    city = taxonomy_service.city_code_column()
    rows = (
        await session.exec(
            select(city, func.count())
            .select_from(model)
            .join(Region, Region.code == model.region_code)
            .where(model.status == _PUBLISHED)
            .group_by(city)
        )
    ).all()
    total = await _count(session, select(func.count()).select_from(model).where(model.status == _PUBLISHED))
    return {c: int(n) for c, n in rows if c}, total


async def per_city(session: AsyncSession) -> list[CategoryCount]:
    """Published listings per prefecture-level city (and 赣江新区); the rest in one "other" row."""
    opportunities, opportunity_total = await _per_city_of(session, ListingKind.opportunity)
    offerings, offering_total = await _per_city_of(session, ListingKind.offering)
    cities = (
        await session.exec(
            select(Region.code, Region.name)
            .where(col(Region.level).in_(["city", "new_area"]))
            .order_by(col(Region.code))
        )
    ).all()
    rows = [
        CategoryCount(code=c, name=n, opportunities=opportunities.get(c, 0), offerings=offerings.get(c, 0))
        for c, n in cities
    ]
    other_opportunities = opportunity_total - sum(r.opportunities for r in rows)
    other_offerings = offering_total - sum(r.offerings for r in rows)
    if other_opportunities or other_offerings:
        rows.append(
            CategoryCount(
                code=OTHER_REGION, name=OTHER_REGION_LABEL, opportunities=other_opportunities, offerings=other_offerings
            )
        )
    return rows


async def pairing_funnel(session: AsyncSession) -> Funnel:
    """How many pairings reached each stage and what share went on to the next.

    A pairing reached a stage if its current stage is at or beyond it, or its step history
    shows it got there before being declined; every pairing starts at 推荐.
    """
    rank_of = {stage.value: i for i, stage in enumerate(PIPELINE)}
    step_rank = case(rank_of, value=PairingStep.to_stage, else_=-1)
    best_step = (
        select(PairingStep.pairing_id, func.max(step_rank).label("best")).group_by(PairingStep.pairing_id).subquery()
    )
    rows = (
        await session.exec(
            select(Pairing.stage, best_step.c.best, func.count())
            .select_from(Pairing)
            .outerjoin(best_step, best_step.c.pairing_id == Pairing.id)
            .group_by(Pairing.stage, best_step.c.best)
        )
    ).all()
    reached = [0] * len(PIPELINE)
    current: dict[str, int] = defaultdict(int)
    for stage, best, count in rows:
        current[stage] += count
        furthest = max(rank_of.get(stage, -1), best if best is not None else -1, 0)
        for i in range(furthest + 1):
            reached[i] += count
    stages = []
    for i, stage in enumerate(PIPELINE):
        following = reached[i + 1] if i + 1 < len(PIPELINE) else None
        conversion = round(following / reached[i], 4) if following is not None and reached[i] else None
        stages.append(
            FunnelStage(
                stage=stage.value,
                label=STAGE_LABELS[stage],
                reached=reached[i],
                current=current[stage.value],
                conversion=conversion,
            )
        )
    return Funnel(stages=stages, declined=current[PairingStage.declined.value])


async def answers_per_issuer(session: AsyncSession) -> list[IssuerAnswers]:
    """Answers received per issuing organisation and the median time to the first answer.

    Response time of one opportunity: from its publication to its first submitted answer;
    the median is taken over the issuer's opportunities that received an answer.
    """
    first = (
        select(
            Answer.opportunity_id,
            func.count(Answer.id).label("answers"),
            func.min(Answer.submitted_at).label("first_at"),
        )
        .where(col(Answer.submitted_at).is_not(None), col(Answer.status).in_(_COUNTED_ANSWERS))
        .group_by(Answer.opportunity_id)
        .subquery()
    )
    rows = (
        await session.exec(
            select(Opportunity.organisation_id, Opportunity.published_at, first.c.answers, first.c.first_at)
            .outerjoin(first, first.c.opportunity_id == Opportunity.id)
            .where(
                col(Opportunity.published_at).is_not(None),
                col(Opportunity.status).in_([ListingStatus.published, ListingStatus.closed]),
            )
        )
    ).all()
    per_organisation: dict[int, dict[str, Any]] = {}
    for organisation_id, published_at, answers, first_at in rows:
        entry = per_organisation.setdefault(
            organisation_id, {"opportunities": 0, "answered": 0, "answers": 0, "days": []}
        )
        entry["opportunities"] += 1
        if answers:
            entry["answered"] += 1
            entry["answers"] += int(answers)
            if first_at is not None and published_at is not None:
                # An answer drafted before publication and submitted at once counts as an immediate response.
                entry["days"].append(max(0.0, (first_at - published_at).total_seconds() / _SECONDS_PER_DAY))
    if not per_organisation:
        return []
    names = await organisation_names_of(session, per_organisation)
    issuers = [
        IssuerAnswers(
            organisation_id=organisation_id,
            name=names.get(organisation_id, str(organisation_id)),
            opportunities=entry["opportunities"],
            answered_opportunities=entry["answered"],
            answers=entry["answers"],
            median_response_days=round(stats_lib.median(entry["days"]), 2) if entry["days"] else None,
        )
        for organisation_id, entry in per_organisation.items()
    ]
    return sorted(issuers, key=lambda i: (-i.answers, -i.opportunities, i.name))


async def _gaps(
    session: AsyncSession, dimension: str, names: list[CategoryCount], *, today: date, threshold: int
) -> list[SupplyGap]:
    supply = (
        select(
            OpportunityTrack.listing_id.label("opportunity_id"),
            func.count(distinct(OfferingTrack.listing_id)).label("n"),
        )  # type: ignore[attr-defined]
        .select_from(OpportunityTrack)
        .join(OfferingTrack, OfferingTrack.track_code == OpportunityTrack.track_code)
        .join(Offering, and_(Offering.id == OfferingTrack.listing_id, Offering.status == _PUBLISHED))
        .group_by(OpportunityTrack.listing_id)
        .subquery()
    )
    link = OpportunityTrack if dimension == "track" else OpportunityDomain
    code = link.track_code if dimension == "track" else link.domain_code  # type: ignore[union-attr]
    weak = case((func.coalesce(supply.c.n, 0) < threshold, 1), else_=0)
    rows = (
        await session.exec(
            select(code, func.count(distinct(Opportunity.id)), func.sum(weak))
            .select_from(link)
            .join(Opportunity, col(Opportunity.id) == link.listing_id)
            .outerjoin(supply, supply.c.opportunity_id == Opportunity.id)
            .where(_open_clause(today))
            .group_by(code)
        )
    ).all()
    by_code = {row.code: row for row in names}
    gaps = []
    for c, opportunities, weak_count in rows:
        known = by_code.get(c)
        offerings = known.offerings if known else 0
        weak_count = int(weak_count or 0)
        share = round(weak_count / opportunities, 4) if opportunities else 0.0
        gaps.append(
            SupplyGap(
                code=c,
                name=known.name if known else c,
                open_opportunities=int(opportunities),
                offerings=offerings,
                weak_opportunities=weak_count,
                weak_share=share,
                is_gap=offerings == 0 or share >= 0.5,
            )
        )
    return sorted(gaps, key=lambda g: (not g.is_gap, -g.weak_share, -g.open_opportunities, g.offerings, g.name))


async def supply_gaps(
    session: AsyncSession,
    *,
    by_track: list[CategoryCount],
    by_domain: list[CategoryCount],
    today: date,
    threshold: int = WEAK_SUPPLY_THRESHOLD,
) -> tuple[list[SupplyGap], list[SupplyGap]]:
    """供需缺口 per track and per domain: the worst-supplied first."""
    return (
        await _gaps(session, "track", by_track, today=today, threshold=threshold),
        await _gaps(session, "domain", by_domain, today=today, threshold=threshold),
    )


async def compute(session: AsyncSession, *, actor: Actor, today: date | None = None) -> Statistics:
    """The public summary for everyone; the fuller view (issuers, gaps) for matchmakers and admins."""
    today = today or date.today()
    by_track = await per_track(session)
    by_domain = await per_domain(session)
    result = Statistics(
        generated_at=utcnow(),
        full=actor.is_staff,
        totals=await totals(session, today=today),
        by_track=by_track,
        by_domain=by_domain,
        by_city=await per_city(session),
        funnel=await pairing_funnel(session),
        weak_supply_threshold=WEAK_SUPPLY_THRESHOLD,
    )
    if actor.is_staff:
        result.issuers = await answers_per_issuer(session)
        result.track_gaps, result.domain_gaps = await supply_gaps(
            session, by_track=by_track, by_domain=by_domain, today=today
        )
    return result
