from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.kit.files import UploadedFilePublic
from backend.kit.params import DbId
from backend.listings.models import ListingStatus, Maturity

Tag = Annotated[str, Field(min_length=1, max_length=40)]
Code = Annotated[str, Field(min_length=1, max_length=40)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"), decimal_places=2, description="万元")]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _BudgetRange(BaseModel):
    @model_validator(mode="after")
    def _min_not_above_max(self):  # type: ignore[no-untyped-def]
        low, high = getattr(self, "budget_min", None), getattr(self, "budget_max", None)
        if low is not None and high is not None and low > high:
            raise ValueError("预算下限不能高于上限")
        return self


class ListingCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    organisation_id: DbId | None = Field(default=None, description="撮合专员代为填报时必填；其他账号默认为本组织")
    region_code: str | None = Field(default=None, max_length=12)
    place: str = Field(default="", max_length=200, description="地区原文，如“江西省新余市”“四川省成都市”")
    tracks: list[Code] = Field(default_factory=list, max_length=10)
    domains: list[Code] = Field(default_factory=list, max_length=10)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    contact: str = Field(default="", max_length=500)


class OpportunityCreate(ListingCreate, _BudgetRange):
    budget_text: str = Field(default="", max_length=100)
    budget_min: Money | None = None
    budget_max: Money | None = None
    deadline: date | None = None
    requirements: str = Field(default="", max_length=20000)


class OfferingCreate(ListingCreate):
    maturity: Maturity | None = None
    reference_cases: str = Field(default="", max_length=20000)
    certifications: str = Field(default="", max_length=5000)


class ListingUpdate(BaseModel):
    model_config = _STRICT

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    region_code: str | None = Field(default=None, max_length=12)
    place: str | None = Field(default=None, max_length=200)
    tracks: list[Code] | None = Field(default=None, max_length=10)
    domains: list[Code] | None = Field(default=None, max_length=10)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    contact: str | None = Field(default=None, max_length=500)


class OpportunityUpdate(ListingUpdate, _BudgetRange):
    budget_text: str | None = Field(default=None, max_length=100)
    budget_min: Money | None = None
    budget_max: Money | None = None
    deadline: date | None = None
    requirements: str | None = Field(default=None, max_length=20000)


class OfferingUpdate(ListingUpdate):
    maturity: Maturity | None = None
    reference_cases: str | None = Field(default=None, max_length=20000)
    certifications: str | None = Field(default=None, max_length=5000)


class PublishRequest(BaseModel):
    model_config = _STRICT

    batch_number: int | None = Field(default=None, ge=1, le=10000, description="发布到第几批；留空则不归入批次")


class ReturnRequest(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=1, max_length=2000, description="退回修改的原因，出卷方可见")


class OpportunityEditRequest(BaseModel):
    model_config = _STRICT

    changes: OpportunityUpdate = Field(description="要修改的字段（只列出要改的）；批准前已发布版本不变")
    note: str = Field(default="", max_length=2000, description="修改说明，撮合专员可见")


class OfferingEditRequest(BaseModel):
    model_config = _STRICT

    changes: OfferingUpdate = Field(description="要修改的字段（只列出要改的）；批准前已发布版本不变")
    note: str = Field(default="", max_length=2000, description="修改说明，撮合专员可见")


class RevisionDecision(BaseModel):
    model_config = _STRICT

    note: str = Field(default="", max_length=2000, description="审核意见；不批准时必填，发布单位可见")


class RevisionPublic(BaseModel):
    id: int
    kind: Literal["opportunity", "offering"]
    listing_id: int
    changes: dict
    note: str
    status: Literal["pending", "approved", "rejected", "cancelled"]
    decision_note: str
    created_at: datetime
    decided_at: datetime | None


class DeadlineChange(BaseModel):
    model_config = _STRICT

    deadline: date = Field(description="新的答题截止日期（不早于今天）；已有答题（草稿或已提交）的企业会收到通知")
    note: str = Field(default="", max_length=2000, description="调整说明，随通知发给答题企业")


class CloseRequest(BaseModel):
    model_config = _STRICT

    note: str = Field(default="", max_length=2000, description="提前截止的说明，随通知发给答题企业")


class WithdrawRequest(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=1, max_length=2000, description="撤回原因，公开显示在该条目页面上")


class ImportRef(BaseModel):
    id: int
    filename: str
    created_at: datetime


class CodeName(BaseModel):
    code: str
    name: str


class OrganisationRef(BaseModel):
    id: int
    name: str
    kind: str


class ListingPublic(BaseModel):
    id: int
    kind: Literal["opportunity", "offering"]
    title: str
    description: str
    organisation: OrganisationRef
    region: CodeName | None
    place: str
    tracks: list[CodeName]
    domains: list[CodeName]
    tags: list[str]
    status: ListingStatus
    batch: int | None
    contact: str | None = Field(
        description="仅发布单位、撮合专员和管理员可见，以及已获同意引荐的企业（仅该机会）；其他人为 null"
    )
    review_note: str | None
    published_at: datetime | None
    created_at: datetime
    modified_at: datetime
    merged_into_id: int | None = Field(default=None, description="作为重复条目合并到的同类条目 id")
    batch_published: bool = Field(default=False, description="所属批次是否已发布；未发布的批次只有撮合专员看得到")
    withdrawal_reason: str = Field(default="", description="撤回原因（已撤回时公开显示）")
    imported_from: ImportRef | None = Field(
        default=None, description="创建该条目的批量导入（仅发布单位和撮合专员可见）"
    )
    pending_revision_id: int | None = Field(
        default=None, description="待审核的修改申请 id（仅发布单位和撮合专员可见）；批准前公开的仍是已发布版本"
    )


class OpportunityPublic(ListingPublic):
    budget_text: str
    budget_min: Decimal | None
    budget_max: Decimal | None
    deadline: date | None
    requirements: str
    closed_at: datetime | None


class OfferingPublic(ListingPublic):
    maturity: Maturity | None
    reference_cases: str
    certifications: str


class ListingAttachmentPublic(UploadedFilePublic):
    """An attached document or image; `url` downloads it (never shown inline)."""
