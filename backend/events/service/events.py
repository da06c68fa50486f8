"""Events themselves: creating, editing, opening and closing them, and their featured opportunities."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_staff
from backend.auth.models import Role, User
from backend.events.models import (
    EVENT_STATUS_LABELS,
    Event,
    EventOpportunity,
    EventStatus,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from backend.events.permissions import get_readable
from backend.events.schemas import EventCreate, EventUpdate
from backend.events.service._common import MAX_SLOTS, TRANSITIONS
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.listings.models import ListingStatus, Opportunity

# --- events -----------------------------------------------------------------------------------


def _check_schedule(starts_at: datetime, ends_at: datetime, slot_minutes: int) -> None:
    if ends_at <= starts_at:
        raise Unprocessable("结束时间应晚于开始时间", field="ends_at")
    slots = int((ends_at - starts_at).total_seconds() // (slot_minutes * 60))
    if slots < 1:
        raise Unprocessable("活动时长不足一个洽谈时段，请调整时间或每段时长", field="slot_minutes")
    if slots > MAX_SLOTS:
        raise Unprocessable(f"洽谈时段过多（最多 {MAX_SLOTS} 个），请缩短活动时间或加长每段时长", field="slot_minutes")


def _check_link(link: str) -> None:
    if link and not link.lower().startswith(("https://", "http://")):
        raise Unprocessable("线上链接应以 http:// 或 https:// 开头", field="online_link")


def _check_where(place: str, online_link: str) -> None:
    if not place and not online_link:
        raise Unprocessable("请填写活动地点或线上参会链接", field="place")


async def create(session: AsyncSession, *, actor: Actor, data: EventCreate) -> Event:
    """A new event, as a draft that only matchmakers see."""
    require_staff(actor, "只有撮合专员可以创建活动")
    if data.starts_at <= utcnow():
        raise Unprocessable("开始时间应晚于现在", field="starts_at")
    _check_schedule(data.starts_at, data.ends_at, data.slot_minutes)
    _check_link(data.online_link)
    _check_where(data.place, data.online_link)
    event = Event(**data.model_dump(), created_by_id=actor.user_id)
    session.add(event)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="event", entity_id=event.id, action="create", to_state=event.status
    )
    return event


async def _get(session: AsyncSession, event_id: int, *, lock: bool = False) -> Event:
    query = select(Event).where(Event.id == event_id)
    if lock:
        # Registrations for one event queue up here, so capacity holds under concurrent sign-ups.
        query = query.with_for_update()
    event = (await session.exec(query)).first()
    if event is None:
        raise NotFound("活动不存在")
    return event


async def get_visible(session: AsyncSession, *, actor: Actor, event_id: int) -> Event:
    """Compatibility name (web/ calls it): `permissions.get_readable` is the loader."""
    return await get_readable(session, actor=actor, id=event_id)


async def list_events(session: AsyncSession, *, actor: Actor, page: PageParams) -> tuple[list[Event], int]:
    query = select(Event)
    if not actor.is_staff:
        query = query.where(Event.status != EventStatus.draft)
    return await paginate(session, query, page, col(Event.starts_at).desc(), col(Event.id).desc())


async def update(session: AsyncSession, *, actor: Actor, event_id: int, data: EventUpdate) -> Event:
    require_staff(actor, "只有撮合专员可以修改活动")
    event = await _get(session, event_id, lock=True)
    if event.status == EventStatus.finished:
        raise Conflict("活动已结束，不能再修改", field="status")
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "kind", "starts_at", "ends_at", "capacity", "slot_minutes", "meeting_limit"):
        if name in changes and changes[name] is None:
            raise Unprocessable("此项不能为空", field=name)
    merged = {**event.model_dump(), **changes}
    _check_schedule(merged["starts_at"], merged["ends_at"], merged["slot_minutes"])
    _check_link(merged["online_link"] or "")
    _check_where(merged["place"] or "", merged["online_link"] or "")
    timing = {"starts_at", "ends_at", "slot_minutes"}
    if any(name in changes and changes[name] != getattr(event, name) for name in timing):
        live = (
            await session.exec(
                select(func.count())
                .select_from(Meeting)
                .where(Meeting.event_id == event.id, Meeting.status != MeetingStatus.cancelled)
            )
        ).one()
        if live:
            raise Conflict("已生成对接安排，不能再修改活动时间或每段时长", field="starts_at")
    if "capacity" in changes and changes["capacity"] < await registered_count(session, event_id=event.id):
        raise Conflict("名额不能少于已报名的企业数", field="capacity")
    for name, value in changes.items():
        setattr(event, name, value if value is not None else "")
    session.add(event)
    await session.flush()
    await audit.record(session, actor=actor, entity_kind="event", entity_id=event.id, action="update")
    return event


async def status_choices(session: AsyncSession, event: Event) -> list[tuple[EventStatus, str]]:
    """Every status the event may move to by its transitions, with "" if it may now, else why not.

    The event's real state decides, not only its status: registration opens only once featured
    opportunities are chosen (enterprises register to meet them) and before the event begins;
    "已结束" only once the event has begun.
    """
    current = EventStatus(event.status)
    now = utcnow()
    featured_count = (
        await session.exec(
            select(func.count()).select_from(EventOpportunity).where(EventOpportunity.event_id == event.id)
        )
    ).one()
    out: list[tuple[EventStatus, str]] = []
    for target in (EventStatus.open, EventStatus.closed, EventStatus.finished):
        if target not in TRANSITIONS[current]:
            continue
        reason = ""
        if target == EventStatus.open and not featured_count:
            reason = "请先选择推介机会，再开放报名"
        elif target == EventStatus.open and now >= event.starts_at:
            reason = "活动已开始，不能再开放报名"
        elif target == EventStatus.finished and now < event.starts_at:
            reason = "活动尚未开始，不能标记为已结束"
        out.append((target, reason))
    return out


async def set_status(session: AsyncSession, *, actor: Actor, event_id: int, status: EventStatus) -> Event:
    """draft → open → closed ⇄ open → finished, as `status_choices` allows at this moment."""
    require_staff(actor, "只有撮合专员可以变更活动状态")
    event = await _get(session, event_id, lock=True)
    current = EventStatus(event.status)
    if status not in TRANSITIONS[current]:
        raise Conflict(
            f"活动当前为「{EVENT_STATUS_LABELS[current]}」，不能变为「{EVENT_STATUS_LABELS[status]}」", field="status"
        )
    why_not = dict(await status_choices(session, event)).get(status, "")
    if why_not:
        raise Conflict(why_not, field="status")
    event.status = status
    session.add(event)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="event",
        entity_id=event.id,
        action=f"status:{status}",
        from_state=current,
        to_state=status,
    )
    return event


async def registered_count(session: AsyncSession, *, event_id: int) -> int:
    return (
        await session.exec(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event_id, Registration.status == RegistrationStatus.registered)
        )
    ).one()


# --- featured opportunities -------------------------------------------------------------------


async def _host_for(session: AsyncSession, opportunity: Opportunity) -> int | None:
    """The person who takes the meetings: the opportunity's author if still in the issuing organisation, else its first issuer account."""
    if opportunity.created_by_id is not None:
        author = await session.get(User, opportunity.created_by_id)
        if (
            author
            and author.is_active
            and author.role == Role.issuer
            and author.organisation_id == opportunity.organisation_id
        ):
            return author.id
    return (
        await session.exec(
            select(User.id)
            .where(
                User.organisation_id == opportunity.organisation_id,
                User.role == Role.issuer,
                col(User.is_active).is_(True),
            )
            .order_by(col(User.id))
        )
    ).first()


async def set_featured(
    session: AsyncSession, *, actor: Actor, event_id: int, opportunity_ids: Sequence[int]
) -> list[EventOpportunity]:
    """Replace the featured opportunities; each must be published. Its host is resolved now and again when proposing."""
    require_staff(actor, "只有撮合专员可以设置推介机会")
    event = await _get(session, event_id, lock=True)
    if event.status == EventStatus.finished:
        raise Conflict("活动已结束，不能再修改推介机会", field="status")
    wanted = list(dict.fromkeys(opportunity_ids))
    opportunities = (
        {o.id: o for o in (await session.exec(select(Opportunity).where(col(Opportunity.id).in_(wanted)))).all()}
        if wanted
        else {}
    )
    rows = []
    for position, opportunity_id in enumerate(wanted):
        opportunity = opportunities.get(opportunity_id)
        if opportunity is None:
            raise Unprocessable(f"机会 #{opportunity_id} 不存在", field="opportunity_ids")
        if opportunity.status != ListingStatus.published:
            raise Unprocessable(
                f"只能推介已发布的机会：「{opportunity.title}」尚未发布或已截止", field="opportunity_ids"
            )
        host = await _host_for(session, opportunity)
        rows.append(
            EventOpportunity(event_id=event.id, opportunity_id=opportunity_id, host_user_id=host, position=position)
        )
    await session.exec(delete(EventOpportunity).where(col(EventOpportunity.event_id) == event.id))  # type: ignore[call-overload]
    session.add_all(rows)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="event",
        entity_id=event.id,
        action="featured",
        note=",".join(map(str, wanted)),
    )
    return rows


async def featured(session: AsyncSession, *, event_id: int) -> list[tuple[EventOpportunity, Opportunity]]:
    rows = await session.exec(
        select(EventOpportunity, Opportunity)
        .join(Opportunity, col(Opportunity.id) == col(EventOpportunity.opportunity_id))
        .where(EventOpportunity.event_id == event_id)
        .order_by(col(EventOpportunity.position), col(EventOpportunity.opportunity_id))
    )
    return list(rows.all())
