from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from backend.answers.models import AnswerStatus, MemberStatus
from backend.kit.files import UploadedFilePublic
from backend.kit.params import DbId

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnswerCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=500, description="摘要，500 字以内")
    solution: str = Field(default="", max_length=50000)
    price_text: str = Field(default="", max_length=100, description="报价/预算估算（原文）")
    price_amount: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999"), description="万元")
    delivery_plan: str = Field(default="", max_length=20000)
    offering_ids: list[DbId] = Field(default_factory=list, max_length=20, description="所依托的产品")
    member_organisation_ids: list[DbId] = Field(
        default_factory=list, max_length=20, description="联合体成员企业；留空为单独答题"
    )


class AnswerUpdate(BaseModel):
    model_config = _STRICT

    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=500)
    solution: str | None = Field(default=None, max_length=50000)
    price_text: str | None = Field(default=None, max_length=100)
    price_amount: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999"))
    delivery_plan: str | None = Field(default=None, max_length=20000)
    offering_ids: list[DbId] | None = Field(default=None, max_length=20)
    member_organisation_ids: list[DbId] | None = Field(default=None, max_length=20)


class MembershipResponse(BaseModel):
    model_config = _STRICT

    accept: bool


class MemberPublic(BaseModel):
    organisation_id: int
    organisation_name: str
    status: MemberStatus


class AttachmentPublic(UploadedFilePublic):
    pass


class ContactPerson(BaseModel):
    """The answerer's person to contact: who wrote the answer for the lead enterprise."""

    name: str
    email: str


class AnswerPublic(BaseModel):
    id: int
    opportunity_id: int
    opportunity_title: str
    lead_organisation_id: int
    lead_organisation_name: str
    title: str
    summary: str
    solution: str
    price_text: str
    price_amount: Decimal | None
    delivery_plan: str
    status: AnswerStatus
    is_consortium: bool
    members: list[MemberPublic]
    offering_ids: list[int]
    attachments: list[AttachmentPublic]
    submitted_at: datetime | None
    receipt_number: str | None = Field(
        default=None, description="回执编号：提交时生成（DT-提交日期-答题编号，北京时间），供答题方留存和查询"
    )
    decided_at: datetime | None
    winner_published: bool
    created_at: datetime
    modified_at: datetime
    contact_person: ContactPerson | None = Field(
        default=None, description="答题方联系人（撰写答题的人）；答题仅答题方、出卷方和撮合专员可见，联系人同样"
    )


class CriterionIn(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=100)
    weight: int = Field(ge=1, le=100)


class CriteriaUpdate(BaseModel):
    model_config = _STRICT

    criteria: list[CriterionIn] = Field(min_length=1, max_length=20)


class CriterionPublic(BaseModel):
    id: int
    name: str
    weight: int


class ReviewerInvite(BaseModel):
    model_config = _STRICT

    user_id: DbId


class ReviewSubmit(BaseModel):
    model_config = _STRICT

    scores: dict[str, int] = Field(description="评审标准 id → 0–100 分")
    comment: str = Field(default="", max_length=2000, description="评语（必填）")


class Recusal(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=1, max_length=2000, description="回避理由（利益冲突）")


class ReviewPublic(BaseModel):
    id: int
    answer_id: int
    reviewer_id: int
    reviewer_name: str
    scores: dict[str, int]
    total: Decimal | None
    comment: str
    recused: bool
    submitted_at: datetime


class AnswerDecision(BaseModel):
    model_config = _STRICT

    status: AnswerStatus = Field(description="shortlisted / selected / not_selected")
    note: str = Field(default="", max_length=2000)


class WinnerPublic(BaseModel):
    answer_id: int
    title: str
    summary: str
    lead_organisation_name: str
    member_organisation_names: list[str]
