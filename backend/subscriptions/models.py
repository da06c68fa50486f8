"""Saved searches and follows (订阅): one model, a follow is a subscription with no text."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field, json_list_field, modified_at_field


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    q: str = Field(default="", max_length=200)
    # Codes, checked against the taxonomy on write. Lists rather than link tables: matching
    # runs in Python once per published opportunity, and nothing queries by these columns.
    tracks: list[str] = json_list_field()
    domains: list[str] = json_list_field()
    regions: list[str] = json_list_field()
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()
