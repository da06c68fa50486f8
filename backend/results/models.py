"""结果公示 / 异议: the public notice of an opportunity's selected answers, and objections to it."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import JSON, Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field


class NoticeStatus(StrEnum):
    open = "open"  # 公示中
    final = "final"  # 结果已生效
    reopened = "reopened"  # 异议成立，重新评审


NOTICE_STATUS_LABELS = {
    NoticeStatus.open: "公示中",
    NoticeStatus.final: "结果已生效",
    NoticeStatus.reopened: "异议成立，已重新评审",
}


class ObjectionStatus(StrEnum):
    pending = "pending"
    upheld = "upheld"
    rejected = "rejected"
    # Another objection was upheld first: this one needs no answer any more.
    moot = "moot"


OBJECTION_STATUS_LABELS = {
    ObjectionStatus.pending: "待答复",
    ObjectionStatus.upheld: "异议成立",
    ObjectionStatus.rejected: "异议不成立",
    ObjectionStatus.moot: "已随其他异议重新评审",
}


class ResultNotice(SQLModel, table=True):
    __tablename__ = "result_notice"

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    status: str = Field(default=NoticeStatus.open, max_length=20, index=True)
    working_days: int
    starts_at: datetime = Field(sa_type=UTCDateTime)
    # The end of the last working day of the period (China time), stored in UTC.
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The selected answers this notice publishes.
    answer_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    # Answers still open at publication, turned 未中选 by it: {answer id: status before}, restored on reopening.
    closed_answers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    note: str = Field(default="", max_length=2000)
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class Objection(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="result_notice.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True)
    # Real-name: the objector's name and a phone as they gave them, kept with the objection.
    real_name: str = Field(max_length=60)
    phone: str = Field(default="", max_length=30)
    answer_id: int | None = Field(default=None, foreign_key="answer.id")
    reason: str = Field(max_length=5000)
    status: str = Field(default=ObjectionStatus.pending, max_length=20, index=True)
    response: str = Field(default="", max_length=5000)
    responded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
