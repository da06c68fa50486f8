from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.interests.models import InterestStatus
from backend.kit.params import DbId
from backend.listings.schemas import OrganisationRef

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InterestCreate(BaseModel):
    model_config = _STRICT

    opportunity_id: DbId
    message: str = Field(default="", max_length=1000, description="给发布单位的留言，最多 1000 字")


class DeclineRequest(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=1, max_length=1000, description="婉拒的原因，企业可见")


class OpportunityRef(BaseModel):
    id: int
    title: str
    status: str
    organisation: OrganisationRef


class InterestPublic(BaseModel):
    id: int
    opportunity: OpportunityRef
    organisation: OrganisationRef = Field(description="表达意向的企业")
    message: str
    status: InterestStatus
    status_label: str
    decision_reason: str
    decided_at: datetime | None
    contact: str | None = Field(description="同意引荐后才给出机会的联系方式，否则为 null")
    created_at: datetime
    modified_at: datetime
