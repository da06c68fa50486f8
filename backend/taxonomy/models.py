"""Tracks (赛道), scenario domains (场景领域), regions (地区) and batches (批次)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.kit.db import UTCDateTime, created_at_field, json_list_field


class TrackGroup(StrEnum):
    base = "base"
    emerging = "emerging"
    fusion = "fusion"


class Track(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=60, unique=True)
    group: str = Field(max_length=20)
    aliases: list[str] = json_list_field()
    position: int = 0


class Domain(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=60, unique=True)
    parent_code: str | None = Field(default=None, foreign_key="domain.code", max_length=40)
    aliases: list[str] = json_list_field()
    position: int = 0


class Region(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=40)
    short_name: str = Field(max_length=20)
    level: str = Field(max_length=12)
    parent_code: str | None = Field(default=None, foreign_key="region.code", max_length=12, index=True)


class Batch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    title: str = Field(max_length=200)
    note: str = ""
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
