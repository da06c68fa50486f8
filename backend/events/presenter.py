"""Events and meetings as the API and the pages show them (names joined in, labels in Chinese)."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.models import User
from backend.events import service
from backend.events.models import (
    EVENT_KIND_LABELS,
    EVENT_STATUS_LABELS,
    MEETING_STATUS_LABELS,
    OUTCOME_LABELS,
    Event,
    EventKind,
    EventStatus,
    Meeting,
    MeetingStatus,
    OutcomeResult,
    Reply,
)
from backend.events.schemas import EventPublic, FeaturedPublic, MeetingPublic, OutcomePublic, SlotPublic
from backend.listings.models import Offering, Opportunity
from backend.organisations.models import Organisation


async def _names(session: AsyncSession, model: type, ids: set[int], column: str) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.exec(select(model.id, getattr(model, column)).where(col(model.id).in_(ids)))
    return dict(rows.all())


async def present_event(session: AsyncSession, event: Event) -> EventPublic:
    featured = await service.featured(session, event_id=event.id)
    organisations = await _names(session, Organisation, {o.organisation_id for _, o in featured}, "name")
    slots = []
    for index in range(max(event.slot_count(), 0)):
        starts_at, ends_at = event.slot_times(index)
        slots.append(SlotPublic(index=index, starts_at=starts_at, ends_at=ends_at))
    return EventPublic(
        id=event.id,
        title=event.title,
        kind=event.kind,
        kind_label=EVENT_KIND_LABELS[EventKind(event.kind)],
        description=event.description,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        place=event.place,
        online_link=event.online_link,
        capacity=event.capacity,
        registered=await service.registered_count(session, event_id=event.id),
        slot_minutes=event.slot_minutes,
        meeting_limit=event.meeting_limit,
        status=event.status,
        status_label=EVENT_STATUS_LABELS[EventStatus(event.status)],
        slots=slots,
        opportunities=[
            FeaturedPublic(
                opportunity_id=o.id,
                title=o.title,
                organisation_name=organisations.get(o.organisation_id, ""),
                has_host=link.host_user_id is not None,
            )
            for link, o in featured
        ],
    )


async def present_meetings(session: AsyncSession, meetings: Sequence[Meeting]) -> list[MeetingPublic]:
    if not meetings:
        return []
    opportunities = {
        o.id: o
        for o in (
            await session.exec(select(Opportunity).where(col(Opportunity.id).in_({m.opportunity_id for m in meetings})))
        ).all()
    }
    users = await _names(
        session, User, {m.issuer_user_id for m in meetings} | {m.enterprise_user_id for m in meetings}, "display_name"
    )
    organisations = await _names(
        session,
        Organisation,
        {m.organisation_id for m in meetings} | {o.organisation_id for o in opportunities.values()},
        "name",
    )
    offerings = await _names(session, Offering, {m.offering_id for m in meetings if m.offering_id}, "title")
    outcomes = await service.outcomes_for(session, meeting_ids=[m.id for m in meetings])
    out = []
    for m in meetings:
        opportunity = opportunities.get(m.opportunity_id)
        outcome = outcomes.get(m.id)
        out.append(
            MeetingPublic(
                id=m.id,
                event_id=m.event_id,
                slot=m.slot,
                starts_at=m.starts_at,
                ends_at=m.ends_at,
                opportunity_id=m.opportunity_id,
                opportunity_title=opportunity.title if opportunity else "",
                issuer_user_id=m.issuer_user_id,
                issuer_name=users.get(m.issuer_user_id, ""),
                issuer_organisation_name=organisations.get(opportunity.organisation_id, "") if opportunity else "",
                enterprise_user_id=m.enterprise_user_id,
                enterprise_name=users.get(m.enterprise_user_id, ""),
                organisation_id=m.organisation_id,
                organisation_name=organisations.get(m.organisation_id, ""),
                offering_id=m.offering_id,
                offering_title=offerings.get(m.offering_id) if m.offering_id else None,
                score=round(m.score, 4),
                status=m.status,
                status_label=MEETING_STATUS_LABELS[MeetingStatus(m.status)],
                issuer_response=Reply(m.issuer_response),
                enterprise_response=Reply(m.enterprise_response),
                calendar_url=f"/api/v1/events/{m.event_id}/meetings/{m.id}/calendar.ics",
                outcome=OutcomePublic(
                    result=outcome.result,
                    result_label=OUTCOME_LABELS[OutcomeResult(outcome.result)],
                    note=outcome.note,
                    pairing_id=outcome.pairing_id,
                    modified_at=outcome.modified_at,
                )
                if outcome
                else None,
            )
        )
    return out
