"""Who may read and change an answer (confidentiality lives here).

- Its lead enterprise and the consortium members that have not declined read it at every stage.
- The opportunity's issuer reads it once it has been submitted, never a draft.
- Matchmakers and admins read every answer.
- Only the lead enterprise changes it. An answer the actor may not read is missing, not forbidden.
"""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerMember, MemberStatus
from backend.audit import visibility
from backend.auth.actor import Actor, require_signed_in
from backend.kit.errors import NotFound
from backend.listings.models import Opportunity

NOT_FOUND = "答题不存在"


async def members_of(session: AsyncSession, answer_ids: Sequence[int]) -> dict[int, list[AnswerMember]]:
    out: dict[int, list[AnswerMember]] = {i: [] for i in answer_ids}
    if answer_ids:
        for member in (
            await session.exec(select(AnswerMember).where(col(AnswerMember.answer_id).in_(list(answer_ids))))
        ).all():
            out[member.answer_id].append(member)
    return out


def is_party(actor: Actor, answer: Answer, members: Sequence[AnswerMember]) -> bool:
    """The lead enterprise or a member that has not declined."""
    if actor.organisation_id is None:
        return False
    if actor.organisation_id == answer.lead_organisation_id:
        return True
    return any(m.organisation_id == actor.organisation_id and m.status != MemberStatus.declined for m in members)


def can_read(actor: Actor, answer: Answer, opportunity: Opportunity, members: Sequence[AnswerMember]) -> bool:
    if actor.is_staff or is_party(actor, answer, members):
        return True
    # The issuer sees answers once they have been submitted, never drafts.
    return actor.belongs_to(opportunity.organisation_id) and answer.submitted_at is not None


def can_edit(actor: Actor, answer: Answer) -> bool:
    """Only the lead enterprise changes its answer (the service adds the rules of each stage)."""
    return actor.organisation_id is not None and actor.organisation_id == answer.lead_organisation_id


async def get_readable(
    session: AsyncSession, *, actor: Actor, id: int
) -> tuple[Answer, Opportunity, list[AnswerMember]]:
    """The answer, its opportunity and its members, if the actor may read it; else 404 (401 for visitors)."""
    require_signed_in(actor)
    answer = await session.get(Answer, id)
    if answer is None:
        raise NotFound(NOT_FOUND)
    opportunity = await session.get(Opportunity, answer.opportunity_id)
    members = (await members_of(session, [id]))[id]
    if opportunity is None or not can_read(actor, answer, opportunity, members):
        raise NotFound(NOT_FOUND)
    return answer, opportunity, members


@visibility.register("answer")
async def _history_readable(session: AsyncSession, actor: Actor, entity_id: int) -> None:
    await get_readable(session, actor=actor, id=entity_id)
