"""Registration (one per organisation, within capacity, while open) and who is free when."""

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.auth.models import Role, User
from backend.events.models import (
    Availability,
    EventOpportunity,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from backend.events.permissions import get_readable
from backend.events.service._common import REGISTRATION_OPEN, SCHEDULING
from backend.events.service.events import _get, registered_count
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable

# --- registration and availability ------------------------------------------------------------


async def my_registration(session: AsyncSession, *, actor: Actor, event_id: int) -> Registration | None:
    if actor.organisation_id is None:
        return None
    return (
        await session.exec(
            select(Registration).where(
                Registration.event_id == event_id, Registration.organisation_id == actor.organisation_id
            )
        )
    ).first()


async def register(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: int,
    attendees: Sequence[dict] = (),
    head_count: int | None = None,
    wished_opportunity_ids: Sequence[int] = (),
) -> Registration:
    """Register the actor's enterprise: once per organisation, while registration is open, within capacity.

    With it go who attends (names and phones, seen by matchmakers only), the head count (at least
    the number of attendees) and the featured opportunities the enterprise wants to meet, which
    the meeting proposer favours.
    """
    require_signed_in(actor)
    await get_readable(session, actor=actor, id=event_id)
    if actor.role != Role.enterprise or actor.organisation_id is None:
        raise Forbidden("只有企业账号可以报名活动")
    event = await _get(session, event_id, lock=True)
    if event.status not in REGISTRATION_OPEN or utcnow() >= event.starts_at:
        raise Conflict("报名已截止", field="event_id")
    existing = await my_registration(session, actor=actor, event_id=event_id)
    if existing is not None and existing.status == RegistrationStatus.registered:
        raise Conflict("本企业已报名该活动", field="event_id")
    if await registered_count(session, event_id=event_id) >= event.capacity:
        raise Conflict("报名名额已满", field="event_id")
    people = [{"name": str(a["name"]).strip(), "phone": str(a["phone"]).strip()} for a in attendees]
    count = head_count if head_count is not None else max(len(people), 1)
    if count < len(people):
        raise Unprocessable("参会总人数不能少于填写的参会人数", field="head_count")
    wishes = list(dict.fromkeys(wished_opportunity_ids))
    if wishes:
        featured_ids = set(
            (
                await session.exec(select(EventOpportunity.opportunity_id).where(EventOpportunity.event_id == event_id))
            ).all()
        )
        if not set(wishes) <= featured_ids:
            raise Unprocessable("希望洽谈的机会须为本活动的推介机会", field="wished_opportunity_ids")
    if existing is None:
        existing = Registration(event_id=event_id, organisation_id=actor.organisation_id, user_id=actor.user_id)
    existing.status = RegistrationStatus.registered
    existing.user_id = actor.user_id
    existing.attendees = people
    existing.head_count = count
    existing.wished_opportunity_ids = wishes
    session.add(existing)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="event",
        entity_id=event_id,
        action="register",
        note=str(actor.organisation_id),
    )
    return existing


async def cancel_registration(session: AsyncSession, *, actor: Actor, event_id: int) -> Registration:
    """Withdraw the organisation's registration while registration is open; its meetings are cancelled."""
    require_signed_in(actor)
    await get_readable(session, actor=actor, id=event_id)
    registration = await my_registration(session, actor=actor, event_id=event_id)
    if registration is None or registration.status != RegistrationStatus.registered:
        raise NotFound("本企业没有报名该活动")
    event = await _get(session, event_id, lock=True)
    if event.status not in REGISTRATION_OPEN:
        raise Conflict("报名已截止，如需取消请联系撮合专员", field="event_id")
    registration.status = RegistrationStatus.cancelled
    session.add(registration)
    meetings = await session.exec(
        select(Meeting).where(
            Meeting.event_id == event_id,
            Meeting.organisation_id == registration.organisation_id,
            col(Meeting.status).in_([MeetingStatus.proposed, MeetingStatus.accepted]),
        )
    )
    for meeting in meetings.all():
        meeting.status = MeetingStatus.cancelled
        session.add(meeting)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="event",
        entity_id=event_id,
        action="unregister",
        note=str(actor.organisation_id),
    )
    return registration


async def registrations(session: AsyncSession, *, actor: Actor, event_id: int) -> list[tuple[Registration, str, str]]:
    """Every registration with the organisation's and the person's names (matchmakers only)."""
    require_staff(actor, "只有撮合专员可以查看报名名单")
    from backend.organisations.models import Organisation

    rows = await session.exec(
        select(Registration, Organisation.name, User.display_name)
        .join(Organisation, col(Organisation.id) == col(Registration.organisation_id))
        .join(User, col(User.id) == col(Registration.user_id))
        .where(Registration.event_id == event_id)
        .order_by(col(Registration.created_at), col(Registration.id))
    )
    return list(rows.all())


async def hosts(session: AsyncSession, *, event_id: int) -> set[int]:
    rows = await session.exec(select(EventOpportunity.host_user_id).where(EventOpportunity.event_id == event_id))
    return {host for host in rows.all() if host is not None}


async def is_participant(session: AsyncSession, *, actor: Actor, event_id: int) -> bool:
    """A registered enterprise's person or the host of a featured opportunity."""
    if not actor.is_authenticated:
        return False
    if actor.user_id in await hosts(session, event_id=event_id):
        return True
    registration = await my_registration(session, actor=actor, event_id=event_id)
    return (
        registration is not None
        and registration.status == RegistrationStatus.registered
        and registration.user_id == actor.user_id
    )


async def availability_of(session: AsyncSession, *, event_id: int, user_id: int) -> set[int] | None:
    """The slots a person can attend, or None if they have not said (every slot then suits)."""
    rows = (
        await session.exec(
            select(Availability.slot, Availability.available).where(
                Availability.event_id == event_id, Availability.user_id == user_id
            )
        )
    ).all()
    if not rows:
        return None
    return {slot for slot, available in rows if available}


async def set_availability(session: AsyncSession, *, actor: Actor, event_id: int, slots: Sequence[int]) -> set[int]:
    """The actor's own free slots; only people taking part say when they are free."""
    require_signed_in(actor)
    event = await get_readable(session, actor=actor, id=event_id)
    if not await is_participant(session, actor=actor, event_id=event_id):
        raise Forbidden("只有已报名的企业和推介机会的发布方可以填写可参会时段")
    if event.status not in SCHEDULING:
        raise Conflict("活动已结束，不能再修改可参会时段", field="slots")
    count = event.slot_count()
    chosen = set(slots)
    if any(not 0 <= slot < count for slot in chosen):
        raise Unprocessable(f"时段序号应在 0 到 {count - 1} 之间", field="slots")
    await session.exec(
        delete(Availability).where(col(Availability.event_id) == event_id, col(Availability.user_id) == actor.user_id)  # type: ignore[call-overload]
    )
    session.add_all(
        Availability(event_id=event_id, user_id=actor.user_id, slot=slot, available=slot in chosen)
        for slot in range(count)
    )
    await session.flush()
    return chosen
