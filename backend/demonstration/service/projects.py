"""示范项目 (demonstration projects): created from a pairing or by hand, readable by their parties."""

from datetime import date

from sqlalchemy import delete
from sqlalchemy import update as sql_update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerMember, MemberStatus
from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in
from backend.demonstration.models import (
    PROJECT_STATUS_LABELS,
    DemoProject,
    DemoProjectEnterprise,
    DemoZone,
    ProjectStatus,
    next_status,
)
from backend.demonstration.permissions import get_readable
from backend.demonstration.schemas import (
    OrganisationRef,
    ProjectCreate,
    ProjectUpdate,
    Proposal,
)
from backend.demonstration.service._common import (
    _check_region,
    _check_tracks,
    _enterprise,
    _write,
    load_places,
    organisation_names,
)
from backend.demonstration.service.zones import all_zones
from backend.kit.china_time import china_today
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.listings.models import Opportunity, OpportunityTrack
from backend.pairings.models import STAGE_LABELS, Pairing, PairingStage

# ---------------------------------------------------------------- 示范项目


async def _set_enterprises(session: AsyncSession, project_id: int, enterprise_ids: list[int]) -> None:
    for organisation_id in enterprise_ids:
        await _enterprise(session, organisation_id, "enterprise_ids")
    await session.exec(delete(DemoProjectEnterprise).where(col(DemoProjectEnterprise.project_id) == project_id))  # type: ignore[call-overload]
    for position, organisation_id in enumerate(enterprise_ids):
        session.add(DemoProjectEnterprise(project_id=project_id, organisation_id=organisation_id, position=position))
    await session.flush()


async def _demonstration_pairing(session: AsyncSession, pairing_id: int) -> Pairing:
    """The pairing must exist, have reached 示范, and not have produced a project yet."""
    pairing = await session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFound("对接不存在", field="pairing_id")
    if pairing.stage != PairingStage.demonstration:
        stage = (
            STAGE_LABELS.get(PairingStage(pairing.stage), pairing.stage)
            if pairing.stage in PairingStage
            else pairing.stage
        )
        raise Conflict(f"对接处于「{stage}」阶段，进入「示范」阶段后才能申报示范项目", field="pairing_id")
    existing = (await session.exec(select(DemoProject.id).where(DemoProject.pairing_id == pairing_id))).first()
    if existing is not None:
        raise Conflict(f"该对接已申报示范项目（#{existing}）", field="pairing_id", project_id=existing)
    return pairing


async def create_project(session: AsyncSession, *, actor: Actor, data: ProjectCreate) -> DemoProject:
    """Register a project at 申报; its zone, opportunity, pairing and enterprises must exist."""
    _write(actor)
    opportunity_id = data.opportunity_id
    if data.pairing_id is not None:
        pairing = await _demonstration_pairing(session, data.pairing_id)
        if opportunity_id is not None and opportunity_id != pairing.opportunity_id:
            raise Unprocessable("所选机会与对接的机会不一致", field="opportunity_id")
        opportunity_id = pairing.opportunity_id
    opportunity = None
    if opportunity_id is not None:
        opportunity = await session.get(Opportunity, opportunity_id)
        if opportunity is None:
            raise NotFound("机会不存在", field="opportunity_id")
    zone = None
    if data.zone_id is not None:
        zone = await session.get(DemoZone, data.zone_id)
        if zone is None:
            raise NotFound("示范区不存在", field="zone_id")
    region_code = (
        data.region_code or (zone.region_code if zone else None) or (opportunity.region_code if opportunity else None)
    )
    await _check_region(session, region_code)
    await _check_tracks(session, data.tracks)
    project = DemoProject(
        title=data.title,
        summary=data.summary,
        zone_id=data.zone_id,
        opportunity_id=opportunity_id,
        pairing_id=data.pairing_id,
        region_code=region_code,
        track_codes=data.tracks,
        investment_wan=data.investment_wan,
        output_value_wan=data.output_value_wan,
        outcome=data.outcome,
        created_by_id=actor.user_id,
    )
    session.add(project)
    await session.flush()
    await _set_enterprises(session, project.id, data.enterprise_ids)
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=project.id,
        action="create",
        to_state=project.status,
        note=f"来自对接 #{data.pairing_id}" if data.pairing_id else "",
    )
    return project


async def update_project(session: AsyncSession, *, actor: Actor, project_id: int, data: ProjectUpdate) -> DemoProject:
    _write(actor)
    project = await session.get(DemoProject, project_id)
    if project is None:
        raise NotFound("示范项目不存在")
    changes = data.model_dump(exclude_unset=True)
    if "zone_id" in changes:
        if changes["zone_id"] is not None and await session.get(DemoZone, changes["zone_id"]) is None:
            raise NotFound("示范区不存在", field="zone_id")
        project.zone_id = changes["zone_id"]
    if "region_code" in changes:
        region_code = changes["region_code"]
        if region_code is None:
            # A cleared place falls back as on creation: the zone's, then the opportunity's.
            zone = await session.get(DemoZone, project.zone_id) if project.zone_id else None
            opportunity = await session.get(Opportunity, project.opportunity_id) if project.opportunity_id else None
            region_code = (zone.region_code if zone else None) or (opportunity.region_code if opportunity else None)
        await _check_region(session, region_code)
        project.region_code = region_code
    if changes.get("tracks") is not None:
        tracks = list(dict.fromkeys(changes["tracks"]))
        await _check_tracks(session, tracks)
        project.track_codes = tracks
    for name in ("title", "summary", "outcome"):
        if changes.get(name) is not None:
            setattr(project, name, changes[name])
    for name in ("investment_wan", "output_value_wan"):
        if name in changes:
            setattr(project, name, changes[name])
    if changes.get("enterprise_ids") is not None:
        await _set_enterprises(session, project.id, list(dict.fromkeys(changes["enterprise_ids"])))
    project.modified_at = utcnow()
    session.add(project)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="demo_project", entity_id=project.id, action="update", note="、".join(changes)
    )
    return project


async def move_project(
    session: AsyncSession, *, actor: Actor, project_id: int, to: ProjectStatus, note: str = "", on: date | None = None
) -> DemoProject:
    """One step along 申报 → 入选 → 建设中 → 验收 → 推广; entering 入选 dates the project's count."""
    _write(actor)
    project = await session.get(DemoProject, project_id)
    if project is None:
        raise NotFound("示范项目不存在")
    current = ProjectStatus(project.status)
    allowed = next_status(current)
    if to != allowed:
        hint = f"下一步只能是「{PROJECT_STATUS_LABELS[allowed]}」" if allowed else "已是最后一步"
        raise Conflict(
            f"不能从「{PROJECT_STATUS_LABELS[current]}」直接进入「{PROJECT_STATUS_LABELS[to]}」：{hint}", field="status"
        )
    values: dict = {"status": to.value, "modified_at": utcnow()}
    if to == ProjectStatus.selected:
        values["selected_on"] = on or china_today()
    # Compare-and-set, so that of two simultaneous moves exactly one wins.
    result = await session.exec(
        sql_update(DemoProject)  # type: ignore[call-overload]
        .where(col(DemoProject.id) == project_id, col(DemoProject.status) == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该项目已被他人更新，请刷新后重试", field="status")
    await session.refresh(project)
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=project.id,
        action=f"status:{to.value}",
        from_state=current.value,
        to_state=to.value,
        note=note,
    )
    return project


async def get_project_readable(session: AsyncSession, *, actor: Actor, project_id: int) -> DemoProject:
    """Compatibility name (web/ calls it): `permissions.get_readable` is the loader."""
    return await get_readable(session, actor=actor, id=project_id)


async def list_projects(
    session: AsyncSession,
    *,
    actor: Actor,
    page: PageParams,
    status: ProjectStatus | None = None,
    zone_id: int | None = None,
) -> tuple[list[DemoProject], int]:
    """Newest first; matchmakers see every project, organisations the ones they are a party to (as in permissions.get_readable)."""
    require_signed_in(actor)
    query = select(DemoProject)
    if not actor.is_staff:
        if actor.organisation_id is None:
            return [], 0
        own = select(DemoProjectEnterprise.project_id).where(
            DemoProjectEnterprise.organisation_id == actor.organisation_id
        )
        issued = select(Opportunity.id).where(Opportunity.organisation_id == actor.organisation_id)
        led = select(DemoZone.id).where(DemoZone.lead_organisation_id == actor.organisation_id)
        query = query.where(
            col(DemoProject.id).in_(own)
            | col(DemoProject.opportunity_id).in_(issued)
            | col(DemoProject.zone_id).in_(led)
        )
    if status is not None:
        query = query.where(DemoProject.status == status)
    if zone_id is not None:
        query = query.where(DemoProject.zone_id == zone_id)
    return await paginate(session, query, page, col(DemoProject.id).desc())


async def proposal_from_pairing(session: AsyncSession, pairing_id: int) -> Proposal:
    """The project a pairing at 示范 proposes: title from the opportunity, zone guessed by region, its enterprises."""
    pairing = await _demonstration_pairing(session, pairing_id)
    opportunity = await session.get(Opportunity, pairing.opportunity_id)
    if opportunity is None:
        raise NotFound("对接的机会不存在", field="pairing_id")
    tracks = list(
        (
            await session.exec(select(OpportunityTrack.track_code).where(OpportunityTrack.listing_id == opportunity.id))
        ).all()
    )
    enterprise_ids = [pairing.organisation_id]
    if pairing.answer_id is not None:
        answer = await session.get(Answer, pairing.answer_id)
        members = (
            await session.exec(
                select(AnswerMember.organisation_id)
                .where(AnswerMember.answer_id == pairing.answer_id, AnswerMember.status == MemberStatus.confirmed)
                .order_by(col(AnswerMember.organisation_id))
            )
        ).all()
        # A consortium's lead and its confirmed members all produced the result.
        for organisation_id in ([answer.lead_organisation_id] if answer else []) + list(members):
            if organisation_id not in enterprise_ids:
                enterprise_ids.append(organisation_id)
    zone = await _guess_zone(session, opportunity.region_code, tracks)
    names = await organisation_names(session, enterprise_ids)
    return Proposal(
        pairing_id=pairing.id,
        opportunity_id=opportunity.id,
        title=opportunity.title,
        summary=opportunity.description[:20000],
        zone_id=zone.id if zone else None,
        zone_name=zone.name if zone else None,
        region_code=opportunity.region_code,
        tracks=tracks,
        enterprise_ids=enterprise_ids,
        enterprises=[OrganisationRef(id=i, name=names.get(i, "")) for i in enterprise_ids],
    )


async def _guess_zone(session: AsyncSession, region_code: str | None, tracks: list[str]) -> DemoZone | None:
    """The zone in the same place (same county first, then same city), preferring shared focus tracks."""
    if not region_code:
        return None
    places = await load_places(session)
    city = places.city_of(region_code)
    best: tuple[int, int, int] | None = None
    chosen = None
    for zone in await all_zones(session):
        if zone.region_code == region_code:
            place_score = 2
        elif city is not None and places.city_of(zone.region_code) == city:
            place_score = 1
        else:
            continue
        score = (place_score, len(set(zone.track_codes) & set(tracks)), -zone.id)
        if best is None or score > best:
            best, chosen = score, zone
    return chosen


async def create_from_pairing(session: AsyncSession, *, actor: Actor, pairing_id: int) -> DemoProject:
    """Register the proposed project exactly as proposed."""
    _write(actor)
    proposal = await proposal_from_pairing(session, pairing_id)
    data = ProjectCreate(
        title=proposal.title[:200],
        summary=proposal.summary,
        zone_id=proposal.zone_id,
        opportunity_id=proposal.opportunity_id,
        pairing_id=proposal.pairing_id,
        enterprise_ids=proposal.enterprise_ids,
        region_code=proposal.region_code,
        tracks=proposal.tracks,
    )
    return await create_project(session, actor=actor, data=data)
