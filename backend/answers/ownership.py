"""Which answer an enterprise already has for an opportunity (it leads it or takes part in it)."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerMember, MemberStatus
from backend.answers.service import ACTIVE
from backend.auth.actor import Actor


async def own_answer_to(session: AsyncSession, actor: Actor, opportunity_id: int) -> int | None:
    """The answer the actor's enterprise leads or takes part in for this opportunity, if any."""
    active = [s.value for s in ACTIVE]
    lead = (
        await session.exec(
            select(Answer.id).where(
                Answer.opportunity_id == opportunity_id,
                Answer.lead_organisation_id == actor.organisation_id,
                col(Answer.status).in_(active),
            )
        )
    ).first()
    if lead is not None:
        return lead
    return (
        await session.exec(
            select(Answer.id)
            .join(AnswerMember, col(AnswerMember.answer_id) == col(Answer.id))
            .where(
                Answer.opportunity_id == opportunity_id,
                AnswerMember.organisation_id == actor.organisation_id,
                AnswerMember.status != MemberStatus.declined,
                col(Answer.status).in_(active),
            )
        )
    ).first()
