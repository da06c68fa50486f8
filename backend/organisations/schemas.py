from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.organisations.credit_code import validate_credit_code
from backend.organisations.models import OrganisationKind, OrganisationStatus


def _credit_code(value: object) -> str | None:
    if not isinstance(value, str):
        if value is None:
            return None
        raise ValueError("统一社会信用代码应为文本")
    if not value.strip():
        return None
    return validate_credit_code(value)


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=60)
    kind: OrganisationKind
    credit_code: str | None = Field(default=None, description="统一社会信用代码（企业必填，按 GB 32100-2015 校验）")
    region_code: str | None = Field(default=None, max_length=12)
    place: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=5000)
    website: str = Field(default="", max_length=300)

    _code = field_validator("credit_code", mode="before")(_credit_code)

    @model_validator(mode="after")
    def _enterprise_needs_code(self) -> "OrganisationCreate":
        if self.kind == OrganisationKind.enterprise and not self.credit_code:
            raise ValueError("企业必须填写统一社会信用代码")
        return self


class OrganisationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    short_name: str | None = Field(default=None, max_length=60)
    credit_code: str | None = None
    region_code: str | None = Field(default=None, max_length=12)
    place: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    website: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=60)
    contact_phone: str | None = Field(default=None, max_length=40)
    qualifications: str | None = Field(default=None, max_length=5000, description="资质与认证")
    reference_cases: str | None = Field(default=None, max_length=5000, description="典型案例")

    _code = field_validator("credit_code", mode="before")(_credit_code)


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    short_name: str
    kind: OrganisationKind
    credit_code: str | None
    region_code: str | None
    place: str
    description: str
    website: str
    contact_name: str = ""
    contact_phone: str = ""
    qualifications: str = ""
    reference_cases: str = ""
    status: OrganisationStatus
    created_at: datetime
