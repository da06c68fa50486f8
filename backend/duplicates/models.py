"""A matchmaker's "不是重复" verdict on a pair of listings of the same kind."""

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field


class DuplicateDismissal(SQLModel, table=True):
    """The pair (first_id < second_id) is never listed as a likely duplicate again."""

    __tablename__ = "duplicate_dismissal"
    __table_args__ = (
        UniqueConstraint("kind", "first_id", "second_id", name="uq_duplicate_dismissal_pair"),
        CheckConstraint("first_id < second_id", name="ordered_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    # Listing ids of `kind`; no foreign key because the kind decides the table.
    first_id: int = Field(index=True)
    second_id: int = Field(index=True)
    reason: str = Field(default="", max_length=2000)
    dismissed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
