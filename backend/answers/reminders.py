"""Reminders before an answer deadline: an enterprise with a draft answer hears once per deadline.

An opportunity's draft answers are reminded when the deadline (the last day answers are
accepted, China time) is at most DAYS_BEFORE days away. The reminder is keyed by the answer
and the deadline, so it is sent once, and once more if the issuer moves the deadline.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerStatus
from backend.kit.db import utcnow
from backend.listings.models import ListingStatus, Opportunity
from backend.notifications import mail
from backend.notifications import service as notifications
from backend.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")
DAYS_BEFORE = 3


async def remind_deadlines(session: AsyncSession, *, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the due reminders; returns how many answers were reminded."""
    today: date = (now or utcnow()).astimezone(CHINA).date()
    rows = (
        await session.exec(
            select(Answer, Opportunity)
            .join(Opportunity, col(Opportunity.id) == col(Answer.opportunity_id))
            .where(
                Answer.status == AnswerStatus.draft,
                Opportunity.status == ListingStatus.published,
                col(Opportunity.deadline).is_not(None),
                col(Opportunity.deadline) >= today,
                col(Opportunity.deadline) <= today + timedelta(days=DAYS_BEFORE),
            )
            .order_by(col(Answer.id))
            .limit(limit)
        )
    ).all()
    sent = 0
    for answer, opportunity in rows:
        assert opportunity.deadline is not None
        if not await notifications.claim_reminder(session, f"answer_deadline:{answer.id}:{opportunity.deadline}"):
            continue
        left = (opportunity.deadline - today).days
        when = "今天" if left == 0 else f"{left} 天后"
        await notifications.notify(
            session,
            user_ids=await notifications.organisation_user_ids(session, answer.lead_organisation_id),
            kind="answer_deadline_reminder",
            title=f"答题即将截止：{opportunity.title}",
            body=(
                f"机会“{opportunity.title}”的答题将于{when}（{opportunity.deadline:%Y年%m月%d日}）截止，"
                f"贵企业的答题“{answer.title}”还是草稿，截止前提交才有效。"
            ),
            link=f"/answers/{answer.id}",
        )
        sent += 1
    return sent


@mail.periodic_jobs.register
async def _remind_with_the_mail_worker(session: AsyncSession, settings: Settings) -> int:
    return await remind_deadlines(session)
