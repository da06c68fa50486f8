"""十百千: demonstration zones (示范区), demonstration projects (示范项目), high-growth enterprises
(高成长性企业), and the targets the province measures them against."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import JSON, Field, SQLModel

from backend.kit.db import created_at_field, json_list_field, modified_at_field
from backend.kit.files import UploadedFile


class ProjectStatus(StrEnum):
    applied = "applied"
    selected = "selected"
    building = "building"
    accepted = "accepted"
    promoted = "promoted"


PROJECT_STATUS_LABELS = {
    ProjectStatus.applied: "申报",
    ProjectStatus.selected: "入选",
    ProjectStatus.building: "建设中",
    ProjectStatus.accepted: "验收",
    ProjectStatus.promoted: "推广",
}

# A project moves one step at a time; from 入选 on it counts towards the plan.
PROJECT_PIPELINE = list(ProjectStatus)
COUNTED_STATUSES = tuple(PROJECT_PIPELINE[1:])


def next_status(status: str) -> ProjectStatus | None:
    index = PROJECT_PIPELINE.index(ProjectStatus(status))
    return PROJECT_PIPELINE[index + 1] if index + 1 < len(PROJECT_PIPELINE) else None


class TargetScope(StrEnum):
    province = "province"
    city = "city"
    track = "track"


TARGET_SCOPE_LABELS = {TargetScope.province: "全省", TargetScope.city: "设区市", TargetScope.track: "赛道"}


class Metric(StrEnum):
    zones = "zones"
    projects = "projects"
    enterprises = "enterprises"


METRIC_LABELS = {Metric.zones: "示范区", Metric.projects: "示范项目", Metric.enterprises: "高成长性企业"}


class DemoZone(SQLModel, table=True):
    __tablename__ = "demo_zone"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    region_code: str = Field(foreign_key="region.code", max_length=12, index=True)
    track_codes: list[str] = json_list_field()
    lead_organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    description: str = ""
    # The date the zone counts from in the progress figures (批复/认定日期).
    designated_on: date
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class DemoProject(SQLModel, table=True):
    __tablename__ = "demo_project"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    summary: str = ""
    zone_id: int | None = Field(default=None, foreign_key="demo_zone.id", index=True)
    opportunity_id: int | None = Field(default=None, foreign_key="opportunity.id", index=True)
    # One project per pairing: the pairing that reached 示范 and produced it.
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id", unique=True)
    region_code: str | None = Field(default=None, foreign_key="region.code", max_length=12, index=True)
    track_codes: list[str] = json_list_field()
    status: str = Field(default=ProjectStatus.applied, max_length=20, index=True)
    # Set when the project enters 入选: the date it counts from in the progress figures.
    selected_on: date | None = None
    investment_wan: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    output_value_wan: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    outcome: str = ""
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class DemoProjectEnterprise(SQLModel, table=True):
    __tablename__ = "demo_project_enterprise"

    project_id: int = Field(foreign_key="demo_project.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, index=True)
    position: int = 0


class Milestone(SQLModel, table=True):
    __tablename__ = "demo_milestone"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="demo_project.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=200)
    due_on: date | None = None
    done_on: date | None = None
    note: str = ""
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()


class MilestoneEvidence(UploadedFile, table=True):
    """A file stored outside the web root under `storage_key`; served only to those who may read the project."""

    __tablename__ = "demo_milestone_evidence"

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="demo_milestone.id", index=True, ondelete="CASCADE")


class GrowthEnterprise(SQLModel, table=True):
    __tablename__ = "growth_enterprise"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", unique=True)
    region_code: str | None = Field(default=None, foreign_key="region.code", max_length=12, index=True)
    track_codes: list[str] = json_list_field()
    year_recognised: int
    # Optional exact date; without it the enterprise counts from 1 January of its year.
    recognised_on: date | None = None
    # Indicator name (with its unit) → value, e.g. {"营业收入增速(%)": 35}.
    indicators: dict[str, float] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    note: str = ""
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class Target(SQLModel, table=True):
    """A cumulative goal for the end of `year`: province-wide, for one city, or for one track."""

    __tablename__ = "demo_target"
    __table_args__ = (
        UniqueConstraint("scope", "scope_code", "year", "metric", name="uq_demo_target_scope_year_metric"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=20)
    # The region code for a city, the track code for a track, "360000" for the province.
    scope_code: str = Field(max_length=40)
    year: int = Field(index=True)
    metric: str = Field(max_length=20)
    value: int
    modified_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    modified_at: datetime = modified_at_field()
