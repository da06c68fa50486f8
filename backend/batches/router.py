"""/batches/{number}/changes and 发布第N批. Listing and creating batches stay in taxonomy."""

from typing import Annotated

from fastapi import APIRouter, Path

from backend.batches import service
from backend.batches.schemas import BatchChangesPublic, BatchRef, BatchSummaryPublic, ChangeItemPublic
from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, error_responses

router = APIRouter(prefix="/batches", tags=["批次"])

BatchNumber = Annotated[int, Path(ge=1, le=10000, description="批次号")]


def changes_public(log: service.BatchChanges) -> BatchChangesPublic:
    return BatchChangesPublic(
        batch=BatchRef.model_validate(log.batch),
        previous=log.previous,
        start=log.start,
        end=log.end,
        added=[ChangeItemPublic.model_validate(i) for i in log.added],
        changed=[ChangeItemPublic.model_validate(i) for i in log.changed],
        withdrawn=[ChangeItemPublic.model_validate(i) for i in log.withdrawn],
    )


@router.get("/overview", response_model=list[BatchSummaryPublic])
async def batch_overview(session: SessionDep, actor: ActorDep) -> list[BatchSummaryPublic]:
    """Every batch, newest first, with how many listings it added, changed and withdrew."""
    return [
        BatchSummaryPublic(
            batch=BatchRef.model_validate(s.batch), added=s.added, changed=s.changed, withdrawn=s.withdrawn
        )
        for s in await service.overview(session, actor=actor)
    ]


@router.get("/{number}/changes", response_model=BatchChangesPublic, responses=error_responses(NotFound))
async def batch_changes(number: BatchNumber, session: SessionDep, actor: ActorDep) -> BatchChangesPublic:
    """第N批 compared with the batch before it: added, changed and withdrawn listings."""
    return changes_public(await service.changes(session, actor=actor, number=number))


@router.post(
    "/{number}/publish",
    response_model=BatchRef,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def publish_batch(number: BatchNumber, session: SessionDep, actor: ActorDep) -> BatchRef:
    """发布第N批 (matchmakers): records the moment that closes this batch's change log."""
    return BatchRef.model_validate(await service.publish_batch(session, actor=actor, number=number))
