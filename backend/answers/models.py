"""答题: an enterprise's (or a consortium's) answer to one opportunity, and its review."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import JSON, Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, modified_at_field
from backend.kit.files import UploadedFile


class AnswerStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    shortlisted = "shortlisted"
    selected = "selected"
    not_selected = "not_selected"


ANSWER_STATUS_LABELS = {
    AnswerStatus.draft: "草稿",
    AnswerStatus.submitted: "已提交",
    AnswerStatus.withdrawn: "已撤回",
    AnswerStatus.shortlisted: "入围",
    AnswerStatus.selected: "中选",
    AnswerStatus.not_selected: "未中选",
}


class MemberStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"


class Answer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("opportunity_id", "lead_organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    lead_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=500)
    solution: str = ""
    price_text: str = Field(default="", max_length=100)
    price_amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    delivery_plan: str = ""
    status: str = Field(default=AnswerStatus.draft, max_length=20, index=True)
    winner_published: bool = False
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class AnswerOffering(SQLModel, table=True):
    __tablename__ = "answer_offering"

    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
    offering_id: int = Field(foreign_key="offering.id", primary_key=True)


class AnswerMember(SQLModel, table=True):
    """A member enterprise of a consortium (联合体) answer; it must confirm before the answer counts."""

    __tablename__ = "answer_member"

    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, index=True)
    status: str = Field(default=MemberStatus.pending, max_length=20)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class AnswerAttachment(UploadedFile, table=True):
    """A file stored outside the web root under `storage_key`; served only to those who may read the answer."""

    __tablename__ = "answer_attachment"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")


class ReviewCriterion(SQLModel, table=True):
    __tablename__ = "review_criterion"

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    weight: int
    position: int = 0


class Reviewer(SQLModel, table=True):
    """A member of the issuer's organisation invited to score the answers to one opportunity."""

    opportunity_id: int = Field(foreign_key="opportunity.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    invited_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    invited_at: datetime = created_at_field()


class Review(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("answer_id", "reviewer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    reviewer_id: int = Field(foreign_key="user_account.id")
    scores: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    total: Decimal | None = Field(default=None, sa_type=Numeric(6, 2))
    comment: str = Field(default="", max_length=2000)
    recused: bool = False
    submitted_at: datetime = created_at_field()
