"""/subscriptions: saved searches and follows of 机会清单 (enterprises) or 产品清单 (issuers, matchmakers)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath
from backend.listings.schemas import CodeName
from backend.subscriptions import service
from backend.subscriptions.models import Subscription
from backend.subscriptions.schemas import SubscriptionCreate, SubscriptionPublic, SubscriptionUpdate
from backend.taxonomy.service import load_index

router = APIRouter(prefix="/subscriptions", tags=["订阅"])

_WRITE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)


async def _present(session: AsyncSession, subscriptions: list[Subscription]) -> list[SubscriptionPublic]:
    names = await load_index(session)
    return [
        SubscriptionPublic(
            id=s.id,
            kind=s.kind,
            frequency=s.frequency,
            name=s.name,
            q=s.q,
            tracks=[CodeName(code=c, name=names.tracks.get(c, c)) for c in s.tracks],
            domains=[CodeName(code=c, name=names.domains.get(c, c)) for c in s.domains],
            regions=[CodeName(code=c, name=names.regions.get(c, c)) for c in s.regions],
            budget_from=s.budget_from,
            budget_to=s.budget_to,
            deadline=s.deadline,
            filters=service.Ranges.of(s).labels(),
            last_alerted_at=s.last_alerted_at,
            created_at=s.created_at,
            modified_at=s.modified_at,
        )
        for s in subscriptions
    ]


@router.get("", response_model=Page[SubscriptionPublic], responses=error_responses(Unauthorized))
async def list_subscriptions(
    session: SessionDep, actor: ActorDep, page: Annotated[PageParams, Depends(page_params)]
) -> Any:
    """My subscriptions, newest first."""
    rows, total = await service.list_mine(session, actor=actor, page=page)
    return Page(items=await _present(session, rows), total=total, page=page.page, page_size=page.page_size)


@router.post("", response_model=SubscriptionPublic, status_code=201, responses=_WRITE_ERRORS)
async def create_subscription(data: SubscriptionCreate, session: SessionDep, actor: ActorDep) -> Any:
    """Save a search (keywords and filters) of one list, or follow tracks, domains or regions (no keywords).

    New listings are matched as the list's search matches them (synonyms, 繁简, pinyin), and
    reported at once or in a daily or weekly digest (`frequency`)."""
    return (await _present(session, [await service.create(session, actor=actor, data=data)]))[0]


@router.get("/{subscription_id}", response_model=SubscriptionPublic, responses=error_responses(Unauthorized, NotFound))
async def get_subscription(subscription_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    return (await _present(session, [await service.get(session, actor=actor, subscription_id=subscription_id)]))[0]


@router.patch("/{subscription_id}", response_model=SubscriptionPublic, responses=_WRITE_ERRORS)
async def update_subscription(
    subscription_id: IdPath, data: SubscriptionUpdate, session: SessionDep, actor: ActorDep
) -> Any:
    subscription = await service.update(session, actor=actor, subscription_id=subscription_id, data=data)
    return (await _present(session, [subscription]))[0]


@router.delete(
    "/{subscription_id}", status_code=204, response_class=Response, responses=error_responses(Unauthorized, NotFound)
)
async def delete_subscription(subscription_id: IdPath, session: SessionDep, actor: ActorDep) -> Response:
    await service.delete(session, actor=actor, subscription_id=subscription_id)
    return Response(status_code=204)
