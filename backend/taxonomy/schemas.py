from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TrackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    group: str
    aliases: list[str]


class DomainPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    parent_code: str | None
    aliases: list[str]


class RegionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str
    level: str
    parent_code: str | None


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    number: int = Field(ge=1, le=10000)
    title: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=5000)


class BatchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    title: str
    note: str
    published_at: datetime | None
    created_at: datetime
