"""/notifications: the signed-in user's own notifications, never anyone else's."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.pagination import PageParams, page_params
from backend.kit.params import IdPath
from backend.notifications import service
from backend.notifications.kinds import KINDS, Delivery
from backend.notifications.schemas import (
    MarkedRead,
    NotificationPage,
    NotificationPublic,
    PreferencePublic,
    PreferencesUpdate,
)

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


@router.get("/preferences", response_model=list[PreferencePublic], responses=error_responses(Unauthorized))
async def get_preferences(session: SessionDep, actor: ActorDep) -> list[PreferencePublic]:
    """For every kind of notification: how its email comes (immediate, digest or off)."""
    return _preferences(await service.preferences(session, actor=actor))


@router.put(
    "/preferences", response_model=list[PreferencePublic], responses=error_responses(Unauthorized, Unprocessable)
)
async def set_preferences(data: PreferencesUpdate, session: SessionDep, actor: ActorDep) -> list[PreferencePublic]:
    """Choose per kind; kinds not named keep their setting."""
    return _preferences(await service.set_preferences(session, actor=actor, choices=data.choices))


def _preferences(chosen: dict[str, str]) -> list[PreferencePublic]:
    return [
        PreferencePublic(kind=name, label=kind.label, audience=kind.audience, delivery=Delivery(chosen[name]))
        for name, kind in KINDS.items()
    ]


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
