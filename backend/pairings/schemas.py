from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.kit.params import DbId
from backend.pairings.models import PairingSource, PairingStage

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PairingCreate(BaseModel):
    model_config = _STRICT

    opportunity_id: DbId
    offering_id: DbId | None = Field(default=None, description="来自匹配推荐时填写产品")
    organisation_id: DbId | None = Field(default=None, description="不指定产品时填写企业")
    note: str = Field(default="", max_length=2000)


class PairingMove(BaseModel):
    model_config = _STRICT

    stage: PairingStage
    version: int = Field(ge=1, description="读取时的版本号；已被他人更新时返回 409")
    note: str = Field(default="", max_length=2000, description="备注；未达成时必填原因")


class PairingStepPublic(BaseModel):
    from_stage: PairingStage | None
    to_stage: PairingStage
    note: str
    actor_id: int | None
    at: datetime


class PairingPublic(BaseModel):
    id: int
    opportunity_id: int
    opportunity_title: str
    organisation_id: int
    organisation_name: str
    offering_id: int | None
    answer_id: int | None
    source: PairingSource
    stage: PairingStage
    stage_label: str
    decline_reason: str
    version: int
    created_at: datetime
    modified_at: datetime
    steps: list[PairingStepPublic] = []


class PairingBoard(BaseModel):
    counts: dict[str, int]
    items: list[PairingPublic]
