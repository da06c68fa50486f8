from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.listings.schemas import CodeName

Code = Annotated[str, Field(min_length=1, max_length=40)]
RegionCode = Annotated[str, Field(min_length=1, max_length=12)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

Kind = Literal["opportunity", "offering"]
Frequency = Literal["immediate", "daily", "weekly"]
Deadline = Literal["7d", "30d", "open"]

_BUDGET_FROM = "预算区间下界（万元，仅机会清单）：只提醒预算与区间相交的机会；不填预算（面议）的不提醒"
_BUDGET_TO = "预算区间上界（万元，不含，仅机会清单）：只提醒预算与区间相交的机会；不填预算（面议）的不提醒"
_DEADLINE = (
    "截止日期（仅机会清单）：7d 7天内截止，30d 30天内截止，open 尚未截止（含不设截止日期的）；"
    "每次提醒时按当天（北京时间）计算"
)


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
    budget_from: Decimal | None = Field(default=None, ge=0, le=10**9, description=_BUDGET_FROM)
    budget_to: Decimal | None = Field(default=None, gt=0, le=10**9, description=_BUDGET_TO)
    deadline: Deadline | None = Field(default=None, description=_DEADLINE)


class SubscriptionUpdate(BaseModel):
    model_config = _STRICT

    frequency: Frequency | None = None
    name: str | None = Field(default=None, max_length=60)
    q: str | None = Field(default=None, max_length=200)
    tracks: list[Code] | None = Field(default=None, max_length=10)
    domains: list[Code] | None = Field(default=None, max_length=10)
    regions: list[RegionCode] | None = Field(default=None, max_length=20)
    # Given as null, these clear the filter; left out, they stay.
    budget_from: Decimal | None = Field(default=None, ge=0, le=10**9, description=_BUDGET_FROM + "；null 取消")
    budget_to: Decimal | None = Field(default=None, gt=0, le=10**9, description=_BUDGET_TO + "；null 取消")
    deadline: Deadline | None = Field(default=None, description=_DEADLINE + "；null 取消")


class SubscriptionPublic(BaseModel):
    id: int
    kind: Kind
    frequency: Frequency
    name: str
    q: str
    tracks: list[CodeName]
    domains: list[CodeName]
    regions: list[CodeName]
    budget_from: Decimal | None
    budget_to: Decimal | None
    deadline: Deadline | None
    filters: list[str] = Field(
        description="预算与截止日期条件的中文说明，如“预算 100万–500万”“30天内截止（按提醒当天计算）”"
    )
    last_alerted_at: datetime | None
    created_at: datetime
    modified_at: datetime
