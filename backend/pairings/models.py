"""对接: a curated pairing of an opportunity with an enterprise (and its offering), moved stage by stage."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.kit.db import created_at_field, modified_at_field


class PairingStage(StrEnum):
    recommended = "recommended"
    intent = "intent"
    negotiation = "negotiation"
    pilot = "pilot"
    signed = "signed"
    demonstration = "demonstration"
    declined = "declined"


STAGE_LABELS = {
    PairingStage.recommended: "推荐",
    PairingStage.intent: "意向",
    PairingStage.negotiation: "洽谈",
    PairingStage.pilot: "首试首用/试点",
    PairingStage.signed: "签约",
    PairingStage.demonstration: "示范",
    PairingStage.declined: "未达成",
}

# The pipeline moves one stage at a time; any open pairing may instead be declined.
PIPELINE = [
    PairingStage.recommended,
    PairingStage.intent,
    PairingStage.negotiation,
    PairingStage.pilot,
    PairingStage.signed,
    PairingStage.demonstration,
]


def next_stage(stage: str) -> PairingStage | None:
    if stage not in PIPELINE:
        return None
    index = PIPELINE.index(PairingStage(stage))
    return PIPELINE[index + 1] if index + 1 < len(PIPELINE) else None


class PairingSource(StrEnum):
    match = "match"
    answer = "answer"
    manual = "manual"


class Pairing(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("opportunity_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    offering_id: int | None = Field(default=None, foreign_key="offering.id")
    answer_id: int | None = Field(default=None, foreign_key="answer.id")
    source: str = Field(default=PairingSource.manual, max_length=20)
    stage: str = Field(default=PairingStage.recommended, max_length=20, index=True)
    decline_reason: str = Field(default="", max_length=2000)
    # Optimistic locking: an update names the version it read; a stale one gets 409.
    version: int = Field(default=1)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
    modified_at: datetime = modified_at_field()


class PairingStep(SQLModel, table=True):
    __tablename__ = "pairing_step"

    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True, ondelete="CASCADE")
    from_stage: str | None = Field(default=None, max_length=20)
    to_stage: str = Field(max_length=20)
    note: str = Field(default="", max_length=2000)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = created_at_field()
