"""Who may see an interest (a request for an introduction).

Matchmakers see every interest; an organisation sees the interests it expressed and the ones
expressed in its own opportunities. Anything else is reported as missing, never as forbidden.
"""

from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.interests.models import Interest
from backend.kit.errors import NotFound
from backend.listings.models import Opportunity

NOT_FOUND = "意向不存在"


def visible_clause(actor: Actor) -> Any:
    """None for matchmakers (everything); otherwise own interests and interests in own opportunities."""
    if actor.is_staff:
        return None
    own_opportunities = select(Opportunity.id).where(Opportunity.organisation_id == actor.organisation_id)
    return or_(
        col(Interest.organisation_id) == actor.organisation_id, col(Interest.opportunity_id).in_(own_opportunities)
    )


def can_read(actor: Actor, interest: Interest, opportunity: Opportunity) -> bool:
    return actor.is_staff or actor.belongs_to(interest.organisation_id) or actor.belongs_to(opportunity.organisation_id)


async def get_readable(session: AsyncSession, *, actor: Actor, id: int) -> tuple[Interest, Opportunity]:
    require_signed_in(actor)
    interest = await session.get(Interest, id)
    if interest is None:
        raise NotFound(NOT_FOUND)
    opportunity = await session.get(Opportunity, interest.opportunity_id)
    assert opportunity is not None  # foreign key
    if not can_read(actor, interest, opportunity):
        raise NotFound(NOT_FOUND)
    return interest, opportunity
