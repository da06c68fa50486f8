"""/interests: expressions of interest and the introductions they lead to."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.dependencies import ActorDep, SessionDep
from backend.interests import service
from backend.interests.models import INTEREST_STATUS_LABELS, Interest, InterestStatus
from backend.interests.schemas import DeclineRequest, InterestCreate, InterestPublic, OpportunityRef
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath, IdQuery
from backend.listings.schemas import OrganisationRef

router = APIRouter(prefix="/interests", tags=["合作意向"])

_WRITE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)


async def _present(session: AsyncSession, interests: list[Interest]) -> list[InterestPublic]:
    opportunities, organisations = await service.load_for_presenting(session, interests)

    def ref(organisation_id: int) -> OrganisationRef:
        o = organisations[organisation_id]
        return OrganisationRef(id=o.id, name=o.name, kind=o.kind)

    out = []
    for interest in interests:
        opportunity = opportunities[interest.opportunity_id]
        status = InterestStatus(interest.status)
        out.append(
            InterestPublic(
                id=interest.id,
                opportunity=OpportunityRef(
                    id=opportunity.id,
                    title=opportunity.title,
                    status=opportunity.status,
                    organisation=ref(opportunity.organisation_id),
                ),
                organisation=ref(interest.organisation_id),
                message=interest.message,
                status=status,
                status_label=INTEREST_STATUS_LABELS[status],
                decision_reason=interest.decision_reason,
                decided_at=interest.decided_at,
                # Everyone who may see this interest may see the contact once it is approved.
                contact=opportunity.contact if status == InterestStatus.approved else None,
                created_at=interest.created_at,
                modified_at=interest.modified_at,
            )
        )
    return out


@router.get("", response_model=Page[InterestPublic], responses=error_responses(Unauthorized))
async def list_interests(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    opportunity_id: IdQuery = None,
    status: Annotated[list[InterestStatus] | None, Query(description="状态，可多选")] = None,
) -> Any:
    """Enterprises see their own interests, issuers those in their opportunities, matchmakers all."""
    rows, total = await service.list_interests(
        session, actor=actor, page=page, opportunity_id=opportunity_id, statuses=status or ()
    )
    return Page(items=await _present(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.post("", response_model=InterestPublic, status_code=201, responses=_WRITE_ERRORS)
async def express_interest(data: InterestCreate, session: SessionDep, actor: ActorDep) -> Any:
    """An enterprise expresses interest in a published opportunity (one open expression per opportunity)."""
    interest = await service.express(session, actor=actor, opportunity_id=data.opportunity_id, message=data.message)
    return (await _present(session, [interest]))[0]


@router.get("/{interest_id}", response_model=InterestPublic, responses=error_responses(Unauthorized, NotFound))
async def get_interest(interest_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    return (await _present(session, [await service.get(session, actor=actor, interest_id=interest_id)]))[0]


@router.post("/{interest_id}/approve", response_model=InterestPublic, responses=_WRITE_ERRORS)
async def approve_interest(interest_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    """The issuer or a matchmaker approves the introduction; the enterprise then sees the contact."""
    interest = await service.approve(session, actor=actor, interest_id=interest_id)
    return (await _present(session, [interest]))[0]


@router.post("/{interest_id}/decline", response_model=InterestPublic, responses=_WRITE_ERRORS)
async def decline_interest(interest_id: IdPath, data: DeclineRequest, session: SessionDep, actor: ActorDep) -> Any:
    """The issuer or a matchmaker declines, with a reason the enterprise can read."""
    interest = await service.decline(session, actor=actor, interest_id=interest_id, reason=data.reason)
    return (await _present(session, [interest]))[0]


@router.post("/{interest_id}/withdraw", response_model=InterestPublic, responses=_WRITE_ERRORS)
async def withdraw_interest(interest_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    """The enterprise withdraws an interest still waiting for a decision."""
    interest = await service.withdraw(session, actor=actor, interest_id=interest_id)
    return (await _present(session, [interest]))[0]
