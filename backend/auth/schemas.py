from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from backend.auth.models import Role
from backend.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem
from backend.kit.params import DbId


def _normalise_email(value: str) -> str:
    return value.strip().lower()


def checked_password(value: str | None) -> str | None:
    """A new password must pass the password rules (length, not a common password)."""
    if value is not None and (problem := password_problem(value)):
        raise ValueError(problem)
    return value


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)

    _email = field_validator("email", mode="after")(_normalise_email)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    # The length is checked by checked_password, which says what is wrong ("密码至少需要 12 个字符…")
    # where a Field bound would only say "内容太短"; the documented minimum stays 12.
    password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH}
    )
    display_name: str = Field(min_length=1, max_length=60)
    role: Role
    organisation_id: DbId | None = None

    _email = field_validator("email", mode="after")(_normalise_email)
    _password = field_validator("password", mode="after")(checked_password)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=60)
    role: Role | None = None
    organisation_id: DbId | None = None
    is_active: bool | None = None
    password: str | None = Field(
        default=None, min_length=1, max_length=MAX_PASSWORD_LENGTH, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH}
    )

    _password = field_validator("password", mode="after")(checked_password)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    organisation_id: DbId | None
    is_active: bool
    email_confirmed_at: datetime | None = None
    last_login_at: datetime | None = None
    created_at: datetime


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class EmailOnly(BaseModel):
    email: EmailStr

    _email = field_validator("email", mode="after")(_normalise_email)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class TokenOnly(BaseModel):
    token: str = Field(min_length=10, max_length=200)
