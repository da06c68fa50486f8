"""Outcomes recorded after a meeting (and the pairing they may start)."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_staff
from backend.events.models import (
    EVENT_KIND_LABELS,
    EventKind,
    EventStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    OutcomeResult,
)
from backend.events.service.meetings import get_meeting
from backend.kit.errors import Conflict
from backend.listings.models import Offering
from backend.pairings import service as pairings
from backend.pairings.models import PairingSource

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
