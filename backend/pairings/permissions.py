"""Who may read a pairing: matchmakers, the enterprise paired and the opportunity's issuer.

Only matchmakers (and admins) move a pairing (the service checks that). A pairing the actor
may not read is missing, not forbidden.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import visibility
from backend.auth.actor import Actor, require_signed_in
from backend.kit.errors import NotFound
from backend.listings.models import Opportunity
from backend.pairings.models import Pairing

NOT_FOUND = "对接不存在"


def can_read(actor: Actor, pairing: Pairing, opportunity_organisation_id: int) -> bool:
    """Matchmakers, the enterprise and the issuer involved."""
    return actor.is_staff or actor.belongs_to(pairing.organisation_id) or actor.belongs_to(opportunity_organisation_id)


def can_edit(actor: Actor) -> bool:
    return actor.is_staff


async def get_readable(session: AsyncSession, *, actor: Actor, id: int) -> tuple[Pairing, Opportunity]:
    require_signed_in(actor)
    pairing = await session.get(Pairing, id)
    opportunity = await session.get(Opportunity, pairing.opportunity_id) if pairing else None
    if pairing is None or opportunity is None or not can_read(actor, pairing, opportunity.organisation_id):
        raise NotFound(NOT_FOUND)
    return pairing, opportunity


@visibility.register("pairing")
async def _history_readable(session: AsyncSession, actor: Actor, entity_id: int) -> None:
    await get_readable(session, actor=actor, id=entity_id)
