"""The outbox: one row per change that the search index (or what runs after it) must learn about.

Rows are written in the same transaction as the change, so a crash between commit and
indexing loses nothing; the sync worker drains them at least once.
"""

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, utcnow


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=40)
    entity_kind: str = Field(max_length=20)
    entity_id: int
    created_at: datetime = created_at_field()
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    attempts: int = 0
    last_error: str = ""
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
