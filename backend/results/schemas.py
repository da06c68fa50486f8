from datetime import datetime

from pydantic import BaseModel, Field

from backend.results.models import NoticeStatus, ObjectionStatus
from backend.results.service import DEFAULT_WORKING_DAYS, MAX_WORKING_DAYS


class NoticeCreate(BaseModel):
    working_days: int = Field(default=DEFAULT_WORKING_DAYS, ge=1, le=MAX_WORKING_DAYS, description="公示期（工作日）")
    note: str = Field(default="", max_length=2000)


class NoticeEntry(BaseModel):
    answer_id: int
    title: str
    summary: str
    lead_organisation_name: str
    member_organisation_names: list[str]


class NoticePublic(BaseModel):
    id: int
    opportunity_id: int
    opportunity_title: str
    status: NoticeStatus
    status_label: str
    working_days: int
    starts_at: datetime
    ends_at: datetime
    finalized_at: datetime | None
    note: str
    entries: list[NoticeEntry]
    objections: dict[str, int]


class ObjectionCreate(BaseModel):
    real_name: str = Field(max_length=60, description="真实姓名（异议须实名）")
    phone: str = Field(default="", max_length=30)
    reason: str = Field(max_length=5000, description="异议的事实和理由")
    answer_id: int | None = None


class ObjectionAnswer(BaseModel):
    upheld: bool = Field(description="异议是否成立；成立则中选结果重新评审")
    response: str = Field(max_length=5000, description="书面答复")


class ObjectionPublic(BaseModel):
    id: int
    notice_id: int
    user_id: int
    user_name: str
    real_name: str
    phone: str
    answer_id: int | None
    reason: str
    status: ObjectionStatus
    response: str
    responded_at: datetime | None
    created_at: datetime
