"""场景沙龙 / 对接会: events with featured opportunities, registrations, availability, 1:1 meetings and outcomes."""

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, json_list_field, modified_at_field


class EventKind(StrEnum):
    salon = "salon"
    matchmaking = "matchmaking"


EVENT_KIND_LABELS = {EventKind.salon: "场景沙龙", EventKind.matchmaking: "对接会"}


class EventStatus(StrEnum):
    draft = "draft"
    open = "open"  # registration open
    closed = "closed"  # registration closed, the event has not been wrapped up yet
    finished = "finished"  # held; outcomes may be recorded


EVENT_STATUS_LABELS = {
    EventStatus.draft: "草稿",
    EventStatus.open: "报名中",
    EventStatus.closed: "报名已截止",
    EventStatus.finished: "已结束",
}


class RegistrationStatus(StrEnum):
    registered = "registered"
    cancelled = "cancelled"


class MeetingStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"


MEETING_STATUS_LABELS = {
    MeetingStatus.proposed: "待确认",
    MeetingStatus.accepted: "已确认",
    MeetingStatus.declined: "已谢绝",
    MeetingStatus.cancelled: "已取消",
}


class Reply(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


REPLY_LABELS = {Reply.pending: "未答复", Reply.accepted: "接受", Reply.declined: "谢绝"}


class OutcomeResult(StrEnum):
    held = "held"
    intent = "intent"
    no_fit = "no_fit"
    no_show = "no_show"


OUTCOME_LABELS = {
    OutcomeResult.held: "已洽谈",
    OutcomeResult.intent: "有合作意向",
    OutcomeResult.no_fit: "暂不匹配",
    OutcomeResult.no_show: "未到场",
}


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    kind: str = Field(default=EventKind.matchmaking, max_length=20)
    description: str = ""
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=200)
    online_link: str = Field(default="", max_length=500)
    capacity: int
    slot_minutes: int = 20
    meeting_limit: int = 4
    status: str = Field(default=EventStatus.draft, max_length=20, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()

    def slot_count(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // (self.slot_minutes * 60))

    def slot_times(self, slot: int) -> tuple[datetime, datetime]:
        start = self.starts_at + timedelta(minutes=self.slot_minutes * slot)
        return start, start + timedelta(minutes=self.slot_minutes)


class EventOpportunity(SQLModel, table=True):
    """A featured opportunity; its host is the issuer's person who takes the meetings.

    Imported opportunities may come from organisations with no account yet: they can still be
    featured, and get meetings once the organisation has an issuer account.
    """

    __tablename__ = "event_opportunity"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    opportunity_id: int = Field(foreign_key="opportunity.id", primary_key=True, index=True)
    host_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    position: int = 0


class Registration(SQLModel, table=True):
    __tablename__ = "event_registration"
    __table_args__ = (UniqueConstraint("event_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    status: str = Field(default=RegistrationStatus.registered, max_length=20)
    # Who comes ([{"name": …, "phone": …}]), how many in all, and which featured opportunities
    # the enterprise wants to meet (ids; the meeting proposer favours them).
    attendees: list[dict] = json_list_field()
    head_count: int = 1
    wished_opportunity_ids: list[int] = json_list_field()
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class Availability(SQLModel, table=True):
    """One row per person and slot once the person has saved the form; no rows means every slot suits."""

    __tablename__ = "event_availability"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, index=True)
    slot: int = Field(primary_key=True)
    available: bool = True


class Meeting(SQLModel, table=True):
    __tablename__ = "event_meeting"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    slot: int
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    issuer_user_id: int = Field(foreign_key="user_account.id", index=True)
    enterprise_user_id: int = Field(foreign_key="user_account.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    # The enterprise's best-matching offering, if it has one (carried into a pairing).
    offering_id: int | None = Field(default=None, foreign_key="offering.id")
    score: float = 0.0
    status: str = Field(default=MeetingStatus.proposed, max_length=20, index=True)
    issuer_response: str = Field(default=Reply.pending, max_length=20)
    enterprise_response: str = Field(default=Reply.pending, max_length=20)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()

    @property
    def answered(self) -> bool:
        return self.issuer_response != Reply.pending or self.enterprise_response != Reply.pending


class Outcome(SQLModel, table=True):
    __tablename__ = "event_outcome"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="event_meeting.id", unique=True, ondelete="CASCADE")
    result: str = Field(max_length=20)
    note: str = Field(default="", max_length=2000)
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id")
    recorded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()
