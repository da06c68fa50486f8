"""示范区 (demonstration zones): designated by matchmakers, one name per zone."""

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor
from backend.demonstration.models import (
    DemoProject,
    DemoZone,
)
from backend.demonstration.schemas import (
    ZoneCreate,
    ZoneUpdate,
)
from backend.demonstration.service._common import _check_region, _check_tracks, _write, load_places
from backend.kit.china_time import china_today
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound
from backend.kit.pagination import PageParams, paginate
from backend.organisations.models import Organisation

# ---------------------------------------------------------------- 示范区


async def create_zone(session: AsyncSession, *, actor: Actor, data: ZoneCreate) -> DemoZone:
    """Register a demonstration zone (name unique)."""
    _write(actor)
    await _check_region(session, data.region_code)
    await _check_tracks(session, data.tracks)
    await _check_zone_name(session, data.name, None)
    if data.lead_organisation_id is not None and await session.get(Organisation, data.lead_organisation_id) is None:
        raise NotFound("牵头单位不存在", field="lead_organisation_id")
    zone = DemoZone(
        name=data.name,
        region_code=data.region_code,
        track_codes=data.tracks,
        lead_organisation_id=data.lead_organisation_id,
        description=data.description,
        designated_on=data.designated_on or china_today(),
        created_by_id=actor.user_id,
    )
    session.add(zone)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="demo_zone", entity_id=zone.id, action="create", note=zone.name
    )
    return zone


async def _check_zone_name(session: AsyncSession, name: str, zone_id: int | None) -> None:
    existing = (await session.exec(select(DemoZone).where(DemoZone.name == name))).first()
    if existing is not None and existing.id != zone_id:
        raise Conflict(f"示范区「{name}」已登记（#{existing.id}）", field="name")


async def update_zone(session: AsyncSession, *, actor: Actor, zone_id: int, data: ZoneUpdate) -> DemoZone:
    _write(actor)
    zone = await get_zone(session, zone_id=zone_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _check_zone_name(session, changes["name"], zone.id)
        zone.name = changes["name"]
    if changes.get("region_code") is not None:
        await _check_region(session, changes["region_code"])
        zone.region_code = changes["region_code"]
    if changes.get("tracks") is not None:
        tracks = list(dict.fromkeys(changes["tracks"]))
        await _check_tracks(session, tracks)
        zone.track_codes = tracks
    if "lead_organisation_id" in changes:
        lead = changes["lead_organisation_id"]
        if lead is not None and await session.get(Organisation, lead) is None:
            raise NotFound("牵头单位不存在", field="lead_organisation_id")
        zone.lead_organisation_id = lead
    if changes.get("description") is not None:
        zone.description = changes["description"]
    if changes.get("designated_on") is not None:
        zone.designated_on = changes["designated_on"]
    zone.modified_at = utcnow()
    session.add(zone)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="demo_zone", entity_id=zone.id, action="update", note="、".join(changes)
    )
    return zone


async def get_zone(session: AsyncSession, *, zone_id: int) -> DemoZone:
    zone = await session.get(DemoZone, zone_id)
    if zone is None:
        raise NotFound("示范区不存在")
    return zone


ZONE_ORDER = (col(DemoZone.region_code), col(DemoZone.id))


async def list_zones(
    session: AsyncSession, *, page: PageParams, region_code: str | None = None
) -> tuple[list[DemoZone], int]:
    """Zones are public: name, place, focus tracks and lead organisation; a city code includes its counties."""
    query = select(DemoZone)
    if region_code:
        places = await load_places(session)
        codes = [c for c, city in places.city_of_code.items() if c == region_code or city == region_code]
        query = query.where(col(DemoZone.region_code).in_(codes or [region_code]))
    return await paginate(session, query, page, *ZONE_ORDER)


async def all_zones(session: AsyncSession) -> list[DemoZone]:
    """Every zone, for choosers and the progress page (the plan counts them in tens, not thousands)."""
    return list((await session.exec(select(DemoZone).order_by(*ZONE_ORDER))).all())


async def zone_project_counts(session: AsyncSession) -> dict[int, int]:
    rows = (
        await session.exec(
            select(DemoProject.zone_id, func.count())
            .where(col(DemoProject.zone_id).is_not(None))
            .group_by(DemoProject.zone_id)
        )
    ).all()
    return dict(rows)
