"""Meetings at an event: a participant's meetings and replies, the matchmakers' proposals."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import Actor
from backend.dependencies import SessionDep, SignedInDep, StaffDep
from backend.events import presenter, service
from backend.events.models import (
    Reply,
)
from backend.events.schemas import EventPublic
from backend.kit.params import IdPath
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.templating import render
from web.kit.urls import url_to
from web.pages.events.events import _manage
from web.pages.events.shared import _notice

router = APIRouter()


async def _my_meetings(
    request: Request, session: SessionDep, actor: Actor, *, error: str | None = None, status: int = 200
) -> Response:
    meetings = await presenter.present_meetings(session, await service.my_meetings(session, actor=actor))
    events: dict[int, EventPublic] = {}
    for m in meetings:
        if m.event_id not in events:
            events[m.event_id] = await presenter.present_event(
                session, await service.get_visible(session, actor=actor, event_id=m.event_id)
            )
    groups = [{"event": events[eid], "meetings": [m for m in meetings if m.event_id == eid]} for eid in events]
    context = {"groups": groups, "notice": _notice(request), "error": error, "me": actor.user_id}
    return render(request, "events/mine.html", context, status=status)


@router.get("/workspace/events", name="events:my_meetings")
async def my_meetings(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await _my_meetings(request, session, actor)


@router.post("/events/{event_id}/meetings/{meeting_id}/reply", name="events:reply")
async def reply(
    event_id: IdPath, meeting_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    answer = str(form.get("reply", ""))
    if answer not in (Reply.accepted, Reply.declined):
        return await _my_meetings(request, session, actor, error="请选择接受或谢绝", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.reply(session, actor=actor, event_id=event_id, meeting_id=meeting_id, answer=Reply(answer)),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _my_meetings(request, session, actor, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "events:my_meetings") + f"?done={answer}", status_code=303)


@router.post("/review/events/{event_id}/propose", name="events:propose")
async def propose(event_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    _done, refused = await attempt(
        session,
        lambda: service.propose(session, request.app.state.search_engine, actor=actor, event_id=event_id),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _manage(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:manage_event", event_id=event_id) + "?done=proposed#schedule", status_code=303
    )
