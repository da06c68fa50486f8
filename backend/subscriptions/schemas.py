from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from backend.listings.schemas import CodeName

Code = Annotated[str, Field(min_length=1, max_length=40)]
RegionCode = Annotated[str, Field(min_length=1, max_length=12)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscriptionCreate(BaseModel):
    model_config = _STRICT

    name: str = Field(default="", max_length=60, description="订阅名称；留空则按条件自动命名")
    q: str = Field(
        default="", max_length=200, description="关键词，空格分隔，须全部出现在标题或描述中；只关注赛道/地区时留空"
    )
    tracks: list[Code] = Field(default_factory=list, max_length=10, description="赛道代码")
    domains: list[Code] = Field(default_factory=list, max_length=10, description="场景领域代码")
    regions: list[RegionCode] = Field(default_factory=list, max_length=20, description="地区代码（设区市含下辖县区）")


class SubscriptionUpdate(BaseModel):
    model_config = _STRICT

    name: str | None = Field(default=None, max_length=60)
    q: str | None = Field(default=None, max_length=200)
    tracks: list[Code] | None = Field(default=None, max_length=10)
    domains: list[Code] | None = Field(default=None, max_length=10)
    regions: list[RegionCode] | None = Field(default=None, max_length=20)


class SubscriptionPublic(BaseModel):
    id: int
    name: str
    q: str
    tracks: list[CodeName]
    domains: list[CodeName]
    regions: list[CodeName]
    created_at: datetime
    modified_at: datetime
