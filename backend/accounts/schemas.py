from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from backend.accounts.models import InvitationKind, RegistrationKind, RegistrationStatus
from backend.auth.passwords import MAX_PASSWORD_LENGTH
from backend.organisations.credit_code import validate_credit_code


def _email(value: str) -> str:
    return value.strip().lower()


def _code(value: str) -> str:
    return validate_credit_code(value)


class RegistrationCreate(BaseModel):
    """企业入驻申请: the enterprise, its contact person, and the applicant's password."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation_name: str = Field(min_length=2, max_length=200, description="企业全称")
    credit_code: str = Field(description="统一社会信用代码（按 GB 32100-2015 校验）")
    region_code: str = Field(min_length=1, max_length=12, description="所在地区代码")
    contact_name: str = Field(min_length=1, max_length=60, description="联系人")
    phone: str = Field(min_length=5, max_length=40, description="联系电话")
    email: EmailStr
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    note: str = Field(default="", max_length=1000)

    _e = field_validator("email", mode="after")(_email)
    _c = field_validator("credit_code", mode="before")(_code)


class JoinRequestCreate(BaseModel):
    """A second person of an organisation already on the platform asks to join it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credit_code: str | None = Field(default=None, description="所属企业的统一社会信用代码")
    organisation_name: str | None = Field(
        default=None, max_length=200, description="无信用代码的单位（政府部门等）填全称"
    )
    contact_name: str = Field(min_length=1, max_length=60)
    phone: str = Field(default="", max_length=40)
    email: EmailStr
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    note: str = Field(default="", max_length=1000)

    _e = field_validator("email", mode="after")(_email)

    @field_validator("credit_code", mode="before")
    @classmethod
    def _optional_code(cls, value: str | None) -> str | None:
        return validate_credit_code(value) if value and str(value).strip() else None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    approve: bool
    reason: str = Field(default="", max_length=1000, description="不通过时必填")


class SimilarOrganisation(BaseModel):
    id: int
    name: str
    credit_code: str | None


class RegistrationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: RegistrationKind
    status: RegistrationStatus
    user_id: int
    organisation_id: int
    organisation_name: str
    credit_code: str | None
    region_code: str | None
    contact_name: str
    phone: str
    email: str
    note: str
    similar: list[int]
    invitation_id: int | None
    reason: str
    decided_at: datetime | None
    created_at: datetime


class RegistrationDetail(RegistrationPublic):
    similar_organisations: list[SimilarOrganisation] = []


class StaffInvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    display_name: str = Field(min_length=1, max_length=60)
    organisation_id: int = Field(ge=1, le=2**31 - 1)

    _e = field_validator("email", mode="after")(_email)


class ConsortiumInvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation_name: str = Field(min_length=2, max_length=200)
    credit_code: str
    email: EmailStr
    display_name: str = Field(default="", max_length=60, description="受邀联系人姓名")

    _e = field_validator("email", mode="after")(_email)
    _c = field_validator("credit_code", mode="before")(_code)


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=10, max_length=200)
    display_name: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    phone: str = Field(default="", max_length=40)
    region_code: str | None = Field(default=None, max_length=12, description="联合体成员：所在地区代码")


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: InvitationKind
    email: str
    display_name: str
    organisation_id: int | None
    organisation_name: str
    credit_code: str | None
    answer_id: int | None
    expires_at: datetime
    used_at: datetime | None
    created_at: datetime


class Accepted(BaseModel):
    detail: str
