from typing import Annotated

from fastapi import APIRouter, Query

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, Unauthorized, error_responses
from backend.taxonomy import service
from backend.taxonomy.schemas import BatchCreate, BatchPublic, DomainPublic, RegionPublic, TrackPublic

router = APIRouter(tags=["分类"])


@router.get("/tracks", response_model=list[TrackPublic])
async def list_tracks(session: SessionDep) -> list[TrackPublic]:
    """赛道: the base, emerging and fusion tracks of the 2022 意见."""
    return [TrackPublic.model_validate(t) for t in await service.list_tracks(session)]


@router.get("/domains", response_model=list[DomainPublic])
async def list_domains(session: SessionDep) -> list[DomainPublic]:
    """场景领域: four groups and their fields."""
    return [DomainPublic.model_validate(d) for d in await service.list_domains(session)]


@router.get("/regions", response_model=list[RegionPublic])
async def list_regions(
    session: SessionDep,
    level: Annotated[str | None, Query(pattern="^(province|city|new_area|county)$")] = None,
    parent: Annotated[str | None, Query(max_length=12)] = None,
) -> list[RegionPublic]:
    return [RegionPublic.model_validate(r) for r in await service.list_regions(session, level=level, parent=parent)]


@router.get("/batches", response_model=list[BatchPublic])
async def list_batches(session: SessionDep) -> list[BatchPublic]:
    return [BatchPublic.model_validate(b) for b in await service.list_batches(session)]


@router.post(
    "/batches",
    response_model=BatchPublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, Conflict),
)
async def create_batch(data: BatchCreate, session: SessionDep, actor: ActorDep) -> BatchPublic:
    batch = await service.create_batch(session, actor=actor, number=data.number, title=data.title, note=data.note)
    return BatchPublic.model_validate(batch)
