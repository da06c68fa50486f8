"""十百千 API: the registry (zones, projects, milestones and evidence, enterprises), targets and progress."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from backend.auth.actor import require_staff
from backend.demonstration import permissions, presenter, service
from backend.demonstration.models import ProjectStatus
from backend.demonstration.schemas import (
    EnterpriseCreate,
    EnterprisePublic,
    EnterpriseUpdate,
    EvidencePublic,
    MilestoneCreate,
    MilestonePublic,
    MilestoneUpdate,
    Progress,
    ProjectCreate,
    ProjectMove,
    ProjectPublic,
    ProjectUpdate,
    Proposal,
    TargetPublic,
    TargetSet,
    ZoneCreate,
    ZonePublic,
    ZoneUpdate,
)
from backend.dependencies import ActorDep, SessionDep, SettingsDep
from backend.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from backend.kit.files import download_response
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath, IdQuery

router = APIRouter(prefix="/demonstration", tags=["十百千"])
_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="年度，默认今年")]
PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("/progress", response_model=Progress)
async def get_progress(session: SessionDep, year: YearQuery = None) -> Progress:
    """Targets against actuals (overall, per city, per track) and the year's monthly cumulative trend; public."""
    return await service.progress(session, year=year)


# ---------------------------------------------------------------- zones


@router.get("/zones", response_model=Page[ZonePublic])
async def list_zones(
    session: SessionDep, page: PageDep, region_code: Annotated[str | None, Query(max_length=12)] = None
) -> Page[ZonePublic]:
    """Demonstration zones (public), by place; a city code includes the zones in its counties."""
    rows, total = await service.list_zones(session, page=page, region_code=region_code)
    return Page(items=await presenter.zones(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.post("/zones", response_model=ZonePublic, status_code=201, responses=_ERRORS)
async def create_zone(data: ZoneCreate, session: SessionDep, actor: ActorDep) -> ZonePublic:
    return (await presenter.zones(session, [await service.create_zone(session, actor=actor, data=data)]))[0]


@router.get("/zones/{zone_id}", response_model=ZonePublic, responses=error_responses(NotFound))
async def get_zone(zone_id: IdPath, session: SessionDep) -> ZonePublic:
    return (await presenter.zones(session, [await service.get_zone(session, zone_id=zone_id)]))[0]


@router.patch("/zones/{zone_id}", response_model=ZonePublic, responses=_ERRORS)
async def update_zone(zone_id: IdPath, data: ZoneUpdate, session: SessionDep, actor: ActorDep) -> ZonePublic:
    return (
        await presenter.zones(session, [await service.update_zone(session, actor=actor, zone_id=zone_id, data=data)])
    )[0]


# ---------------------------------------------------------------- projects


@router.get("/projects", response_model=Page[ProjectPublic], responses=error_responses(Unauthorized))
async def list_projects(
    session: SessionDep, actor: ActorDep, page: PageDep, status: ProjectStatus | None = None, zone_id: IdQuery = None
) -> Page[ProjectPublic]:
    """Newest first. Matchmakers see every project; organisations the ones they are part of."""
    rows, total = await service.list_projects(session, actor=actor, page=page, status=status, zone_id=zone_id)
    return Page(items=await presenter.projects(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.post("/projects", response_model=ProjectPublic, status_code=201, responses=_ERRORS)
async def create_project(data: ProjectCreate, session: SessionDep, actor: ActorDep) -> ProjectPublic:
    """Register a project at 申报; its zone, opportunity, pairing (at 示范) and enterprises must exist."""
    project = await service.create_project(session, actor=actor, data=data)
    return (await presenter.projects(session, [project], with_milestones=True))[0]


@router.get("/projects/{project_id}", response_model=ProjectPublic, responses=_ERRORS)
async def get_project(project_id: IdPath, session: SessionDep, actor: ActorDep) -> ProjectPublic:
    project = await permissions.get_readable(session, actor=actor, id=project_id)
    return (await presenter.projects(session, [project], with_milestones=True))[0]


@router.patch("/projects/{project_id}", response_model=ProjectPublic, responses=_ERRORS)
async def update_project(
    project_id: IdPath, data: ProjectUpdate, session: SessionDep, actor: ActorDep
) -> ProjectPublic:
    project = await service.update_project(session, actor=actor, project_id=project_id, data=data)
    return (await presenter.projects(session, [project], with_milestones=True))[0]


@router.post("/projects/{project_id}/status", response_model=ProjectPublic, responses=_ERRORS)
async def move_project(project_id: IdPath, data: ProjectMove, session: SessionDep, actor: ActorDep) -> ProjectPublic:
    """One step at a time: 申报 → 入选 → 建设中 → 验收 → 推广 (a skipped step is 409)."""
    project = await service.move_project(
        session, actor=actor, project_id=project_id, to=data.status, note=data.note, on=data.on
    )
    return (await presenter.projects(session, [project], with_milestones=True))[0]


@router.get("/pairings/{pairing_id}/proposal", response_model=Proposal, responses=_ERRORS)
async def proposal(pairing_id: IdPath, session: SessionDep, actor: ActorDep) -> Proposal:
    """The demonstration project a pairing at 示范 proposes, prefilled from the pairing."""
    require_staff(actor, "只有撮合专员可以申报示范项目")
    return await service.proposal_from_pairing(session, pairing_id)


@router.post("/pairings/{pairing_id}/project", response_model=ProjectPublic, status_code=201, responses=_ERRORS)
async def create_from_pairing(pairing_id: IdPath, session: SessionDep, actor: ActorDep) -> ProjectPublic:
    """Register the proposed project as proposed (edit it afterwards with PATCH)."""
    project = await service.create_from_pairing(session, actor=actor, pairing_id=pairing_id)
    return (await presenter.projects(session, [project], with_milestones=True))[0]


# ---------------------------------------------------------------- milestones and evidence


@router.post("/projects/{project_id}/milestones", response_model=MilestonePublic, status_code=201, responses=_ERRORS)
async def add_milestone(
    project_id: IdPath, data: MilestoneCreate, session: SessionDep, actor: ActorDep
) -> MilestonePublic:
    return presenter.milestone(await service.add_milestone(session, actor=actor, project_id=project_id, data=data), [])


@router.patch("/milestones/{milestone_id}", response_model=MilestonePublic, responses=_ERRORS)
async def update_milestone(
    milestone_id: IdPath, data: MilestoneUpdate, session: SessionDep, actor: ActorDep
) -> MilestonePublic:
    milestone = await service.update_milestone(session, actor=actor, milestone_id=milestone_id, data=data)
    evidence = next(
        (e for m, e in await service.milestones_of(session, milestone.project_id) if m.id == milestone.id), []
    )
    return presenter.milestone(milestone, evidence)


@router.post(
    "/milestones/{milestone_id}/attachments",
    response_model=EvidencePublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Unprocessable, PayloadTooLarge),
)
async def upload_evidence(
    milestone_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="PDF、Office 文档或图片")],
) -> EvidencePublic:
    """Attach an evidence file to a milestone; its type is checked by content."""
    data = await file.read(settings.max_attachment_bytes + 1)
    evidence = await service.add_evidence(
        session,
        actor=actor,
        milestone_id=milestone_id,
        data=data,
        filename=file.filename or "",
        max_bytes=settings.max_attachment_bytes,
    )
    return EvidencePublic(
        id=evidence.id,
        filename=evidence.filename,
        content_type=evidence.content_type,
        size=evidence.size,
        created_at=evidence.created_at,
        url=presenter.evidence_url(milestone_id, evidence.id),
    )


@router.get("/milestones/{milestone_id}/attachments/{evidence_id}", responses=error_responses(Unauthorized, NotFound))
async def download_evidence(
    milestone_id: IdPath, evidence_id: IdPath, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Served only to those who may read the project, always as a download."""
    evidence = await service.get_evidence(session, actor=actor, milestone_id=milestone_id, evidence_id=evidence_id)
    return await download_response(
        session,
        settings.upload_dir,
        storage_key=evidence.storage_key,
        filename=evidence.filename,
        content_type=evidence.content_type,
        missing="佐证材料文件已丢失，请重新上传",
    )


@router.delete("/milestones/{milestone_id}/attachments/{evidence_id}", status_code=204, responses=_ERRORS)
async def delete_evidence(milestone_id: IdPath, evidence_id: IdPath, session: SessionDep, actor: ActorDep) -> Response:
    await service.remove_evidence(session, actor=actor, milestone_id=milestone_id, evidence_id=evidence_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- high-growth enterprises


@router.get("/enterprises", response_model=Page[EnterprisePublic], responses=error_responses(Unauthorized))
async def list_enterprises(
    session: SessionDep, actor: ActorDep, page: PageDep, year: YearQuery = None
) -> Page[EnterprisePublic]:
    """Newest first. Matchmakers see every record; an enterprise sees its own."""
    rows, total = await service.list_enterprises(session, actor=actor, page=page, year=year)
    return Page(items=await presenter.enterprises(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.post("/enterprises", response_model=EnterprisePublic, status_code=201, responses=_ERRORS)
async def create_enterprise(data: EnterpriseCreate, session: SessionDep, actor: ActorDep) -> EnterprisePublic:
    return (await presenter.enterprises(session, [await service.create_enterprise(session, actor=actor, data=data)]))[0]


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic, responses=_ERRORS)
async def get_enterprise(enterprise_id: IdPath, session: SessionDep, actor: ActorDep) -> EnterprisePublic:
    return (
        await presenter.enterprises(
            session, [await service.get_enterprise(session, actor=actor, enterprise_id=enterprise_id)]
        )
    )[0]


@router.patch("/enterprises/{enterprise_id}", response_model=EnterprisePublic, responses=_ERRORS)
async def update_enterprise(
    enterprise_id: IdPath, data: EnterpriseUpdate, session: SessionDep, actor: ActorDep
) -> EnterprisePublic:
    enterprise = await service.update_enterprise(session, actor=actor, enterprise_id=enterprise_id, data=data)
    return (await presenter.enterprises(session, [enterprise]))[0]


# ---------------------------------------------------------------- targets


@router.get("/targets", response_model=Page[TargetPublic])
async def list_targets(session: SessionDep, page: PageDep, year: YearQuery = None) -> Page[TargetPublic]:
    """The targets as data (public, like the progress they are measured in)."""
    rows, total = await service.targets_page(session, page=page, year=year)
    return Page(items=await presenter.targets(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.put("/targets", response_model=TargetPublic, responses=_ERRORS)
async def set_target(data: TargetSet, session: SessionDep, actor: ActorDep) -> TargetPublic:
    """Create or change one target (admins only)."""
    return (await presenter.targets(session, [await service.set_target(session, actor=actor, data=data)]))[0]


@router.delete("/targets/{target_id}", status_code=204, responses=_ERRORS)
async def delete_target(target_id: IdPath, session: SessionDep, actor: ActorDep) -> Response:
    await service.delete_target(session, actor=actor, target_id=target_id)
    return Response(status_code=204)
