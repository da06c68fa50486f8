"""Registration for an event: register, cancel, and the times a participant is available."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.dependencies import SessionDep, SignedInDep
from backend.events import service
from backend.kit.params import MAX_ID, IdPath, whole_number
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.urls import url_to
from web.pages.events.events import _detail

router = APIRouter()


@router.post("/events/{event_id}/register", name="events:register")
async def register(
    event_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    names = [str(v).strip()[:50] for v in form.getlist("attendee_name")]
    phones = [str(v).strip()[:20] for v in form.getlist("attendee_phone")]
    attendees = [{"name": n, "phone": p} for n, p in zip(names, phones, strict=False) if n or p]
    if not attendees or any(not a["name"] or not a["phone"] for a in attendees):
        return await _detail(
            request, session, actor, event_id, error="请填写参会人的姓名和电话（至少一位）", status=422
        )
    if any(not all(c.isdigit() or c in "+- " for c in a["phone"]) or len(a["phone"]) < 5 for a in attendees):
        return await _detail(request, session, actor, event_id, error="电话号码格式不正确", status=422)
    raw_count = str(form.get("head_count") or "").strip()
    head_count = whole_number(raw_count, 1, 50) if raw_count else len(attendees)
    if head_count is None:
        return await _detail(request, session, actor, event_id, error="参会总人数应为 1 到 50 之间的整数", status=422)
    raw_wishes = [str(v) for v in form.getlist("wished_opportunity_ids")]
    if not all(whole_number(v, 1, MAX_ID) is not None for v in raw_wishes):
        return await _detail(request, session, actor, event_id, error="所选机会无效，请刷新页面后重试", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.register(
            session,
            actor=actor,
            event_id=event_id,
            attendees=attendees,
            head_count=head_count,
            wished_opportunity_ids=[int(v) for v in raw_wishes],
        ),
        raised=RAISED_WITH_FORBIDDEN,
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
