from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from backend.auth.models import Role
from backend.auth.passwords import MIN_PASSWORD_LENGTH
from backend.kit.params import DbId


def _normalise_email(value: str) -> str:
    return value.strip().lower()


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)

    _email = field_validator("email", mode="after")(_normalise_email)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)
    display_name: str = Field(min_length=1, max_length=60)
    role: Role
    organisation_id: DbId | None = None

    _email = field_validator("email", mode="after")(_normalise_email)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=60)
    role: Role | None = None
    organisation_id: DbId | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    organisation_id: DbId | None
    is_active: bool
    created_at: datetime
