"""The audit log: every state change of a listing, answer or pairing (who, what, when, from → to)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    entity_kind: str = Field(max_length=20, index=True)
    entity_id: int = Field(index=True)
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=30)
    to_state: str | None = Field(default=None, max_length=30)
    note: str = Field(default="", max_length=2000)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = created_at_field()
