"""Expressions of interest (意向) by an enterprise in a published opportunity, and the
introduction (引荐) that the issuer or a matchmaker approves or declines."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, modified_at_field


class InterestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"
    withdrawn = "withdrawn"


INTEREST_STATUS_LABELS = {
    InterestStatus.pending: "待审批",
    InterestStatus.approved: "已同意引荐",
    InterestStatus.declined: "已婉拒",
    InterestStatus.withdrawn: "已撤回",
}

# An "open" expression is one still waiting or already approved; after a decline or a
# withdrawal the enterprise may try again.
OPEN_STATUSES = (InterestStatus.pending, InterestStatus.approved)
_OPEN_SQL = text("status IN ('pending', 'approved')")


class Interest(SQLModel, table=True):
    __tablename__ = "interest"
    __table_args__ = (
        # The service checks first and answers 409; this index settles two requests racing.
        Index(
            "uq_interest_open_per_organisation",
            "opportunity_id",
            "organisation_id",
            unique=True,
            postgresql_where=_OPEN_SQL,
            sqlite_where=_OPEN_SQL,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    message: str = Field(default="", max_length=1000)
    status: str = Field(default=InterestStatus.pending, max_length=20, index=True)
    decision_reason: str = Field(default="", max_length=1000)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()
