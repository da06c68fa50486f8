"""A matchmaker's verdict on a suggested opportunity ↔ offering match."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field


class MatchVerdict(StrEnum):
    accepted = "accepted"
    dismissed = "dismissed"


class MatchDecision(SQLModel, table=True):
    """Dismissed suggestions never come back for the pair; accepted ones are marked."""

    __tablename__ = "match_decision"
    __table_args__ = (UniqueConstraint("opportunity_id", "offering_id"),)

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True, ondelete="CASCADE")
    offering_id: int = Field(foreign_key="offering.id", index=True, ondelete="CASCADE")
    verdict: str = Field(max_length=20)
    reason: str = Field(default="", max_length=2000)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime = created_at_field()
