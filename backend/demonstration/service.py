"""十百千 registry rules: matchmakers keep zones, projects and high-growth enterprises; admins set targets.

Progress is never stored: it is counted from the registry on every request, against the Target rows.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from anyio import to_thread
from sqlalchemy import delete
from sqlalchemy import update as sql_update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from backend.answers.models import Answer, AnswerMember, MemberStatus
from backend.audit import service as audit
from backend.auth.actor import Actor, require_staff
from backend.demonstration.models import (
    COUNTED_STATUSES,
    METRIC_LABELS,
    PROJECT_STATUS_LABELS,
    DemoProject,
    DemoProjectEnterprise,
    DemoZone,
    GrowthEnterprise,
    Metric,
    Milestone,
    MilestoneEvidence,
    ProjectStatus,
    Target,
    TargetScope,
    next_status,
)
from backend.demonstration.schemas import (
    EnterpriseCreate,
    EnterpriseUpdate,
    Figure,
    MilestoneCreate,
    MilestoneUpdate,
    OrganisationRef,
    Progress,
    ProgressRow,
    ProjectCreate,
    ProjectUpdate,
    Proposal,
    TargetSet,
    TrendPoint,
    ZoneCreate,
    ZoneUpdate,
)
from backend.kit import files
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from backend.kit.pagination import PageParams
from backend.listings.models import Opportunity, OpportunityTrack
from backend.organisations.models import Organisation, OrganisationKind
from backend.pairings.models import STAGE_LABELS, Pairing, PairingStage
from backend.taxonomy import service as taxonomy
from backend.taxonomy.models import Region, Track
from backend.taxonomy.regions import PROVINCE_CODE

CHINA = ZoneInfo("Asia/Shanghai")
CITY_LEVELS = ("city", "new_area")
ENTERPRISE_KINDS = (OrganisationKind.enterprise, OrganisationKind.soe, OrganisationKind.lab)
# The plan's province-wide figures (二(四)3 of the 2022 opinion): about 50 / 300 / 3000.
PLAN_TARGETS = {Metric.zones: 50, Metric.projects: 300, Metric.enterprises: 3000}
Row = TypeVar("Row")


def china_today() -> date:
    """Plan years and months are counted as people in Jiangxi count them."""
    return datetime.now(CHINA).date()


def _require_admin(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    if not actor.is_admin:
        raise Forbidden("只有管理员可以修改十百千目标")


def _write(actor: Actor) -> None:
    require_staff(actor, "只有撮合专员可以维护十百千登记")


# ---------------------------------------------------------------- lookups shared by the rules


@dataclass(frozen=True)
class Places:
    """Region names and the county → city roll-up, loaded once per request."""

    names: dict[str, str]
    city_of_code: dict[str, str | None]
    cities: list[tuple[str, str]]

    def city_of(self, code: str | None) -> str | None:
        return self.city_of_code.get(code) if code else None


async def load_places(session: AsyncSession) -> Places:
    rows = (
        await session.exec(
            select(Region.code, Region.name, Region.level, Region.parent_code).order_by(col(Region.code))
        )
    ).all()
    level = {code: lvl for code, _, lvl, _ in rows}
    city_of: dict[str, str | None] = {}
    for code, _, lvl, parent in rows:
        if lvl in CITY_LEVELS:
            city_of[code] = code
        elif lvl == "county" and parent is not None and level.get(parent) in CITY_LEVELS:
            city_of[code] = parent
        else:
            city_of[code] = None
    cities = [(code, name) for code, name, lvl, _ in rows if lvl in CITY_LEVELS]
    return Places({code: name for code, name, _, _ in rows}, city_of, cities)


async def track_names(session: AsyncSession) -> dict[str, str]:
    return dict((await session.exec(select(Track.code, Track.name).order_by(col(Track.position)))).all())


async def organisation_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        (await session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted)))).all()
    )


async def _check_region(session: AsyncSession, code: str | None) -> None:
    await taxonomy.check_region(session, code)


async def _check_tracks(session: AsyncSession, codes: list[str]) -> None:
    await taxonomy.check_codes(session, tracks=codes, domains=[])


async def _enterprise(session: AsyncSession, organisation_id: int, field_name: str) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"组织 #{organisation_id} 不存在", field=field_name)
    if organisation.kind not in ENTERPRISE_KINDS:
        raise Unprocessable(f"「{organisation.name}」不是企业或机构", field=field_name)
    return organisation


async def _paged(
    session: AsyncSession, query: SelectOfScalar[Row], page: PageParams, *order: Any
) -> tuple[list[Row], int]:
    """One page of `query` and the number of rows it matches; `order` must end in a unique column so pages never overlap."""
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(*order).offset(page.offset).limit(page.page_size))
    return list(rows.all()), total


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
    return await _paged(session, query, page, *ZONE_ORDER)


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


# ---------------------------------------------------------------- 示范项目


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
        # StrEnum members hash as their values, so the label is found from the stored text
        # (`text in PairingStage` raises TypeError on Python 3.11).
        stage = STAGE_LABELS.get(pairing.stage, pairing.stage)  # type: ignore[call-overload]
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


async def _parties(session: AsyncSession, project: DemoProject) -> set[int]:
    """Organisations that may read a project besides the matchmakers."""
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


async def get_project_readable(session: AsyncSession, *, actor: Actor, project_id: int) -> DemoProject:
    """Matchmakers, the project's enterprises, the opportunity's issuer and the zone's lead organisation."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    project = await session.get(DemoProject, project_id)
    if project is None or not (actor.is_staff or (actor.organisation_id in await _parties(session, project))):
        raise NotFound("示范项目不存在")
    return project


async def list_projects(
    session: AsyncSession,
    *,
    actor: Actor,
    page: PageParams,
    status: ProjectStatus | None = None,
    zone_id: int | None = None,
) -> tuple[list[DemoProject], int]:
    """Newest first; matchmakers see every project, organisations the ones they are a party to (as in get_project_readable)."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
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
    return await _paged(session, query, page, col(DemoProject.id).desc())


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


# ---------------------------------------------------------------- milestones and evidence


async def add_milestone(session: AsyncSession, *, actor: Actor, project_id: int, data: MilestoneCreate) -> Milestone:
    _write(actor)
    if await session.get(DemoProject, project_id) is None:
        raise NotFound("示范项目不存在")
    milestone = Milestone(project_id=project_id, created_by_id=actor.user_id, **data.model_dump())
    session.add(milestone)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="demo_project", entity_id=project_id, action="milestone", note=milestone.title
    )
    return milestone


async def update_milestone(
    session: AsyncSession, *, actor: Actor, milestone_id: int, data: MilestoneUpdate
) -> Milestone:
    _write(actor)
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is not None or name in ("due_on", "done_on"):
            setattr(milestone, name, value)
    session.add(milestone)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=milestone.project_id,
        action="milestone:update",
        note=milestone.title,
    )
    return milestone


async def milestones_of(session: AsyncSession, project_id: int) -> list[tuple[Milestone, list[MilestoneEvidence]]]:
    milestones = list(
        (
            await session.exec(
                select(Milestone)
                .where(Milestone.project_id == project_id)
                .order_by(col(Milestone.due_on).nulls_last(), col(Milestone.id))
            )
        ).all()
    )
    evidence: dict[int, list[MilestoneEvidence]] = {m.id: [] for m in milestones}
    if milestones:
        rows = (
            await session.exec(
                select(MilestoneEvidence)
                .where(col(MilestoneEvidence.milestone_id).in_(list(evidence)))
                .order_by(col(MilestoneEvidence.id))
            )
        ).all()
        for row in rows:
            evidence[row.milestone_id].append(row)
    return [(m, evidence[m.id]) for m in milestones]


async def add_evidence(
    session: AsyncSession,
    *,
    actor: Actor,
    milestone_id: int,
    data: bytes,
    filename: str,
    upload_dir: Path,
    max_bytes: int,
) -> MilestoneEvidence:
    """Attach an evidence file; checked by content, stored outside the web root under a random key."""
    _write(actor)
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    checked = files.check(data, filename, max_bytes=max_bytes)
    key = await to_thread.run_sync(files.store, upload_dir, data)
    evidence = MilestoneEvidence(
        milestone_id=milestone.id,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        storage_key=key,
        uploaded_by_id=actor.user_id,
    )
    session.add(evidence)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=milestone.project_id,
        action="evidence",
        note=checked.filename,
    )
    return evidence


async def get_evidence(
    session: AsyncSession, *, actor: Actor, milestone_id: int, evidence_id: int
) -> MilestoneEvidence:
    """Served only to those who may read the project."""
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    await get_project_readable(session, actor=actor, project_id=milestone.project_id)
    evidence = await session.get(MilestoneEvidence, evidence_id)
    if evidence is None or evidence.milestone_id != milestone_id:
        raise NotFound("佐证材料不存在")
    return evidence


async def remove_evidence(session: AsyncSession, *, actor: Actor, milestone_id: int, evidence_id: int) -> None:
    _write(actor)
    evidence = await session.get(MilestoneEvidence, evidence_id)
    if evidence is None or evidence.milestone_id != milestone_id:
        raise NotFound("佐证材料不存在")
    milestone = await session.get(Milestone, milestone_id)
    await session.delete(evidence)
    await session.flush()
    if milestone is not None:
        await audit.record(
            session,
            actor=actor,
            entity_kind="demo_project",
            entity_id=milestone.project_id,
            action="evidence:remove",
            note=evidence.filename,
        )


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
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    enterprise = await session.get(GrowthEnterprise, enterprise_id)
    if enterprise is None or not (actor.is_staff or actor.belongs_to(enterprise.organisation_id)):
        raise NotFound("高成长性企业不存在")
    return enterprise


async def list_enterprises(
    session: AsyncSession, *, actor: Actor, page: PageParams, year: int | None = None
) -> tuple[list[GrowthEnterprise], int]:
    """Newest first; matchmakers see every record, an enterprise only its own (indicators are not public)."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    query = select(GrowthEnterprise)
    if not actor.is_staff:
        if actor.organisation_id is None:
            return [], 0
        query = query.where(GrowthEnterprise.organisation_id == actor.organisation_id)
    if year is not None:
        query = query.where(GrowthEnterprise.year_recognised == year)
    return await _paged(session, query, page, col(GrowthEnterprise.id).desc())


# ---------------------------------------------------------------- targets


async def _scope_code(session: AsyncSession, scope: TargetScope, code: str) -> str:
    if scope == TargetScope.province:
        return PROVINCE_CODE
    if scope == TargetScope.city:
        region = await session.get(Region, code) if code else None
        if region is None or region.level not in CITY_LEVELS:
            raise Unprocessable("请选择一个设区市（或赣江新区）", field="scope_code")
        return code
    if not code or await session.get(Track, code) is None:
        raise Unprocessable(f"未知的赛道代码：{code}", field="scope_code")
    return code


async def set_target(session: AsyncSession, *, actor: Actor, data: TargetSet) -> Target:
    """Create or change one target (admins only); the old value goes into the audit log."""
    _require_admin(actor)
    code = await _scope_code(session, data.scope, data.scope_code)
    target = (
        await session.exec(
            select(Target).where(
                Target.scope == data.scope,
                Target.scope_code == code,
                Target.year == data.year,
                Target.metric == data.metric,
            )
        )
    ).first()
    before = None
    if target is None:
        target = Target(scope=data.scope, scope_code=code, year=data.year, metric=data.metric, value=data.value)
    else:
        before = str(target.value)
        target.value = data.value
    target.modified_by_id = actor.user_id
    target.modified_at = utcnow()
    session.add(target)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_target",
        entity_id=target.id,
        action="set",
        from_state=before,
        to_state=str(data.value),
        note=f"{data.year} {data.scope.value}:{code} {METRIC_LABELS[data.metric]}",
    )
    return target


async def delete_target(session: AsyncSession, *, actor: Actor, target_id: int) -> None:
    _require_admin(actor)
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound("目标不存在")
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_target",
        entity_id=target.id,
        action="delete",
        from_state=str(target.value),
    )
    await session.delete(target)
    await session.flush()


TARGET_ORDER = (col(Target.year), col(Target.scope), col(Target.scope_code), col(Target.metric), col(Target.id))


def _targets_query(year: int | None) -> SelectOfScalar[Target]:
    query = select(Target)
    return query.where(Target.year == year) if year is not None else query


async def list_targets(session: AsyncSession, *, year: int | None = None) -> list[Target]:
    """Every target (of `year`), for the page that edits a year's targets together."""
    return list((await session.exec(_targets_query(year).order_by(*TARGET_ORDER))).all())


async def targets_page(session: AsyncSession, *, page: PageParams, year: int | None = None) -> tuple[list[Target], int]:
    return await _paged(session, _targets_query(year), page, *TARGET_ORDER)


async def targets_for(session: AsyncSession, year: int) -> dict[tuple[str, str, str], int]:
    """The target in force for `year`: that year's row, or else the latest earlier one (a goal stands until changed)."""
    rows = (await session.exec(select(Target).where(Target.year <= year).order_by(col(Target.year)))).all()
    found: dict[tuple[str, str, str], int] = {}
    for row in rows:
        found[(row.scope, row.scope_code, row.metric)] = row.value
    return found


def even_split(total: int, parts: int) -> list[int]:
    """`total` over `parts` as evenly as whole numbers allow; the first ones take the remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def seed_targets(session: AsyncSession, *, year: int | None = None) -> int:
    """The plan's province-wide targets and an even split per city for `year`; existing rows are left as edited."""
    year = year or china_today().year
    existing = {
        (t.scope, t.scope_code, t.metric) for t in (await session.exec(select(Target).where(Target.year == year))).all()
    }
    cities = list(
        (
            await session.exec(select(Region.code).where(col(Region.level).in_(CITY_LEVELS)).order_by(col(Region.code)))
        ).all()
    )
    wanted: list[tuple[str, str, str, int]] = []
    for metric, total in PLAN_TARGETS.items():
        wanted.append((TargetScope.province.value, PROVINCE_CODE, metric.value, total))
        if cities:
            for code, value in zip(cities, even_split(total, len(cities)), strict=True):
                wanted.append((TargetScope.city.value, code, metric.value, value))
    created = 0
    for scope, code, metric, value in wanted:
        if (scope, code, metric) not in existing:
            session.add(Target(scope=scope, scope_code=code, year=year, metric=metric, value=value))
            created += 1
    await session.flush()
    return created


# ---------------------------------------------------------------- progress


@dataclass
class _Item:
    metric: Metric
    counted_on: date
    city: str | None
    tracks: list[str] = field(default_factory=list)


async def _registry_items(session: AsyncSession, places: Places) -> list[_Item]:
    items: list[_Item] = []
    for designated_on, region_code, tracks in (
        await session.exec(select(DemoZone.designated_on, DemoZone.region_code, DemoZone.track_codes))
    ).all():
        items.append(_Item(Metric.zones, designated_on, places.city_of(region_code), list(tracks or [])))
    projects = await session.exec(
        select(DemoProject.selected_on, DemoProject.region_code, DemoProject.track_codes).where(
            col(DemoProject.status).in_([s.value for s in COUNTED_STATUSES]), col(DemoProject.selected_on).is_not(None)
        )
    )
    for selected_on, region_code, tracks in projects.all():
        items.append(_Item(Metric.projects, selected_on, places.city_of(region_code), list(tracks or [])))
    enterprises = await session.exec(
        select(
            GrowthEnterprise.year_recognised,
            GrowthEnterprise.recognised_on,
            GrowthEnterprise.region_code,
            GrowthEnterprise.track_codes,
        )
    )
    for year, recognised_on, region_code, tracks in enterprises.all():
        items.append(
            _Item(
                Metric.enterprises, recognised_on or date(year, 1, 1), places.city_of(region_code), list(tracks or [])
            )
        )
    return items


def _figure(actual: int, target: int | None) -> Figure:
    percent = round(actual * 100 / target, 1) if target else None
    return Figure(target=target, actual=actual, percent=percent)


def _row(
    code: str,
    name: str,
    items: list[_Item],
    targets: dict[tuple[str, str, str], int],
    scope: TargetScope,
    target_code: str,
) -> ProgressRow:
    counts = {m: 0 for m in Metric}
    for item in items:
        counts[item.metric] += 1
    return ProgressRow(
        code=code,
        name=name,
        **{m.value: _figure(counts[m], targets.get((scope.value, target_code, m.value))) for m in Metric},
    )


async def progress(session: AsyncSession, *, year: int | None = None, today: date | None = None) -> Progress:
    """Targets against actuals for the end of `year`: overall, per city (counties roll up), per track, and the monthly trend.

    Counted: every zone from its designation date, every project from the day it entered 入选
    (while it is at 入选 or beyond), every high-growth enterprise from its recognition date.
    """
    today = today or china_today()
    year = year or today.year
    places = await load_places(session)
    names = await track_names(session)
    targets = await targets_for(session, year)
    year_end = date(year, 12, 31)
    items = [i for i in await _registry_items(session, places) if i.counted_on <= year_end]

    overall = _row(PROVINCE_CODE, "全省", items, targets, TargetScope.province, PROVINCE_CODE)
    cities = [
        _row(code, name, [i for i in items if i.city == code], targets, TargetScope.city, code)
        for code, name in places.cities
    ]
    unassigned = _row("", "未归属设区市", [i for i in items if i.city is None], {}, TargetScope.city, "")
    tracks = [
        _row(code, name, [i for i in items if code in i.tracks], targets, TargetScope.track, code)
        for code, name in names.items()
    ]
    months = 12 if year < today.year else (today.month if year == today.year else 0)
    trend = []
    for month in range(1, months + 1):
        month_end = date(year, month, calendar.monthrange(year, month)[1])
        counts = {m: 0 for m in Metric}
        for item in items:
            if item.counted_on <= month_end:
                counts[item.metric] += 1
        trend.append(TrendPoint(month=month, **{m.value: counts[m] for m in Metric}))
    as_of = min(today, year_end)
    return Progress(
        year=year, as_of=as_of, overall=overall, cities=cities, unassigned=unassigned, tracks=tracks, trend=trend
    )
