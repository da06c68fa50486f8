"""高成长性企业 (growth enterprises): registered by matchmakers; their indicators are not public."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in
from backend.demonstration.models import (
    GrowthEnterprise,
)
from backend.demonstration.permissions import can_read_enterprise
from backend.demonstration.schemas import (
    EnterpriseCreate,
    EnterpriseUpdate,
)
from backend.demonstration.service._common import _check_region, _check_tracks, _enterprise, _write
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate

# ---------------------------------------------------------------- 高成长性企业


async def create_enterprise(session: AsyncSession, *, actor: Actor, data: EnterpriseCreate) -> GrowthEnterprise:
    _write(actor)
    organisation = await _enterprise(session, data.organisation_id, "organisation_id")
    existing = (
        await session.exec(select(GrowthEnterprise.id).where(GrowthEnterprise.organisation_id == organisation.id))
    ).first()
    if existing is not None:
        raise Conflict(f"「{organisation.name}」已登记为高成长性企业（#{existing}）", field="organisation_id")
    region_code = data.region_code or organisation.region_code
    await _check_region(session, region_code)
    await _check_tracks(session, data.tracks)
    enterprise = GrowthEnterprise(
        organisation_id=organisation.id,
        region_code=region_code,
        track_codes=data.tracks,
        year_recognised=data.year_recognised,
        recognised_on=data.recognised_on,
        indicators=data.indicators,
        note=data.note,
        created_by_id=actor.user_id,
    )
    session.add(enterprise)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="growth_enterprise",
        entity_id=enterprise.id,
        action="create",
        note=organisation.name,
    )
    return enterprise


async def update_enterprise(
    session: AsyncSession, *, actor: Actor, enterprise_id: int, data: EnterpriseUpdate
) -> GrowthEnterprise:
    _write(actor)
    enterprise = await session.get(GrowthEnterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("高成长性企业不存在")
    changes = data.model_dump(exclude_unset=True)
    if "region_code" in changes:
        await _check_region(session, changes["region_code"])
        enterprise.region_code = changes["region_code"]
    if changes.get("tracks") is not None:
        tracks = list(dict.fromkeys(changes["tracks"]))
        await _check_tracks(session, tracks)
        enterprise.track_codes = tracks
    if changes.get("year_recognised") is not None:
        enterprise.year_recognised = changes["year_recognised"]
    if "recognised_on" in changes:
        enterprise.recognised_on = changes["recognised_on"]
    if enterprise.recognised_on is not None and enterprise.recognised_on.year != enterprise.year_recognised:
        raise Unprocessable("认定日期应在认定年份内", field="recognised_on")
    if changes.get("indicators") is not None:
        enterprise.indicators = changes["indicators"]
    if changes.get("note") is not None:
        enterprise.note = changes["note"]
    enterprise.modified_at = utcnow()
    session.add(enterprise)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="growth_enterprise",
        entity_id=enterprise.id,
        action="update",
        note="、".join(changes),
    )
    return enterprise


async def get_enterprise(session: AsyncSession, *, actor: Actor, enterprise_id: int) -> GrowthEnterprise:
    """Matchmakers, and the enterprise itself (its indicators are not public)."""
    require_signed_in(actor)
    enterprise = await session.get(GrowthEnterprise, enterprise_id)
    if enterprise is None or not can_read_enterprise(actor, enterprise):
        raise NotFound("高成长性企业不存在")
    return enterprise


async def list_enterprises(
    session: AsyncSession, *, actor: Actor, page: PageParams, year: int | None = None
) -> tuple[list[GrowthEnterprise], int]:
    """Newest first; matchmakers see every record, an enterprise only its own (indicators are not public)."""
    require_signed_in(actor)
    query = select(GrowthEnterprise)
    if not actor.is_staff:
        if actor.organisation_id is None:
            return [], 0
        query = query.where(GrowthEnterprise.organisation_id == actor.organisation_id)
    if year is not None:
        query = query.where(GrowthEnterprise.year_recognised == year)
    return await paginate(session, query, page, col(GrowthEnterprise.id).desc())
