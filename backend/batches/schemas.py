from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BatchRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    published_at: datetime | None = Field(description="发布第N批的时刻；为空表示本批尚未发布")


class ChangeItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal["opportunity", "offering"]
    id: int
    title: str
    organisation: str
    status: str
    batch: int | None = Field(description="该条目所属的批次号")
    at: datetime | None = Field(description="新增：发布时间；变更：最后一次变更时间；撤回：截止或撤回时间")
    changed_fields: list[str] = Field(description="变更的字段名；merged 表示并入了重复条目，republished 表示重新发布")
    merged_into_id: int | None = Field(description="已合并到的同类条目 id")


class BatchChangesPublic(BaseModel):
    batch: BatchRef
    previous: int | None = Field(description="用于比较的上一批批次号")
    start: datetime | None = Field(description="比较区间起点（不含）：上一批的发布时刻")
    end: datetime | None = Field(description="比较区间终点（含）：本批的发布时刻；为空表示至今")
    added: list[ChangeItemPublic]
    changed: list[ChangeItemPublic]
    withdrawn: list[ChangeItemPublic]


class BatchSummaryPublic(BaseModel):
    batch: BatchRef
    added: int
    changed: int
    withdrawn: int
