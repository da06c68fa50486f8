"""Who may read and change the demonstration registers.

- Matchmakers (and admins) write every register (zones, projects, milestones, enterprises);
  only admins set the 十百千 targets.
- A demonstration project is read by matchmakers, its enterprises, the opportunity's issuer and
  the zone's lead organisation; a growth enterprise's record by matchmakers and the enterprise
  itself (its indicators are not public). Anything else is reported as missing.
"""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.demonstration.models import DemoProject, DemoProjectEnterprise, DemoZone, GrowthEnterprise
from backend.kit.errors import NotFound
from backend.listings.models import Opportunity


async def project_enterprise_ids(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[int]]:
    if not project_ids:
        return {}
    rows = (
        await session.exec(
            select(DemoProjectEnterprise)
            .where(col(DemoProjectEnterprise.project_id).in_(project_ids))
            .order_by(col(DemoProjectEnterprise.position))
        )
    ).all()
    out: dict[int, list[int]] = {pid: [] for pid in project_ids}
    for row in rows:
        out[row.project_id].append(row.organisation_id)
    return out


async def project_parties(session: AsyncSession, project: DemoProject) -> set[int]:
    """Organisations that may read a project besides the matchmakers."""
    assert project.id is not None  # a stored project
    parties = set((await project_enterprise_ids(session, [project.id]))[project.id])
    if project.opportunity_id is not None:
        opportunity = await session.get(Opportunity, project.opportunity_id)
        if opportunity is not None:
            parties.add(opportunity.organisation_id)
    if project.zone_id is not None:
        zone = await session.get(DemoZone, project.zone_id)
        if zone is not None and zone.lead_organisation_id is not None:
            parties.add(zone.lead_organisation_id)
    return parties


def can_edit(actor: Actor) -> bool:
    """The registers are kept by matchmakers (and admins)."""
    return actor.is_staff


def can_read_enterprise(actor: Actor, enterprise: GrowthEnterprise) -> bool:
    return actor.is_staff or actor.belongs_to(enterprise.organisation_id)


async def can_read(session: AsyncSession, actor: Actor, project: DemoProject) -> bool:
    return actor.is_staff or actor.organisation_id in await project_parties(session, project)


async def get_readable(session: AsyncSession, *, actor: Actor, id: int) -> DemoProject:
    """Matchmakers, the project's enterprises, the opportunity's issuer and the zone's lead organisation."""
    require_signed_in(actor)
    project = await session.get(DemoProject, id)
    if project is None or not await can_read(session, actor, project):
        raise NotFound("示范项目不存在")
    return project
