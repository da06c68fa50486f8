"""Events (场景沙龙 / 对接会): the rules for running them, registering, scheduling 1:1 meetings and outcomes.

Who may do what:
- matchmakers create, open, close and finish events, choose the featured opportunities, generate
  the meeting plan and record outcomes;
- enterprise accounts register their organisation (one registration per organisation, within
  capacity, while registration is open) and say when they are free;
- the host of a featured opportunity (a person of the issuing organisation) says when they are free;
- a meeting is seen and answered only by its two people (and seen by matchmakers); anyone else
  is told it does not exist.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_staff
from backend.auth.models import Role, User
from backend.events import ics
from backend.events.models import (
    EVENT_KIND_LABELS,
    EVENT_STATUS_LABELS,
    Availability,
    Event,
    EventKind,
    EventOpportunity,
    EventStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    OutcomeResult,
    Registration,
    RegistrationStatus,
    Reply,
)
from backend.events.scheduling import Candidate, ProposedMeeting, propose_meetings
from backend.events.schemas import EventCreate, EventUpdate
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, Unprocessable
from backend.kit.pagination import PageParams
from backend.listings.models import ListingKind, ListingStatus, Offering, Opportunity
from backend.pairings import service as pairings
from backend.pairings.models import PairingSource
from search import SearchEngine, SearchUnavailable, match

MAX_SLOTS = 96
# An enterprise is met for its offerings' fit; with no matching offering (or none at all) it
# still gets a small score, so a registered enterprise can be met when time allows.
BASE_SCORE_WITH_OFFERING = 0.05
BASE_SCORE_WITHOUT_OFFERING = 0.01
MATCH_POOL = 100
# Which event states allow what.
REGISTRATION_OPEN = {EventStatus.open}
SCHEDULING = {EventStatus.open, EventStatus.closed}
TRANSITIONS = {
    EventStatus.draft: {EventStatus.open},
    EventStatus.open: {EventStatus.closed, EventStatus.finished},
    EventStatus.closed: {EventStatus.open, EventStatus.finished},
    EventStatus.finished: set(),
}


def person(user_id: int) -> str:
    return f"user:{user_id}"


def user_of(key: str) -> int:
    return int(key.removeprefix("user:"))


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
    """Published events for everyone; drafts only for matchmakers (others are told it does not exist)."""
    event = await _get(session, event_id)
    if event.status == EventStatus.draft and not actor.is_staff:
        raise NotFound("活动不存在")
    return event


async def list_events(session: AsyncSession, *, actor: Actor, page: PageParams) -> tuple[list[Event], int]:
    query = select(Event)
    count = select(func.count()).select_from(Event)
    if not actor.is_staff:
        query = query.where(Event.status != EventStatus.draft)
        count = count.where(Event.status != EventStatus.draft)
    total = (await session.exec(count)).one()
    rows = await session.exec(
        query.order_by(col(Event.starts_at).desc(), col(Event.id).desc()).offset(page.offset).limit(page.page_size)
    )
    return list(rows.all()), total


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


async def set_status(session: AsyncSession, *, actor: Actor, event_id: int, status: EventStatus) -> Event:
    """draft → open → closed ⇄ open → finished. Finishing needs the event to have begun."""
    require_staff(actor, "只有撮合专员可以变更活动状态")
    event = await _get(session, event_id, lock=True)
    current = EventStatus(event.status)
    if status not in TRANSITIONS[current]:
        raise Conflict(
            f"活动当前为「{EVENT_STATUS_LABELS[current]}」，不能变为「{EVENT_STATUS_LABELS[status]}」", field="status"
        )
    if status == EventStatus.finished and utcnow() < event.starts_at:
        raise Conflict("活动尚未开始，不能标记为已结束", field="status")
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


async def register(session: AsyncSession, *, actor: Actor, event_id: int) -> Registration:
    """Register the actor's enterprise: once per organisation, while registration is open, within capacity."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    await get_visible(session, actor=actor, event_id=event_id)
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
    if existing is None:
        existing = Registration(event_id=event_id, organisation_id=actor.organisation_id, user_id=actor.user_id)
    existing.status = RegistrationStatus.registered
    existing.user_id = actor.user_id
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
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    await get_visible(session, actor=actor, event_id=event_id)
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
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    event = await get_visible(session, actor=actor, event_id=event_id)
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


# --- proposing meetings -----------------------------------------------------------------------


async def _offering_scores(session: AsyncSession, engine: SearchEngine, opportunity: Opportunity) -> dict[int, float]:
    """Offering id → match score for one opportunity, from the search engine's matcher."""
    from backend.searching.documents import build_documents

    (document,) = await build_documents(session, ListingKind.opportunity, [opportunity])
    try:
        found = await to_thread.run_sync(lambda: match(engine, document, ListingKind.offering.value, limit=MATCH_POOL))
    except SearchUnavailable as exc:
        raise ServiceUnavailable("搜索服务暂时不可用，暂时无法生成对接安排，请稍后再试") from exc
    return {m.listing_id: m.score for m in found}


@dataclass(frozen=True)
class _Pick:
    organisation_id: int
    offering_id: int | None


async def propose(session: AsyncSession, engine: SearchEngine, *, actor: Actor, event_id: int) -> list[Meeting]:
    """(Re)generate the plan: unanswered proposals are replaced, answered meetings are kept where they are."""
    require_staff(actor, "只有撮合专员可以生成对接安排")
    event = await _get(session, event_id, lock=True)
    if event.status not in SCHEDULING:
        raise Conflict("只有报名中或报名已截止的活动可以生成对接安排", field="status")
    featured_rows = await featured(session, event_id=event_id)
    registered = list(
        (
            await session.exec(
                select(Registration).where(
                    Registration.event_id == event_id, Registration.status == RegistrationStatus.registered
                )
            )
        ).all()
    )

    existing = list((await session.exec(select(Meeting).where(Meeting.event_id == event_id))).all())
    kept: list[ProposedMeeting] = []
    declined: list[tuple[str, str]] = []
    for meeting in existing:
        pair = (person(meeting.issuer_user_id), person(meeting.enterprise_user_id))
        if meeting.status == MeetingStatus.cancelled:
            continue
        if meeting.status == MeetingStatus.declined:
            declined.append(pair)
        elif meeting.answered:
            kept.append(ProposedMeeting(meeting.slot, meeting.opportunity_id, *pair, meeting.score))
        else:
            await session.delete(meeting)
    await session.flush()

    offerings: dict[int, list[int]] = {}
    if registered:
        for offering_id, organisation_id in (
            await session.exec(
                select(Offering.id, Offering.organisation_id).where(
                    col(Offering.organisation_id).in_([r.organisation_id for r in registered]),
                    Offering.status == ListingStatus.published,
                )
            )
        ).all():
            offerings.setdefault(organisation_id, []).append(offering_id)

    candidates: list[Candidate] = []
    picks: dict[tuple[int, str], _Pick] = {}
    for link, opportunity in featured_rows:
        if link.host_user_id is None:
            # The issuing organisation may have an account by now.
            link.host_user_id = await _host_for(session, opportunity)
            if link.host_user_id is None:
                continue
            session.add(link)
        scores = await _offering_scores(session, engine, opportunity) if registered else {}
        for registration in registered:
            own = sorted(offerings.get(registration.organisation_id, []))
            if own:
                # Best offering; ties go to the lower id so the plan does not depend on row order.
                score, offering_id = max((scores.get(o, BASE_SCORE_WITH_OFFERING), -o) for o in own)
                offering_id = -offering_id
            else:
                score, offering_id = BASE_SCORE_WITHOUT_OFFERING, None
            enterprise = person(registration.user_id)
            candidates.append(Candidate(opportunity.id, person(link.host_user_id), enterprise, round(score, 6)))
            picks[(opportunity.id, enterprise)] = _Pick(registration.organisation_id, offering_id)

    people = {c.issuer for c in candidates} | {c.enterprise for c in candidates}
    availability: dict[str, set[int]] = {}
    for key in people:
        slots = await availability_of(session, event_id=event_id, user_id=user_of(key))
        if slots is not None:
            availability[key] = slots
    plan = propose_meetings(
        candidates,
        range(event.slot_count()),
        availability,
        default_limit=event.meeting_limit,
        fixed=kept,
        exclude_pairs=declined,
    )
    for proposed in plan:
        pick = picks[(proposed.opportunity_id, proposed.enterprise)]
        starts_at, ends_at = event.slot_times(proposed.slot)
        session.add(
            Meeting(
                event_id=event_id,
                slot=proposed.slot,
                starts_at=starts_at,
                ends_at=ends_at,
                opportunity_id=proposed.opportunity_id,
                issuer_user_id=user_of(proposed.issuer),
                enterprise_user_id=user_of(proposed.enterprise),
                organisation_id=pick.organisation_id,
                offering_id=pick.offering_id,
                score=proposed.score,
            )
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="event",
        entity_id=event_id,
        action="propose",
        note=f"新安排 {len(plan)} 场，保留已答复 {len(kept)} 场",
    )
    await _tell_proposed(session, event, [p for p in plan if p not in kept])
    return await meetings(session, actor=actor, event_id=event_id)


# --- meetings ---------------------------------------------------------------------------------


async def meetings(session: AsyncSession, *, actor: Actor, event_id: int) -> list[Meeting]:
    """Matchmakers see the whole plan; everyone else only the meetings they are in."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    await get_visible(session, actor=actor, event_id=event_id)
    query = select(Meeting).where(Meeting.event_id == event_id)
    if not actor.is_staff:
        query = query.where((Meeting.issuer_user_id == actor.user_id) | (Meeting.enterprise_user_id == actor.user_id))
    return list((await session.exec(query.order_by(col(Meeting.slot), col(Meeting.id)))).all())


async def my_meetings(session: AsyncSession, *, actor: Actor) -> list[Meeting]:
    """Every meeting the actor is one of the two people in, soonest first."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    rows = await session.exec(
        select(Meeting)
        .where((Meeting.issuer_user_id == actor.user_id) | (Meeting.enterprise_user_id == actor.user_id))
        .order_by(col(Meeting.starts_at), col(Meeting.id))
        .limit(500)
    )
    return list(rows.all())


def is_in(actor: Actor, meeting: Meeting) -> bool:
    return actor.user_id is not None and actor.user_id in (meeting.issuer_user_id, meeting.enterprise_user_id)


async def get_meeting(session: AsyncSession, *, actor: Actor, event_id: int, meeting_id: int) -> tuple[Event, Meeting]:
    """A meeting for its two people and matchmakers; to anyone else it does not exist."""
    if not actor.is_authenticated:
        raise Unauthorized("请先登录")
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.event_id != event_id or not (actor.is_staff or is_in(actor, meeting)):
        raise NotFound("洽谈不存在")
    return await _get(session, event_id), meeting


async def reply(session: AsyncSession, *, actor: Actor, event_id: int, meeting_id: int, answer: Reply) -> Meeting:
    """One side accepts or declines; the meeting is accepted when both accept, declined when either declines."""
    event, meeting = await get_meeting(session, actor=actor, event_id=event_id, meeting_id=meeting_id)
    if not is_in(actor, meeting):
        raise Forbidden("只有洽谈双方可以答复")
    if answer == Reply.pending:
        raise Unprocessable("请选择接受或谢绝", field="reply")
    if event.status == EventStatus.finished:
        raise Conflict("活动已结束，不能再答复", field="reply")
    if meeting.status == MeetingStatus.cancelled:
        raise Conflict("该洽谈已取消", field="reply")
    if meeting.status == MeetingStatus.declined:
        raise Conflict("该洽谈已被谢绝", field="reply")
    if actor.user_id == meeting.issuer_user_id:
        meeting.issuer_response = answer
    else:
        meeting.enterprise_response = answer
    before = meeting.status
    replies = {meeting.issuer_response, meeting.enterprise_response}
    if Reply.declined in replies:
        meeting.status = MeetingStatus.declined
    elif replies == {Reply.accepted}:
        meeting.status = MeetingStatus.accepted
    else:
        meeting.status = MeetingStatus.proposed
    session.add(meeting)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="meeting",
        entity_id=meeting.id,
        action=f"reply:{answer}",
        from_state=before,
        to_state=meeting.status,
    )
    return meeting


async def meeting_calendar(
    session: AsyncSession, *, actor: Actor, event_id: int, meeting_id: int, site_url: str = ""
) -> str:
    """The meeting as an .ics file, for its two people and matchmakers."""
    from backend.organisations.models import Organisation

    event, meeting = await get_meeting(session, actor=actor, event_id=event_id, meeting_id=meeting_id)
    opportunity = await session.get(Opportunity, meeting.opportunity_id)
    organisation = await session.get(Organisation, meeting.organisation_id)
    issuer = await session.get(Organisation, opportunity.organisation_id) if opportunity else None
    kind = EVENT_KIND_LABELS.get(EventKind(event.kind), "活动")
    title = opportunity.title if opportunity else ""
    description = "\n".join(
        part
        for part in (
            f"{kind}：{event.title}",
            f"机会：{title}",
            f"发布方：{issuer.name}" if issuer else "",
            f"企业：{organisation.name}" if organisation else "",
            f"线上链接：{event.online_link}" if event.online_link else "",
        )
        if part
    )
    return ics.calendar(
        ics.CalendarEvent(
            uid=f"meeting-{meeting.id}-event-{event.id}@scenematch",
            stamp=meeting.modified_at,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            summary=f"一对一洽谈：{title}",
            location=event.place or event.online_link,
            description=description,
            url=f"{site_url.rstrip('/')}/events/{event.id}" if site_url else "",
            confirmed=meeting.status == MeetingStatus.accepted,
        )
    )


# --- outcomes ---------------------------------------------------------------------------------


async def record_outcome(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: int,
    meeting_id: int,
    result: OutcomeResult,
    note: str = "",
    create_pairing: bool = False,
) -> Outcome:
    """After the event: what came of a confirmed meeting; optionally open (or link) the pairing it led to."""
    require_staff(actor, "只有撮合专员可以记录洽谈成效")
    event, meeting = await get_meeting(session, actor=actor, event_id=event_id, meeting_id=meeting_id)
    if event.status != EventStatus.finished:
        raise Conflict("活动结束后才能记录洽谈成效", field="result")
    if meeting.status != MeetingStatus.accepted:
        raise Conflict("只有双方确认的洽谈可以记录成效", field="result")
    outcome = (await session.exec(select(Outcome).where(Outcome.meeting_id == meeting.id))).first()
    if outcome is None:
        outcome = Outcome(meeting_id=meeting.id, result=result)
    outcome.result = result
    outcome.note = note
    outcome.recorded_by_id = actor.user_id
    if create_pairing and outcome.pairing_id is None:
        kind = EVENT_KIND_LABELS.get(EventKind(event.kind), "活动")
        try:
            pairing = await pairings.create(
                session,
                actor=actor,
                opportunity_id=meeting.opportunity_id,
                offering_id=meeting.offering_id
                if meeting.offering_id and await _offering_still_theirs(session, meeting)
                else None,
                organisation_id=meeting.organisation_id,
                source=PairingSource.manual,
                note=f"来自{kind}「{event.title}」的一对一洽谈",
            )
            outcome.pairing_id = pairing.id
        except Conflict as exc:
            # The pair is already in the pipeline: link that pairing rather than refuse.
            if not exc.extra.get("pairing_id"):
                raise
            outcome.pairing_id = exc.extra["pairing_id"]
    session.add(outcome)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="meeting",
        entity_id=meeting.id,
        action=f"outcome:{result}",
        note=note,
    )
    return outcome


async def _offering_still_theirs(session: AsyncSession, meeting: Meeting) -> bool:
    offering = await session.get(Offering, meeting.offering_id)
    return offering is not None and offering.organisation_id == meeting.organisation_id


async def outcomes_for(session: AsyncSession, *, meeting_ids: Sequence[int]) -> dict[int, Outcome]:
    if not meeting_ids:
        return {}
    rows = await session.exec(select(Outcome).where(col(Outcome.meeting_id).in_(list(meeting_ids))))
    return {o.meeting_id: o for o in rows.all()}


async def _tell_proposed(session: AsyncSession, event: Event, plan: Sequence[ProposedMeeting]) -> None:
    """Both people of each newly proposed meeting are asked to accept or decline it (kept ones are not)."""
    from backend.notifications import service as notifications

    counts: dict[int, int] = {}
    for proposed in plan:
        for key in (proposed.issuer, proposed.enterprise):
            counts[user_of(key)] = counts.get(user_of(key), 0) + 1
    for user_id, count in counts.items():
        await notifications.notify(
            session,
            user_ids=[user_id],
            kind="meeting_proposed",
            title=f"一对一洽谈待确认：{event.title}",
            body=f"活动“{event.title}”为您安排了 {count} 场一对一洽谈，请确认参加或谢绝。",
            link="/workspace/events",
        )
