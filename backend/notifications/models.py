"""In-app notifications and the email outbox.

Emails are rows written in the same transaction as the change that causes them, so a
rolled-back request sends nothing and a crash after commit loses nothing; the mail
worker sends them at least once.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, utcnow


class NotificationKind:
    """Names of a few kinds used in code; every kind is declared in `kinds.py` (stored as text)."""

    subscription_match = "subscription_match"
    subscription_digest = "subscription_digest"
    interest_received = "interest_received"
    interest_approved = "interest_approved"
    interest_declined = "interest_declined"
    interest_reminder = "interest_reminder"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    # "My unread notifications, newest first" is the one query that must stay fast.
    __table_args__ = (Index("ix_notification_user_id_read_at", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = ""
    link: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "digest" while the notification waits for its user's daily digest email, then "digested";
    # empty when its email went at once or none was wanted.
    email_state: str = Field(default="", max_length=20, index=True)


class NotificationPreference(SQLModel, table=True):
    """How one person wants the email of one kind: at once, in a daily digest, or not at all."""

    __tablename__ = "notification_preference"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(max_length=40, primary_key=True)
    delivery: str = Field(max_length=20)
    modified_at: datetime = created_at_field()


class ReminderSent(SQLModel, table=True):
    """One row per reminder sent, keyed by what it was about ("answer_deadline:12"): never twice."""

    __tablename__ = "reminder_sent"

    key: str = Field(primary_key=True, max_length=100)
    sent_at: datetime = created_at_field()


class EmailMessage(SQLModel, table=True):
    __tablename__ = "email_message"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = ""
    created_at: datetime = created_at_field()
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    attempts: int = 0
    # The last failure as the SMTP server worded it, so an administrator can see why.
    last_error: str = ""
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Set when the worker gives up for good (refused with a 5xx, or out of attempts); such a
    # message is neither pending nor sent.
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
