"""/notifications: the signed-in user's own notifications, never anyone else's."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import NotFound, Unauthorized, error_responses
from backend.kit.pagination import PageParams, page_params
from backend.kit.params import IdPath
from backend.notifications import service
from backend.notifications.schemas import MarkedRead, NotificationPage, NotificationPublic

router = APIRouter(prefix="/notifications", tags=["通知"])


@router.get("", response_model=NotificationPage, responses=error_responses(Unauthorized))
async def list_notifications(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    unread_only: Annotated[bool, Query(description="只看未读")] = False,
) -> NotificationPage:
    """My notifications, newest first, with the number still unread."""
    rows, total, unread = await service.list_mine(session, actor=actor, page=page, unread_only=unread_only)
    return NotificationPage(
        items=[NotificationPublic.model_validate(n, from_attributes=True) for n in rows],
        total=total,
        page=page.page,
        page_size=page.page_size,
        unread=unread,
    )


@router.post("/read-all", response_model=MarkedRead, responses=error_responses(Unauthorized))
async def mark_all_read(session: SessionDep, actor: ActorDep) -> MarkedRead:
    marked = await service.mark_all_read(session, actor=actor)
    return MarkedRead(marked=marked)


@router.post(
    "/{notification_id}/read", response_model=NotificationPublic, responses=error_responses(Unauthorized, NotFound)
)
async def mark_read(notification_id: IdPath, session: SessionDep, actor: ActorDep) -> NotificationPublic:
    notification = await service.mark_read(session, actor=actor, notification_id=notification_id)
    return NotificationPublic.model_validate(notification, from_attributes=True)
