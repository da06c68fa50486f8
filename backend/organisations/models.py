"""Organisations: departments, cities, state-owned enterprises, enterprises and labs."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field, modified_at_field


class OrganisationKind(StrEnum):
    government = "government"
    city = "city"
    soe = "soe"
    enterprise = "enterprise"
    lab = "lab"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.government: "政府部门",
    OrganisationKind.city: "设区市",
    OrganisationKind.soe: "国有企业",
    OrganisationKind.enterprise: "企业",
    OrganisationKind.lab: "实验室/科研机构",
}


class OrganisationStatus(StrEnum):
    active = "active"
    # Registered by itself and waiting for a matchmaker's approval: can keep drafts, cannot submit or answer.
    pending = "pending"
    withdrawn = "withdrawn"


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    short_name: str = Field(default="", max_length=60)
    kind: str = Field(max_length=20, index=True)
    credit_code: str | None = Field(default=None, max_length=18, unique=True)
    region_code: str | None = Field(default=None, foreign_key="region.code", max_length=12)
    place: str = Field(default="", max_length=200)
    description: str = ""
    website: str = Field(default="", max_length=300)
    # The verified profile answers and offerings reuse instead of retyping it.
    contact_name: str = Field(default="", max_length=60)
    contact_phone: str = Field(default="", max_length=40)
    qualifications: str = ""
    reference_cases: str = ""
    status: str = Field(default=OrganisationStatus.active, max_length=20)
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()
