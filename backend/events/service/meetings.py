"""1:1 meetings: the proposed plan, replies, and who sees which meeting."""

from collections.abc import Sequence
from dataclasses import dataclass

from anyio import to_thread
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.events import ics
from backend.events.models import (
    EVENT_KIND_LABELS,
    Event,
    EventKind,
    EventStatus,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Reply,
)
from backend.events.permissions import get_readable
from backend.events.scheduling import Candidate, ProposedMeeting, propose_meetings
from backend.events.service._common import (
    BASE_SCORE_WITH_OFFERING,
    BASE_SCORE_WITHOUT_OFFERING,
    MATCH_POOL,
    SCHEDULING,
    person,
    user_of,
)
from backend.events.service.events import _get, _host_for, featured
from backend.events.service.registration import availability_of
from backend.kit.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from backend.listings.models import ListingKind, ListingStatus, Offering, Opportunity
from backend.notifications import service as notifications
from search import SearchEngine, SearchUnavailable, match

# Added to a candidate's fit when the enterprise named the opportunity when registering; fit
# scores are at most about 1, so a wished meeting is planned before any unwished one.
WISH_BONUS = 1.0

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
            if opportunity.id in registration.wished_opportunity_ids:
                # The enterprise asked to meet this one when registering: it comes before mere fit.
                score += WISH_BONUS
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


async def _tell_proposed(session: AsyncSession, event: Event, plan: Sequence[ProposedMeeting]) -> None:
    """Both people of each newly proposed meeting are asked to accept or decline it (kept ones are not)."""
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


# --- meetings ---------------------------------------------------------------------------------


async def meetings(session: AsyncSession, *, actor: Actor, event_id: int) -> list[Meeting]:
    """Matchmakers see the whole plan; everyone else only the meetings they are in."""
    require_signed_in(actor)
    await get_readable(session, actor=actor, id=event_id)
    query = select(Meeting).where(Meeting.event_id == event_id)
    if not actor.is_staff:
        query = query.where((Meeting.issuer_user_id == actor.user_id) | (Meeting.enterprise_user_id == actor.user_id))
    return list((await session.exec(query.order_by(col(Meeting.slot), col(Meeting.id)))).all())


async def my_meetings(session: AsyncSession, *, actor: Actor) -> list[Meeting]:
    """Every meeting the actor is one of the two people in, soonest first."""
    require_signed_in(actor)
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
    require_signed_in(actor)
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
