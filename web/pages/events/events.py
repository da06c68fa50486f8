"""Events: the public list and page, and the matchmakers' desk (create, manage, change status, feature)."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import ActorDep, SessionDep, StaffDep
from backend.events import presenter, service
from backend.events.models import (
    EVENT_KIND_LABELS,
    OUTCOME_LABELS,
    EventKind,
    EventStatus,
    MeetingStatus,
    RegistrationStatus,
)
from backend.events.schemas import EventCreate
from backend.kit.pagination import PageParams
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings import service as listings
from backend.listings.models import ListingKind, ListingStatus
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import FormErrors, add_app_error, validate
from web.kit.paging import page_number
from web.kit.templating import CHINA, render
from web.kit.urls import url_to
from web.pages.events.shared import EVENT_FIELD_LABELS, STATUS_ACTIONS, _notice

router = APIRouter()

# Closing registration and finishing an event cannot be undone from the page: they need the checkbox.
CONFIRM_STATUSES = frozenset({EventStatus.closed.value, EventStatus.finished.value})


@router.get("/events", name="events:event_list")
async def event_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    page = PageParams(page=page_number(request), page_size=20)
    rows, total = await service.list_events(session, actor=actor, page=page)
    events = [await presenter.present_event(session, e) for e in rows]
    return render(request, "events/list.html", {"events": events, "total": total, "page": page})


async def _detail(
    request: Request, session: SessionDep, actor: Actor, event_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    event = await service.get_visible(session, actor=actor, event_id=event_id)
    item = await presenter.present_event(session, event)
    registration = (
        await service.my_registration(session, actor=actor, event_id=event_id) if actor.is_authenticated else None
    )
    registered = registration is not None and registration.status == RegistrationStatus.registered
    participant = await service.is_participant(session, actor=actor, event_id=event_id)
    chosen = await service.availability_of(session, event_id=event_id, user_id=actor.user_id) if participant else None
    context = {
        "event": item,
        "notice": _notice(request),
        "error": error,
        "can_register": actor.role == Role.enterprise and not registered and event.status == EventStatus.open,
        "registered": registered,
        "registered_by_colleague": registered and registration.user_id != actor.user_id,
        "can_cancel": registered and event.status == EventStatus.open,
        "participant": participant,
        "can_set_availability": participant and event.status in service.SCHEDULING,
        "chosen": set(range(len(item.slots))) if chosen is None else chosen,
    }
    return render(request, "events/detail.html", context, status=status)


@router.get("/events/{event_id}", name="events:event_detail")
async def event_detail(event_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return await _detail(request, session, actor, event_id)


@router.get("/review/events", name="events:manage_list")
async def manage_list(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    rows, total = await service.list_events(session, actor=actor, page=PageParams(page=1, page_size=100))
    events = [await presenter.present_event(session, e) for e in rows]
    return render(request, "events/manage_list.html", {"events": events, "total": total})


def _local_time(text: str) -> datetime | None:
    """A datetime-local input (Beijing time) as an aware moment."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=CHINA) if parsed.tzinfo is None else parsed


def _event_values(form: FormData) -> dict[str, Any]:
    return {name: str(form.get(name) or "").strip() for name in EVENT_FIELD_LABELS}


def _event_form(request: Request, values: dict[str, Any], errors: FormErrors, status: int = 200) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "labels": EVENT_FIELD_LABELS,
        "kind_options": [(k.value, v) for k, v in EVENT_KIND_LABELS.items()],
    }
    return render(request, "events/form.html", context, status=status)


@router.get("/review/events/new", name="events:new_event_form")
async def new_event_form(request: Request, actor: StaffDep) -> Response:
    return _event_form(
        request,
        {"kind": EventKind.matchmaking.value, "capacity": "30", "slot_minutes": "20", "meeting_limit": "4"},
        FormErrors(),
    )


@router.post("/review/events/new", name="events:create_event")
async def create_event(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    values, errors = _event_values(form), FormErrors()
    data_values: dict[str, Any] = dict(values)
    for name in ("starts_at", "ends_at"):
        if values[name]:
            moment = _local_time(values[name])
            if moment is None:
                errors.add(name, "时间格式无法识别，请按 2026-12-01 09:00 填写")
            data_values[name] = moment
    for name in ("capacity", "slot_minutes", "meeting_limit"):
        if values[name] and whole_number(values[name], 0, 10**9) is None:
            errors.add(name, "应为正整数")
    required = {
        "title": "请填写活动名称",
        "starts_at": "请填写开始时间",
        "ends_at": "请填写结束时间",
        "capacity": "请填写企业名额",
    }
    data = validate(
        EventCreate, {k: v for k, v in data_values.items() if v not in ("", None)}, errors, required=required
    )
    event = None
    if data is not None:
        event, refused = await attempt(
            session, lambda: service.create(session, actor=actor, data=data), raised=RAISED_WITH_FORBIDDEN
        )
        if refused is not None:
            add_app_error(errors, refused)
    if errors or event is None:
        return _event_form(request, values, errors, status=422)
    return RedirectResponse(
        url_to(request, "events:manage_event", event_id=event.id) + "?done=created", status_code=303
    )


async def _manage(
    request: Request, session: SessionDep, actor: Actor, event_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    event = await service.get_visible(session, actor=actor, event_id=event_id)
    item = await presenter.present_event(session, event)
    # Buttons follow the event's real state; one that cannot be used now says why.
    why_not = {status.value: reason for status, reason in await service.status_choices(session, event)}
    registrations = await service.registrations(session, actor=actor, event_id=event_id)
    meetings = await presenter.present_meetings(
        session, await service.meetings(session, actor=actor, event_id=event_id)
    )
    # The grid: one row per slot, one column per host, the meetings in each cell.
    hosts: dict[int, str] = {}
    for m in meetings:
        hosts.setdefault(m.issuer_user_id, f"{m.issuer_name}（{m.issuer_organisation_name}）")
    grid = [
        {
            "slot": slot,
            "cells": [[m for m in meetings if m.slot == slot.index and m.issuer_user_id == host] for host in hosts],
        }
        for slot in item.slots
    ]
    published, _ = await listings.list_listings(
        session,
        actor=actor,
        kind=ListingKind.opportunity,
        page=PageParams(page=1, page_size=100),
        statuses=(ListingStatus.published,),
    )
    featured_ids = {o.opportunity_id for o in item.opportunities}
    options = [(o.opportunity_id, o.title) for o in item.opportunities] + [
        (o.id, o.title) for o in published if o.id not in featured_ids
    ]
    context = {
        "event": item,
        "notice": _notice(request),
        "error": error,
        "actions": [
            (value, text, why_not.get(value, ""))
            for value, text in STATUS_ACTIONS[EventStatus(event.status)]
            if value in why_not
        ],
        "confirm_statuses": CONFIRM_STATUSES,
        "registrations": registrations,
        "meetings": meetings,
        "hosts": list(hosts.values()),
        "grid": grid,
        "opportunity_options": options,
        "featured_ids": featured_ids,
        "can_propose": event.status in service.SCHEDULING,
        "finished": event.status == EventStatus.finished,
        "outcome_options": [(k.value, v) for k, v in OUTCOME_LABELS.items()],
        "accepted_status": MeetingStatus.accepted.value,
    }
    return render(request, "events/manage.html", context, status=status)


@router.get("/review/events/{event_id}", name="events:manage_event")
async def manage_event(event_id: IdPath, request: Request, session: SessionDep, actor: StaffDep) -> Response:
    return await _manage(request, session, actor, event_id)


@router.post("/review/events/{event_id}/status", name="events:change_status")
async def change_status(
    event_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    wanted = str(form.get("status", ""))
    if wanted not in {s.value for s in EventStatus}:
        return await _manage(request, session, actor, event_id, error="状态无效", status=422)
    if wanted in CONFIRM_STATUSES and form.get("confirm") != "yes":
        return await _manage(request, session, actor, event_id, error="此操作不可撤销，请勾选确认后再提交", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.set_status(session, actor=actor, event_id=event_id, status=EventStatus(wanted)),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _manage(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "events:manage_event", event_id=event_id) + "?done=status", status_code=303)


@router.post("/review/events/{event_id}/opportunities", name="events:set_featured")
async def set_featured(
    event_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    raw = [v for v in form.getlist("opportunity_ids") if isinstance(v, str)]
    if not all(whole_number(v, 1, MAX_ID) is not None for v in raw):
        return await _manage(request, session, actor, event_id, error="所选机会无效，请刷新页面后重试", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.set_featured(session, actor=actor, event_id=event_id, opportunity_ids=[int(v) for v in raw]),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _manage(request, session, actor, event_id, error=refused.detail, status=refused.status_code)
    return RedirectResponse(
        url_to(request, "events:manage_event", event_id=event_id) + "?done=featured", status_code=303
    )
