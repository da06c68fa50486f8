from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.events.models import EventKind, EventStatus, MeetingStatus, OutcomeResult, Reply
from backend.kit.params import DbId

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
MAX_FEATURED = 30


class EventCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=1, max_length=200)
    kind: EventKind = EventKind.matchmaking
    description: str = Field(default="", max_length=10000)
    starts_at: AwareDatetime = Field(description="开始时间，须带时区，例如 2026-12-01T09:00:00+08:00")
    ends_at: AwareDatetime
    place: str = Field(default="", max_length=200)
    online_link: str = Field(default="", max_length=500, description="线上参会链接（http 或 https）")
    capacity: int = Field(ge=1, le=10000, description="可报名的企业数")
    slot_minutes: int = Field(default=20, ge=5, le=240, description="每场一对一洽谈的时长（分钟）")
    meeting_limit: int = Field(default=4, ge=1, le=50, description="每人最多参加的洽谈场次")


class EventUpdate(BaseModel):
    model_config = _STRICT

    title: str | None = Field(default=None, min_length=1, max_length=200)
    kind: EventKind | None = None
    description: str | None = Field(default=None, max_length=10000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    place: str | None = Field(default=None, max_length=200)
    online_link: str | None = Field(default=None, max_length=500)
    capacity: int | None = Field(default=None, ge=1, le=10000)
    slot_minutes: int | None = Field(default=None, ge=5, le=240)
    meeting_limit: int | None = Field(default=None, ge=1, le=50)


class EventStatusChange(BaseModel):
    model_config = _STRICT

    status: EventStatus


class FeaturedSet(BaseModel):
    model_config = _STRICT

    opportunity_ids: list[DbId] = Field(max_length=MAX_FEATURED, description="推介的机会（须已发布），按顺序")


class AvailabilitySet(BaseModel):
    model_config = _STRICT

    slots: list[int] = Field(max_length=500, description="本人可参加的时段序号（从 0 开始）")


class MeetingReply(BaseModel):
    model_config = _STRICT

    reply: Reply = Field(description="accepted 接受 或 declined 谢绝")


class OutcomeSet(BaseModel):
    model_config = _STRICT

    result: OutcomeResult
    note: str = Field(default="", max_length=2000)
    create_pairing: bool = Field(default=False, description="同时创建对接（推荐阶段）并关联")


class SlotPublic(BaseModel):
    index: int
    starts_at: datetime
    ends_at: datetime


class FeaturedPublic(BaseModel):
    opportunity_id: int
    title: str
    organisation_name: str
    has_host: bool = Field(description="发布单位是否有可参会的出卷方账号（没有则暂不安排洽谈）")


class EventPublic(BaseModel):
    id: int
    title: str
    kind: EventKind
    kind_label: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str
    online_link: str
    capacity: int
    registered: int
    slot_minutes: int
    meeting_limit: int
    status: EventStatus
    status_label: str
    slots: list[SlotPublic]
    opportunities: list[FeaturedPublic]


class EventList(BaseModel):
    items: list[EventPublic]
    total: int
    page: int
    page_size: int


class Attendee(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50, description="参会人姓名")
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\- ]+$", description="联系电话")


class RegistrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attendees: list[Attendee] = Field(default_factory=list, max_length=20, description="参会人（姓名、电话）")
    head_count: int | None = Field(default=None, ge=1, le=50, description="参会总人数；默认为参会人数（至少 1）")
    wished_opportunity_ids: list[int] = Field(
        default_factory=list, max_length=50, description="希望洽谈的推介机会 id；生成对接安排时优先安排"
    )


class RegistrationPublic(BaseModel):
    id: int
    event_id: int
    organisation_id: int
    organisation_name: str
    user_id: int
    user_name: str
    status: str
    created_at: datetime
    attendees: list[Attendee] = Field(default_factory=list)
    head_count: int = 1
    wished_opportunity_ids: list[int] = Field(default_factory=list)


class AvailabilityPublic(BaseModel):
    slots: list[int] = Field(description="可参加的时段；未填写时为全部时段")
    saved: bool


class OutcomePublic(BaseModel):
    result: OutcomeResult
    result_label: str
    note: str
    pairing_id: int | None
    modified_at: datetime


class MeetingPublic(BaseModel):
    id: int
    event_id: int
    slot: int
    starts_at: datetime
    ends_at: datetime
    opportunity_id: int
    opportunity_title: str
    issuer_user_id: int
    issuer_name: str
    issuer_organisation_name: str
    enterprise_user_id: int
    enterprise_name: str
    organisation_id: int
    organisation_name: str
    offering_id: int | None
    offering_title: str | None
    score: float
    status: MeetingStatus
    status_label: str
    issuer_response: Reply
    enterprise_response: Reply
    calendar_url: str
    outcome: OutcomePublic | None
