from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath
from backend.organisations import service
from backend.organisations.models import OrganisationKind, OrganisationStatus
from backend.organisations.schemas import OrganisationCreate, OrganisationPublic, OrganisationUpdate

router = APIRouter(prefix="/organisations", tags=["组织"])


@router.get("", response_model=Page[OrganisationPublic])
async def list_organisations(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    kind: OrganisationKind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="名称包含")] = None,
    include_withdrawn: bool = False,
) -> Page[OrganisationPublic]:
    rows, total = await service.list_organisations(
        session, actor=actor, page=page, kind=kind, q=q, include_withdrawn=include_withdrawn
    )
    return Page(
        items=[OrganisationPublic.model_validate(o) for o in rows],
        total=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.post(
    "",
    response_model=OrganisationPublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, Conflict, Unprocessable),
)
async def create_organisation(data: OrganisationCreate, session: SessionDep, actor: ActorDep) -> OrganisationPublic:
    return OrganisationPublic.model_validate(await service.create(session, actor=actor, data=data))


@router.get("/{organisation_id}", response_model=OrganisationPublic, responses=error_responses(NotFound))
async def get_organisation(organisation_id: IdPath, session: SessionDep, actor: ActorDep) -> OrganisationPublic:
    organisation = await service.get(session, organisation_id=organisation_id)
    if organisation.status != OrganisationStatus.active and not (actor.is_staff or actor.belongs_to(organisation.id)):
        raise NotFound("组织不存在")
    return OrganisationPublic.model_validate(organisation)


@router.patch(
    "/{organisation_id}",
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def update_organisation(
    organisation_id: IdPath, data: OrganisationUpdate, session: SessionDep, actor: ActorDep
) -> OrganisationPublic:
    return OrganisationPublic.model_validate(
        await service.update(session, actor=actor, organisation_id=organisation_id, data=data)
    )


@router.post(
    "/{organisation_id}/withdraw",
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def withdraw_organisation(organisation_id: IdPath, session: SessionDep, actor: ActorDep) -> OrganisationPublic:
    return OrganisationPublic.model_validate(
        await service.withdraw(session, actor=actor, organisation_id=organisation_id)
    )
