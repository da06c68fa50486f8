"""Answerers hear of changes to the opportunity they answer (registered on `listings.hooks.opportunity_changed`).

"Answerers" are the enterprises with a draft or submitted answer: the lead organisation's people
and, for a consortium, the people of every member that has not declined. Answers already decided
(shortlisted, selected, not selected) or withdrawn are not told: the change does not concern them.
"""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerMember, AnswerStatus, MemberStatus
from backend.auth.models import User
from backend.listings import hooks
from backend.listings.models import Opportunity
from backend.notifications.service import notify

ANSWERING = (AnswerStatus.draft, AnswerStatus.submitted)


async def answerer_user_ids(session: AsyncSession, opportunity_id: int) -> list[int]:
    """The active people of every organisation with a draft or submitted answer to the opportunity."""
    answers = select(Answer.id).where(
        Answer.opportunity_id == opportunity_id, col(Answer.status).in_([s.value for s in ANSWERING])
    )
    leads = select(Answer.lead_organisation_id).where(col(Answer.id).in_(answers))
    members = select(AnswerMember.organisation_id).where(
        col(AnswerMember.answer_id).in_(answers), AnswerMember.status != MemberStatus.declined
    )
    rows = await session.exec(
        select(User.id)
        .where(
            col(User.is_active),
            col(User.organisation_id).in_(leads) | col(User.organisation_id).in_(members),
        )
        .order_by(col(User.id))
    )
    return [i for i in rows.all() if i is not None]


@hooks.opportunity_changed.register
async def _tell_answerers(session: AsyncSession, opportunity: Opportunity, change: str, message: str) -> None:
    assert opportunity.id is not None
    titles = {"deadline_changed": "答题截止日期变更", "opportunity_closed": "机会已截止或撤回"}
    await notify(
        session,
        user_ids=await answerer_user_ids(session, opportunity.id),
        kind=change,
        title=f"{titles.get(change, '机会有变更')}：{opportunity.title}",
        body=message,
        link=f"/opportunities/{opportunity.id}",
    )
