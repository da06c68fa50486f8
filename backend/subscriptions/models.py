"""Saved searches and follows (订阅): one model, a follow is a subscription with no text.

A subscription searches one list (`kind`: 机会清单 or 产品清单) and tells its owner about new
matches at once or in a daily or weekly digest (`frequency`). `SubscriptionAlert` records each
listing found for a person, unique per (person, listing): whatever runs twice, nobody hears of
the same listing twice.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, json_list_field, modified_at_field


class Frequency(StrEnum):
    immediate = "immediate"
    daily = "daily"
    weekly = "weekly"


FREQUENCY_LABELS = {Frequency.immediate: "即时", Frequency.daily: "每日", Frequency.weekly: "每周"}


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    # "opportunity" (机会清单) or "offering" (产品清单): the list this search runs on.
    kind: str = Field(default="opportunity", max_length=20)
    frequency: str = Field(default=Frequency.immediate.value, max_length=20)
    name: str = Field(max_length=60)
    q: str = Field(default="", max_length=200)
    # Codes, checked against the taxonomy on write; translated to the index's values when the
    # search runs. Lists rather than link tables: nothing queries by these columns.
    tracks: list[str] = json_list_field()
    domains: list[str] = json_list_field()
    regions: list[str] = json_list_field()
    # Opportunity searches only, as the list page filters them (`backend.listings.ranges`): the
    # budget range (万元, either bound open) a listing's budget must meet, and a deadline choice
    # (a DEADLINE_CHOICES code: 7d, 30d, open), a window counted from the day the alert runs.
    budget_from: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    budget_to: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    deadline: str | None = Field(default=None, max_length=10)
    # When its owner was last told about a match (at once, or in a digest).
    last_alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class SubscriptionAlert(SQLModel, table=True):
    """One listing found by one of a person's saved searches.

    `notified_at` is set when the person was told (at once, or by the digest that listed it);
    a row without it waits for its subscription's digest.
    """

    __tablename__ = "subscription_alert"
    __table_args__ = (
        # Once per listing per person, even when two of their searches find it or two workers run.
        UniqueConstraint("user_id", "listing_kind", "listing_id", name="uq_subscription_alert_user_listing"),
        # The digest job's question: what is still waiting, per subscription.
        Index("ix_subscription_alert_pending", "subscription_id", "notified_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    listing_kind: str = Field(max_length=20)
    listing_id: int
    created_at: datetime = created_at_field()
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
