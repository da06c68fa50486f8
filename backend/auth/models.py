"""Accounts and their login sessions."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, modified_at_field


class Role(StrEnum):
    issuer = "issuer"
    enterprise = "enterprise"
    matchmaker = "matchmaker"
    admin = "admin"


ROLE_LABELS = {
    Role.issuer: "出卷方",
    Role.enterprise: "企业",
    Role.matchmaker: "撮合专员",
    Role.admin: "管理员",
}


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=200)
    display_name: str = Field(max_length=60)
    role: str = Field(max_length=20)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    is_active: bool = True
    # Set when the owner followed the confirmation link sent to the address (registrations);
    # accounts made by an admin or by invitation count as confirmed.
    email_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # May approve other people's requests to join this account's organisation.
    is_organisation_admin: bool = False
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class AuthSession(SQLModel, table=True):
    """A login. Only the SHA-256 of the cookie token is stored, so a database leak yields no usable cookie."""

    __tablename__ = "auth_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)


class TokenPurpose(StrEnum):
    confirm_email = "confirm_email"
    reset_password = "reset_password"  # noqa: S105 — a purpose name, not a password
    sign_in = "sign_in"


class AccountToken(SQLModel, table=True):
    """A single-use, expiring link sent by email (confirm the address, reset the password, sign in once).

    Only the SHA-256 of the token is stored; `used_at` makes it single-use.
    """

    __tablename__ = "account_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=20)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ThrottleCounter(SQLModel, table=True):
    """Failed (or counted) attempts under one key ("account:a@b.cn", "address:1.2.3.4" …).

    In the database, so every web process sees the same counts.
    """

    __tablename__ = "throttle_counter"

    key: str = Field(primary_key=True, max_length=300)
    count: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime = Field(sa_type=UTCDateTime)
