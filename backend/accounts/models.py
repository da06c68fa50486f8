"""入驻申请 (Registration) and 邀请 (Invitation).

A Registration is one person's application: either a new organisation (企业入驻申请, with its
name, 统一社会信用代码, region and contact) or a request to join an organisation that already
exists. It waits for the applicant's email confirmation, then for a decision: a matchmaker
approves or refuses a new organisation (with a reason); the organisation's own admin or a
matchmaker decides on a request to join. `similar` keeps the existing organisations whose name
or credit code is close to the applied one, so the matchmaker sees likely duplicates.

An Invitation is a single-use, expiring link (only its SHA-256 is stored) that makes an
account: department staff invited by an admin or matchmaker, or a consortium member invited
by the enterprise that leads an answer.
"""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, json_list_field, modified_at_field


class RegistrationKind(StrEnum):
    new_organisation = "new_organisation"
    join_request = "join"


class RegistrationStatus(StrEnum):
    unconfirmed = "unconfirmed"  # the email link has not been followed yet
    pending = "pending"  # in the matchmakers' (or the organisation admin's) queue
    approved = "approved"
    refused = "refused"


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.unconfirmed: "待确认邮箱",
    RegistrationStatus.pending: "待审核",
    RegistrationStatus.approved: "已通过",
    RegistrationStatus.refused: "未通过",
}


class Registration(SQLModel, table=True):
    __tablename__ = "account_registration"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    status: str = Field(default=RegistrationStatus.unconfirmed, max_length=20, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_name: str = Field(max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    region_code: str | None = Field(default=None, max_length=12)
    contact_name: str = Field(max_length=60)
    phone: str = Field(default="", max_length=40)
    email: str = Field(max_length=254)
    note: str = Field(default="", max_length=1000)
    # Ids of existing organisations whose name or credit code is close to this one.
    similar: list[int] = json_list_field()
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    reason: str = Field(default="", max_length=1000)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class InvitationKind(StrEnum):
    staff = "staff"  # department staff (issuer role), invited by an admin or matchmaker
    consortium = "consortium"  # a consortium member, invited by the enterprise leading an answer


class Invitation(SQLModel, table=True):
    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=20)
    email: str = Field(max_length=254)
    display_name: str = Field(default="", max_length=60)
    # staff: the department the account joins; consortium: the member's organisation once created.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    organisation_name: str = Field(default="", max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    answer_id: int | None = Field(default=None, foreign_key="answer.id", ondelete="CASCADE")
    invited_by_id: int = Field(foreign_key="user_account.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
