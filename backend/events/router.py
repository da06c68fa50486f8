from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from backend.auth.actor import require_signed_in
from backend.dependencies import ActorDep, SessionDep
from backend.events import permissions, presenter, service
from backend.events.schemas import (
    AvailabilityPublic,
    AvailabilitySet,
    EventCreate,
    EventList,
    EventPublic,
    EventStatusChange,
    EventUpdate,
    FeaturedSet,
    MeetingPublic,
    MeetingReply,
    OutcomeSet,
    RegistrationPublic,
    RegistrationRequest,
)
from backend.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from backend.kit.pagination import PageParams, page_params
from backend.kit.params import IdPath

router = APIRouter(prefix="/events", tags=["活动与洽谈"])
_WRITE = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)
CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"


@router.get("", response_model=EventList)
async def list_events(
    session: SessionDep, actor: ActorDep, page: Annotated[PageParams, Depends(page_params)]
) -> EventList:
    """Events, newest first: everyone sees published ones, matchmakers drafts too."""
    rows, total = await service.list_events(session, actor=actor, page=page)
    items = [await presenter.present_event(session, e) for e in rows]
    return EventList(items=items, total=total, page=page.page, page_size=page.page_size)


@router.post("", response_model=EventPublic, status_code=201, responses=_WRITE)
async def create_event(data: EventCreate, session: SessionDep, actor: ActorDep) -> EventPublic:
    """Create an event as a draft (matchmakers)."""
    return await presenter.present_event(session, await service.create(session, actor=actor, data=data))


@router.get("/{event_id}", response_model=EventPublic, responses=error_responses(NotFound))
async def get_event(event_id: IdPath, session: SessionDep, actor: ActorDep) -> EventPublic:
    return await presenter.present_event(session, await permissions.get_readable(session, actor=actor, id=event_id))


@router.patch("/{event_id}", response_model=EventPublic, responses=_WRITE)
async def update_event(event_id: IdPath, data: EventUpdate, session: SessionDep, actor: ActorDep) -> EventPublic:
    """Change an event; times are fixed once meetings have been proposed."""
    return await presenter.present_event(
        session, await service.update(session, actor=actor, event_id=event_id, data=data)
    )


@router.post("/{event_id}/status", response_model=EventPublic, responses=_WRITE)
async def change_status(event_id: IdPath, data: EventStatusChange, session: SessionDep, actor: ActorDep) -> EventPublic:
    """Open registration, close it, or mark the event finished (once it has begun)."""
    event = await service.set_status(session, actor=actor, event_id=event_id, status=data.status)
    return await presenter.present_event(session, event)


@router.put("/{event_id}/opportunities", response_model=EventPublic, responses=_WRITE)
async def set_featured(event_id: IdPath, data: FeaturedSet, session: SessionDep, actor: ActorDep) -> EventPublic:
    """Replace the featured opportunities (each must be published)."""
    await service.set_featured(session, actor=actor, event_id=event_id, opportunity_ids=data.opportunity_ids)
    return await presenter.present_event(session, await permissions.get_readable(session, actor=actor, id=event_id))


@router.get("/{event_id}/registrations", response_model=list[RegistrationPublic], responses=_WRITE)
async def list_registrations(event_id: IdPath, session: SessionDep, actor: ActorDep) -> list[RegistrationPublic]:
    """Who has registered (matchmakers)."""
    rows = await service.registrations(session, actor=actor, event_id=event_id)
    return [
        RegistrationPublic(
            id=r.id,
            event_id=r.event_id,
            organisation_id=r.organisation_id,
            organisation_name=org,
            user_id=r.user_id,
            user_name=user,
            status=r.status,
            created_at=r.created_at,
            attendees=r.attendees,
            head_count=r.head_count,
            wished_opportunity_ids=r.wished_opportunity_ids,
        )
        for r, org, user in rows
    ]


@router.post("/{event_id}/registrations", response_model=RegistrationPublic, status_code=201, responses=_WRITE)
async def register(
    event_id: IdPath, session: SessionDep, actor: ActorDep, data: RegistrationRequest | None = None
) -> RegistrationPublic:
    """Register your enterprise (once per organisation; 409 when full or closed).

    参会人、参会总人数和希望洽谈的推介机会（须为本活动的推介机会）；生成对接安排时优先安排希望洽谈的机会。
    """
    data = data or RegistrationRequest()
    r = await service.register(
        session,
        actor=actor,
        event_id=event_id,
        attendees=[a.model_dump() for a in data.attendees],
        head_count=data.head_count,
        wished_opportunity_ids=data.wished_opportunity_ids,
    )
    assert actor.user is not None
    return RegistrationPublic(
        id=r.id,
        event_id=r.event_id,
        organisation_id=r.organisation_id,
        organisation_name="",
        user_id=r.user_id,
        user_name=actor.user.display_name,
        status=r.status,
        created_at=r.created_at,
        attendees=r.attendees,
        head_count=r.head_count,
        wished_opportunity_ids=r.wished_opportunity_ids,
    )


@router.delete("/{event_id}/registrations/mine", status_code=204, responses=_WRITE)
async def cancel_registration(event_id: IdPath, session: SessionDep, actor: ActorDep) -> Response:
    """Withdraw your enterprise's registration while registration is open; its meetings are cancelled."""
    await service.cancel_registration(session, actor=actor, event_id=event_id)
    return Response(status_code=204)


@router.get("/{event_id}/availability", response_model=AvailabilityPublic, responses=_WRITE)
async def my_availability(event_id: IdPath, session: SessionDep, actor: ActorDep) -> AvailabilityPublic:
    require_signed_in(actor)
    event = await permissions.get_readable(session, actor=actor, id=event_id)
    slots = await service.availability_of(session, event_id=event_id, user_id=actor.user_id)
    return AvailabilityPublic(
        slots=sorted(slots) if slots is not None else list(range(event.slot_count())), saved=slots is not None
    )


@router.put("/{event_id}/availability", response_model=AvailabilityPublic, responses=_WRITE)
async def set_availability(
    event_id: IdPath, data: AvailabilitySet, session: SessionDep, actor: ActorDep
) -> AvailabilityPublic:
    """The slots you can attend (registered enterprises and hosts of featured opportunities)."""
    slots = await service.set_availability(session, actor=actor, event_id=event_id, slots=data.slots)
    return AvailabilityPublic(slots=sorted(slots), saved=True)


@router.post(
    "/{event_id}/proposals",
    response_model=list[MeetingPublic],
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable),
)
async def propose(event_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> list[MeetingPublic]:
    """Generate (or regenerate) the 1:1 meeting plan; answered meetings keep their slots."""
    rows = await service.propose(session, request.app.state.search_engine, actor=actor, event_id=event_id)
    return await presenter.present_meetings(session, rows)


@router.get(
    "/{event_id}/meetings", response_model=list[MeetingPublic], responses=error_responses(Unauthorized, NotFound)
)
async def list_meetings(event_id: IdPath, session: SessionDep, actor: ActorDep) -> list[MeetingPublic]:
    """The plan for matchmakers; your own meetings for everyone else."""
    return await presenter.present_meetings(session, await service.meetings(session, actor=actor, event_id=event_id))


@router.get(
    "/{event_id}/meetings/{meeting_id}", response_model=MeetingPublic, responses=error_responses(Unauthorized, NotFound)
)
async def get_meeting(event_id: IdPath, meeting_id: IdPath, session: SessionDep, actor: ActorDep) -> MeetingPublic:
    _, meeting = await service.get_meeting(session, actor=actor, event_id=event_id, meeting_id=meeting_id)
    return (await presenter.present_meetings(session, [meeting]))[0]


@router.post("/{event_id}/meetings/{meeting_id}/reply", response_model=MeetingPublic, responses=_WRITE)
async def reply(
    event_id: IdPath, meeting_id: IdPath, data: MeetingReply, session: SessionDep, actor: ActorDep
) -> MeetingPublic:
    """Accept or decline a proposed meeting (only its two people)."""
    meeting = await service.reply(session, actor=actor, event_id=event_id, meeting_id=meeting_id, answer=data.reply)
    return (await presenter.present_meetings(session, [meeting]))[0]


@router.get(
    "/{event_id}/meetings/{meeting_id}/calendar.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "iCalendar 文件"},
        **error_responses(Unauthorized, NotFound),
    },
)
async def meeting_calendar(
    event_id: IdPath, meeting_id: IdPath, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """The meeting as an .ics calendar file (its two people and matchmakers)."""
    body = await service.meeting_calendar(
        session, actor=actor, event_id=event_id, meeting_id=meeting_id, site_url=str(request.base_url)
    )
    return Response(
        body.encode("utf-8"),
        media_type=CALENDAR_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"'},
    )


@router.put("/{event_id}/meetings/{meeting_id}/outcome", response_model=MeetingPublic, responses=_WRITE)
async def record_outcome(
    event_id: IdPath, meeting_id: IdPath, data: OutcomeSet, session: SessionDep, actor: ActorDep
) -> MeetingPublic:
    """After the event: record what came of a confirmed meeting; `create_pairing` opens (or links) its pairing."""
    await service.record_outcome(
        session,
        actor=actor,
        event_id=event_id,
        meeting_id=meeting_id,
        result=data.result,
        note=data.note,
        create_pairing=data.create_pairing,
    )
    _, meeting = await service.get_meeting(session, actor=actor, event_id=event_id, meeting_id=meeting_id)
    return (await presenter.present_meetings(session, [meeting]))[0]
