"""Request and response bodies of the 十百千 registry and its progress figures."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.demonstration.models import Metric, ProjectStatus, TargetScope
from backend.kit.files import UploadedFilePublic
from backend.kit.params import DbId

Code = Annotated[str, Field(min_length=1, max_length=40)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"), decimal_places=2, description="万元")]
Year = Annotated[int, Field(ge=2000, le=2100)]
# The pattern puts the range in the OpenAPI document too (JSON Schema has no minimum for dates).
PlanDate = Annotated[
    date,
    Field(
        ge=date(2000, 1, 1),
        le=date(2100, 12, 31),
        json_schema_extra={"pattern": r"^(20[0-9]{2}|2100)-", "description": "2000-01-01 至 2100-12-31"},
    ),
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


class ZoneCreate(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    region_code: str = Field(min_length=1, max_length=12)
    tracks: list[Code] = Field(default_factory=list, max_length=20)
    lead_organisation_id: DbId | None = None
    description: str = Field(default="", max_length=20000)
    designated_on: PlanDate | None = Field(default=None, description="认定日期；不填为今天")

    unique_tracks = field_validator("tracks")(_unique)


class ZoneUpdate(BaseModel):
    model_config = _STRICT

    name: str | None = Field(default=None, min_length=1, max_length=200)
    region_code: str | None = Field(default=None, min_length=1, max_length=12)
    tracks: list[Code] | None = Field(default=None, max_length=20)
    lead_organisation_id: DbId | None = None
    description: str | None = Field(default=None, max_length=20000)
    designated_on: PlanDate | None = None


class NamedRef(BaseModel):
    code: str
    name: str


class OrganisationRef(BaseModel):
    id: int
    name: str


class ZonePublic(BaseModel):
    id: int
    name: str
    region: NamedRef | None
    tracks: list[NamedRef]
    lead_organisation: OrganisationRef | None
    description: str
    designated_on: date
    project_count: int
    created_at: datetime
    modified_at: datetime


class ProjectCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=20000)
    zone_id: DbId | None = None
    opportunity_id: DbId | None = None
    pairing_id: DbId | None = Field(default=None, description="产生该项目的对接（须已进入示范阶段）")
    enterprise_ids: list[DbId] = Field(
        default_factory=list, max_length=20, description="参与企业（组织编号），第一个为牵头企业"
    )
    region_code: str | None = Field(default=None, max_length=12, description="不填时取示范区或机会的地区")
    tracks: list[Code] = Field(default_factory=list, max_length=20)
    investment_wan: Money | None = None
    output_value_wan: Money | None = None
    outcome: str = Field(default="", max_length=20000)

    unique_enterprises = field_validator("enterprise_ids")(_unique)
    unique_tracks = field_validator("tracks")(_unique)


class ProjectUpdate(BaseModel):
    model_config = _STRICT

    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=20000)
    zone_id: DbId | None = None
    enterprise_ids: list[DbId] | None = Field(default=None, max_length=20)
    region_code: str | None = Field(default=None, max_length=12)
    tracks: list[Code] | None = Field(default=None, max_length=20)
    investment_wan: Money | None = None
    output_value_wan: Money | None = None
    outcome: str | None = Field(default=None, max_length=20000)


class ProjectMove(BaseModel):
    model_config = _STRICT

    status: ProjectStatus = Field(description="只能进入下一状态：申报 → 入选 → 建设中 → 验收 → 推广")
    note: str = Field(default="", max_length=2000)
    on: PlanDate | None = Field(default=None, description="状态变更日期；不填为今天（入选日期计入进度）")


class EvidencePublic(UploadedFilePublic):
    pass


class MilestoneCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=1, max_length=200)
    due_on: PlanDate | None = None
    done_on: PlanDate | None = None
    note: str = Field(default="", max_length=5000)


class MilestoneUpdate(BaseModel):
    model_config = _STRICT

    title: str | None = Field(default=None, min_length=1, max_length=200)
    due_on: PlanDate | None = None
    done_on: PlanDate | None = None
    note: str | None = Field(default=None, max_length=5000)


class MilestonePublic(BaseModel):
    id: int
    project_id: int
    title: str
    due_on: date | None
    done_on: date | None
    note: str
    evidence: list[EvidencePublic]
    created_at: datetime


class ProjectPublic(BaseModel):
    id: int
    title: str
    summary: str
    zone: OrganisationRef | None
    opportunity: OrganisationRef | None
    pairing_id: int | None
    enterprises: list[OrganisationRef]
    region: NamedRef | None
    tracks: list[NamedRef]
    status: ProjectStatus
    status_label: str
    selected_on: date | None
    investment_wan: Decimal | None
    output_value_wan: Decimal | None
    outcome: str
    milestones: list[MilestonePublic] = []
    created_at: datetime
    modified_at: datetime


class Proposal(BaseModel):
    """The fields a demonstration project from a 示范 pairing starts with."""

    pairing_id: int
    opportunity_id: int
    title: str
    summary: str
    zone_id: int | None
    zone_name: str | None
    region_code: str | None
    tracks: list[str]
    enterprise_ids: list[int]
    enterprises: list[OrganisationRef]


def _indicators(value: dict[str, float]) -> dict[str, float]:
    if len(value) > 30:
        raise ValueError("指标最多 30 项")
    cleaned: dict[str, float] = {}
    for name, number in value.items():
        name = name.strip()
        if not name or len(name) > 60:
            raise ValueError("指标名称应为 1 到 60 个字符")
        if number != number or abs(number) > 1e15:  # NaN or absurd
            raise ValueError(f"指标「{name}」的数值无效")
        cleaned[name] = number
    return cleaned


class EnterpriseCreate(BaseModel):
    model_config = _STRICT

    organisation_id: DbId
    region_code: str | None = Field(default=None, max_length=12, description="不填时取企业所在地区")
    tracks: list[Code] = Field(default_factory=list, max_length=20)
    year_recognised: Year
    recognised_on: PlanDate | None = None
    indicators: dict[str, float] = Field(default_factory=dict, description="指标名称（含单位）→ 数值")
    note: str = Field(default="", max_length=5000)

    unique_tracks = field_validator("tracks")(_unique)
    check_indicators = field_validator("indicators")(_indicators)

    @model_validator(mode="after")
    def _date_in_year(self):  # type: ignore[no-untyped-def]
        if self.recognised_on is not None and self.recognised_on.year != self.year_recognised:
            raise ValueError("认定日期应在认定年份内")
        return self


class EnterpriseUpdate(BaseModel):
    model_config = _STRICT

    region_code: str | None = Field(default=None, max_length=12)
    tracks: list[Code] | None = Field(default=None, max_length=20)
    year_recognised: Year | None = None
    recognised_on: PlanDate | None = None
    indicators: dict[str, float] | None = None
    note: str | None = Field(default=None, max_length=5000)

    check_indicators = field_validator("indicators")(lambda v: None if v is None else _indicators(v))


class EnterprisePublic(BaseModel):
    id: int
    organisation: OrganisationRef
    region: NamedRef | None
    tracks: list[NamedRef]
    year_recognised: int
    recognised_on: date | None
    indicators: dict[str, float]
    note: str
    created_at: datetime
    modified_at: datetime


class TargetSet(BaseModel):
    model_config = _STRICT

    scope: TargetScope
    scope_code: str = Field(default="", max_length=40, description="设区市的地区代码或赛道代码；全省可不填")
    year: Year
    metric: Metric
    value: int = Field(ge=0, le=1_000_000)


class TargetPublic(BaseModel):
    id: int
    scope: TargetScope
    scope_code: str
    scope_name: str
    year: int
    metric: Metric
    value: int
    modified_at: datetime


class Figure(BaseModel):
    target: int | None
    actual: int
    percent: float | None = Field(description="实际 / 目标 × 100，保留一位小数；无目标时为空")


class ProgressRow(BaseModel):
    code: str
    name: str
    zones: Figure
    projects: Figure
    enterprises: Figure


class TrendPoint(BaseModel):
    month: int
    zones: int
    projects: int
    enterprises: int


class Progress(BaseModel):
    year: int
    as_of: date
    overall: ProgressRow
    cities: list[ProgressRow]
    unassigned: ProgressRow = Field(description="未能归到设区市的条目（省级或地区未填）")
    tracks: list[ProgressRow]
    trend: list[TrendPoint] = Field(description="本年度逐月累计数（截至各月末）")
