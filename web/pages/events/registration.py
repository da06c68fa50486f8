"""Registration for an event: register, cancel, and the times a participant is available."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.dependencies import SessionDep, SignedInDep
from backend.events import service
from backend.kit.params import IdPath, whole_number
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.urls import url_to
from web.pages.events.events import _detail

router = APIRouter()


@router.post("/events/{event_id}/register", name="events:register")
async def register(
    event_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    _done, refused = await attempt(
        session, lambda: service.register(session, actor=actor, event_id=event_id), raised=RAISED_WITH_FORBIDDEN
    )
    if refused is not None:
        return await _detail(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:event_detail", event_id=event_id) + "?done=registered", status_code=303
    )


@router.post("/events/{event_id}/cancel", name="events:cancel")
async def cancel(
    event_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    _done, refused = await attempt(
        session,
        lambda: service.cancel_registration(session, actor=actor, event_id=event_id),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _detail(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:event_detail", event_id=event_id) + "?done=cancelled", status_code=303
    )


@router.post("/events/{event_id}/availability", name="events:availability")
async def availability(
    event_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    raw = [v for v in form.getlist("slots") if isinstance(v, str)]
    if not all(whole_number(v, 0, 9999) is not None for v in raw):
        return await _detail(request, session, actor, event_id, error="所选时段无效，请刷新页面后重试", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.set_availability(session, actor=actor, event_id=event_id, slots=[int(v) for v in raw]),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _detail(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:event_detail", event_id=event_id) + "?done=availability", status_code=303
    )
