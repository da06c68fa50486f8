"""The shape of the statistics: a public summary, plus the matchmakers' fuller view."""

from datetime import datetime

from pydantic import BaseModel, Field


class Totals(BaseModel):
    published_opportunities: int = Field(description="当前已发布的机会数（不含已截止）")
    open_opportunities: int = Field(description="仍在征集答案的机会数（已发布且未过截止日期）")
    published_offerings: int = Field(description="已发布的产品数")
    pairings: int = Field(description="对接总数")


class CategoryCount(BaseModel):
    """Published opportunities and offerings under one track, domain or city."""

    code: str
    name: str
    opportunities: int
    offerings: int


class FunnelStage(BaseModel):
    stage: str
    label: str
    reached: int = Field(description="到达过该阶段的对接数")
    current: int = Field(description="当前停在该阶段的对接数")
    conversion: float | None = Field(description="进入下一阶段的比例（0–1）；最后阶段或无数据时为空")


class Funnel(BaseModel):
    stages: list[FunnelStage]
    declined: int = Field(description="未达成的对接数")


class IssuerAnswers(BaseModel):
    organisation_id: int
    name: str
    opportunities: int = Field(description="发布过的机会数")
    answered_opportunities: int = Field(description="收到至少一份答题的机会数")
    answers: int = Field(description="收到的已提交答题数（不含草稿与撤回）")
    median_response_days: float | None = Field(description="从机会发布到第一份答题提交的中位天数")


class SupplyGap(BaseModel):
    """供需缺口: open opportunities under a track or domain against the offerings there."""

    code: str
    name: str
    open_opportunities: int
    offerings: int
    weak_opportunities: int = Field(description="同赛道已发布产品少于阈值的机会数")
    weak_share: float = Field(description="上述机会所占比例（0–1）")
    is_gap: bool = Field(description="没有产品，或半数以上机会供给不足")


class Statistics(BaseModel):
    generated_at: datetime
    full: bool = Field(description="是否为撮合专员可见的完整视图")
    totals: Totals
    by_track: list[CategoryCount]
    by_domain: list[CategoryCount]
    by_city: list[CategoryCount]
    funnel: Funnel
    weak_supply_threshold: int
    issuers: list[IssuerAnswers] | None = Field(default=None, description="仅撮合专员可见")
    track_gaps: list[SupplyGap] | None = Field(default=None, description="仅撮合专员可见")
    domain_gaps: list[SupplyGap] | None = Field(default=None, description="仅撮合专员可见")
