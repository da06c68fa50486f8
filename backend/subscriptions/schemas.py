from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.listings.schemas import CodeName

Code = Annotated[str, Field(min_length=1, max_length=40)]
RegionCode = Annotated[str, Field(min_length=1, max_length=12)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

Kind = Literal["opportunity", "offering"]
Frequency = Literal["immediate", "daily", "weekly"]


class SubscriptionCreate(BaseModel):
    model_config = _STRICT

    kind: Kind = Field(
        default="opportunity",
        description="订阅哪个清单：opportunity 机会清单（企业），offering 产品清单（出卷方、撮合专员）",
    )
    frequency: Frequency = Field(
        default="immediate", description="通知频率：immediate 即时，daily 每日汇总，weekly 每周汇总"
    )
    name: str = Field(default="", max_length=60, description="订阅名称；留空则按条件自动命名")
    q: str = Field(
        default="",
        max_length=200,
        description="关键词，与清单搜索的匹配方式相同（同义词、繁简、拼音）；只关注赛道/地区时留空",
    )
    tracks: list[Code] = Field(default_factory=list, max_length=10, description="赛道代码")
    domains: list[Code] = Field(default_factory=list, max_length=10, description="场景领域代码")
    regions: list[RegionCode] = Field(default_factory=list, max_length=20, description="地区代码（设区市含下辖县区）")


class SubscriptionUpdate(BaseModel):
    model_config = _STRICT

    frequency: Frequency | None = None
    name: str | None = Field(default=None, max_length=60)
    q: str | None = Field(default=None, max_length=200)
    tracks: list[Code] | None = Field(default=None, max_length=10)
    domains: list[Code] | None = Field(default=None, max_length=10)
    regions: list[RegionCode] | None = Field(default=None, max_length=20)


class SubscriptionPublic(BaseModel):
    id: int
    kind: Kind
    frequency: Frequency
    name: str
    q: str
    tracks: list[CodeName]
    domains: list[CodeName]
    regions: list[CodeName]
    last_alerted_at: datetime | None
    created_at: datetime
    modified_at: datetime
