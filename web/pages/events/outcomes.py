"""Outcomes recorded after an event's meetings."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.dependencies import SessionDep, StaffDep
from backend.events import service
from backend.events.models import (
    OutcomeResult,
)
from backend.kit.params import IdPath
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.urls import url_to
from web.pages.events.events import _manage

router = APIRouter()


@router.post("/review/events/{event_id}/meetings/{meeting_id}/outcome", name="events:record_outcome")
async def record_outcome(
    event_id: IdPath, meeting_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    result = str(form.get("result", ""))
    note = str(form.get("note") or "").strip()
    if result not in {r.value for r in OutcomeResult}:
        return await _manage(request, session, actor, event_id, error="请选择洽谈结果", status=422)
    if len(note) > 2000:
        return await _manage(request, session, actor, event_id, error="备注最多 2000 字", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.record_outcome(
            session,
            actor=actor,
            event_id=event_id,
            meeting_id=meeting_id,
            result=OutcomeResult(result),
            note=note,
            create_pairing=form.get("create_pairing") == "on",
        ),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _manage(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:manage_event", event_id=event_id) + "?done=outcome#outcomes", status_code=303
    )
