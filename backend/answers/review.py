"""Review: weighted criteria, an invited panel from the issuer's organisation, scores with a
required comment, recusal for conflicts of interest, and decisions only once reviews are complete.

A decision needs criteria, at least one reviewer, and every reviewer to have scored or recused;
`why_not_decidable` says which is missing, so the pages can disable the buttons and say why.
The answering enterprises (lead and members) are told of every decision, with the issuer's note
as the reason. A selected answer joins the pairing of its opportunity and enterprise (creating it
if needed); the result is then published for 公示 by `backend/results`.
"""

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerMember, AnswerStatus, MemberStatus, Review, ReviewCriterion, Reviewer
from backend.answers.permissions import NOT_FOUND, get_readable, members_of
from backend.answers.service import _set_status
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role, User
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.listings.models import Opportunity
from backend.notifications import service as notifications
from backend.organisations.models import Organisation
from backend.pairings import service as pairings

# From → the decisions allowed next.
DECISIONS = {
    AnswerStatus.submitted: {AnswerStatus.shortlisted, AnswerStatus.not_selected},
    AnswerStatus.shortlisted: {AnswerStatus.selected, AnswerStatus.not_selected},
}


async def issuer_opportunity(session: AsyncSession, actor: Actor, opportunity_id: int) -> Opportunity:
    """The opportunity, if the actor is an issuer of its organisation (or staff)."""
    require_signed_in(actor)
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None or not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        raise NotFound("机会不存在")
    if not actor.is_staff and actor.role != Role.issuer:
        raise Forbidden("只有出卷方可以管理评审")
    return opportunity


async def criteria(session: AsyncSession, *, opportunity_id: int) -> list[ReviewCriterion]:
    return list(
        (
            await session.exec(
                select(ReviewCriterion)
                .where(ReviewCriterion.opportunity_id == opportunity_id)
                .order_by(col(ReviewCriterion.position))
            )
        ).all()
    )


async def set_criteria(
    session: AsyncSession, *, actor: Actor, opportunity_id: int, items: list[tuple[str, int]]
) -> list[ReviewCriterion]:
    """Replace the weighted criteria; refused once any answer to the opportunity has been scored."""
    await issuer_opportunity(session, actor, opportunity_id)
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise Unprocessable("评审标准名称不能重复", field="criteria")
    scored = await session.exec(
        select(Review.id)
        .join(Answer, col(Answer.id) == col(Review.answer_id))
        .where(Answer.opportunity_id == opportunity_id)
        .limit(1)
    )
    if scored.first() is not None:
        raise Conflict("已有评分，评审标准不能再修改", field="criteria")
    await session.exec(delete(ReviewCriterion).where(col(ReviewCriterion.opportunity_id) == opportunity_id))  # type: ignore[call-overload]
    rows = [
        ReviewCriterion(opportunity_id=opportunity_id, name=name, weight=weight, position=i)
        for i, (name, weight) in enumerate(items)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def reviewers(session: AsyncSession, *, opportunity_id: int) -> list[tuple[Reviewer, User]]:
    rows = await session.exec(
        select(Reviewer, User)
        .join(User, col(User.id) == col(Reviewer.user_id))
        .where(Reviewer.opportunity_id == opportunity_id)
    )
    return list(rows.all())


async def invite(session: AsyncSession, *, actor: Actor, opportunity_id: int, user_id: int) -> Reviewer:
    """Add a reviewer from the issuer's own organisation."""
    opportunity = await issuer_opportunity(session, actor, opportunity_id)
    user = await session.get(User, user_id)
    if user is None or user.organisation_id != opportunity.organisation_id or not user.is_active:
        raise Unprocessable("评审人必须是本单位的有效账号", field="user_id")
    existing = await session.get(Reviewer, (opportunity_id, user_id))
    if existing is not None:
        return existing
    reviewer = Reviewer(opportunity_id=opportunity_id, user_id=user_id, invited_by_id=actor.user_id)
    session.add(reviewer)
    await session.flush()
    await notifications.notify(
        session,
        user_ids=[user_id],
        kind="reviewer_assigned",
        title=f"请评审答题：{opportunity.title}",
        body=f"您被邀请担任机会“{opportunity.title}”的评审人：请为每份答题评分，有利益关系时回避。",
        link=f"/opportunities/{opportunity_id}/answers",
    )
    return reviewer


async def _reviewable(session: AsyncSession, actor: Actor, answer_id: int) -> tuple[Answer, Opportunity]:
    answer, opportunity, _ = await get_readable(session, actor=actor, id=answer_id)
    if await session.get(Reviewer, (opportunity.id, actor.user_id)) is None:
        raise Forbidden("您不是该机会的评审人")
    if answer.status not in (AnswerStatus.submitted, AnswerStatus.shortlisted):
        raise Conflict("该答题当前不在评审阶段", field="status")
    return answer, opportunity


async def _conflicted(session: AsyncSession, actor: Actor, answer: Answer) -> bool:
    """A reviewer whose own organisation is a party to the answer must recuse."""
    members = (await members_of(session, [answer.id]))[answer.id]
    parties = {answer.lead_organisation_id, *(m.organisation_id for m in members if m.status != MemberStatus.declined)}
    return actor.organisation_id in parties


async def _upsert_review(session: AsyncSession, answer_id: int, reviewer_id: int) -> Review:
    review = (
        await session.exec(select(Review).where(Review.answer_id == answer_id, Review.reviewer_id == reviewer_id))
    ).first()
    return review or Review(answer_id=answer_id, reviewer_id=reviewer_id)


async def score(session: AsyncSession, *, actor: Actor, answer_id: int, scores: dict[str, int], comment: str) -> Review:
    """Score every criterion 0–100 with a comment; the weighted total is kept with the review."""
    answer, opportunity = await _reviewable(session, actor, answer_id)
    if await _conflicted(session, actor, answer):
        raise Conflict("您与该答题存在利益关系，请回避", field="reviewer")
    if not comment.strip():
        raise Unprocessable("评分必须填写评语", field="comment")
    items = await criteria(session, opportunity_id=opportunity.id)
    if not items:
        raise Conflict("出卷方尚未设置评审标准", field="criteria")
    expected = {str(c.id) for c in items}
    if set(scores) != expected:
        raise Unprocessable("请为每一项评审标准打分", field="scores")
    if any(not 0 <= value <= 100 for value in scores.values()):
        raise Unprocessable("分数必须在 0 到 100 之间", field="scores")
    weights = sum(c.weight for c in items)
    total = Decimal(sum(scores[str(c.id)] * c.weight for c in items)) / Decimal(weights)
    review = await _upsert_review(session, answer.id, actor.user_id)
    review.scores = dict(scores)
    review.total = total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    review.comment = comment.strip()
    review.recused = False
    review.submitted_at = utcnow()
    session.add(review)
    await session.flush()
    return review


async def recuse(session: AsyncSession, *, actor: Actor, answer_id: int, reason: str) -> Review:
    """Step aside for a conflict of interest; the panel is complete without this reviewer."""
    answer, _ = await _reviewable(session, actor, answer_id)
    review = await _upsert_review(session, answer.id, actor.user_id)
    review.scores = {}
    review.total = None
    review.comment = reason.strip()
    review.recused = True
    review.submitted_at = utcnow()
    session.add(review)
    await session.flush()
    return review


async def reviews_of(session: AsyncSession, *, answer_id: int) -> list[tuple[Review, User]]:
    rows = await session.exec(
        select(Review, User)
        .join(User, col(User.id) == col(Review.reviewer_id))
        .where(Review.answer_id == answer_id)
        .order_by(col(Review.id))
    )
    return list(rows.all())


async def list_reviews(session: AsyncSession, *, actor: Actor, answer_id: int) -> list[tuple[Review, User]]:
    """Scores are for the issuer's organisation and matchmakers, not for the answering enterprises."""
    answer, opportunity, _ = await get_readable(session, actor=actor, id=answer_id)
    if not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        raise Forbidden("评审意见仅出卷方和撮合专员可见")
    return await reviews_of(session, answer_id=answer.id)


async def reviews_complete(session: AsyncSession, answer: Answer) -> bool:
    """Every invited reviewer has scored or recused, and at least one has scored."""
    panel = {r.user_id for r, _ in await reviewers(session, opportunity_id=answer.opportunity_id)}
    done = {review.reviewer_id: review for review, _ in await reviews_of(session, answer_id=answer.id)}
    if not panel or not panel <= set(done):
        return False
    return any(not done[user_id].recused for user_id in panel)


async def why_not_decidable(session: AsyncSession, answer: Answer) -> str | None:
    """None when a decision may be made, else what the issuer must do first (the page shows it)."""
    if not await criteria(session, opportunity_id=answer.opportunity_id):
        return "请先设置评审标准，再邀请评审人评分"
    panel = {r.user_id for r, _ in await reviewers(session, opportunity_id=answer.opportunity_id)}
    if not panel:
        return "请先邀请评审人（本单位人员），评审人评分后才能作出结论"
    if not await reviews_complete(session, answer):
        done = {r.reviewer_id for r, _ in await reviews_of(session, answer_id=answer.id or 0)} & panel
        return f"评审尚未完成：每位评审人都需评分或回避（已完成 {len(done)} / {len(panel)}）"
    return None


async def decide(session: AsyncSession, *, actor: Actor, answer_id: int, to: AnswerStatus, note: str = "") -> Answer:
    """Shortlist, select or turn down an answer; a selected answer opens its pairing at 推荐."""
    answer = await session.get(Answer, answer_id)
    if answer is None:
        raise NotFound(NOT_FOUND)
    opportunity = await issuer_opportunity(session, actor, answer.opportunity_id)
    if answer.submitted_at is None:
        raise NotFound(NOT_FOUND)
    allowed = DECISIONS.get(AnswerStatus(answer.status), set())
    if to not in allowed:
        raise Conflict("该答题当前不能变更为此状态", field="status")
    problem = await why_not_decidable(session, answer)
    if problem:
        raise Conflict(problem, field="status")
    answer.decided_at = utcnow()
    await _set_status(session, actor, answer, to, note)
    if to == AnswerStatus.selected:
        # Joins the pairing an accepted match may already have opened (never "already exists").
        await pairings.open_for_answer(
            session,
            actor=actor,
            opportunity_id=opportunity.id,
            organisation_id=answer.lead_organisation_id,
            answer_id=answer.id,
        )
    await tell_answerers(session, answer, opportunity, to, note)
    return answer


DECISION_NOTICES = {
    AnswerStatus.shortlisted: ("answer_shortlisted", "您的答题已入围", "已入围，出卷方将继续评审并确定中选结果。"),
    AnswerStatus.selected: (
        "answer_selected",
        "您的答题已中选",
        "已中选。出卷方公布结果后进入公示期，期满无异议即生效。",
    ),
    AnswerStatus.not_selected: ("answer_not_selected", "您的答题未中选", "未中选，感谢参与。"),
}


async def party_user_ids(session: AsyncSession, answer: Answer) -> list[int]:
    """Everyone of the lead enterprise and of the members that have not declined."""
    members = (await members_of(session, [answer.id]))[answer.id]
    organisations = [answer.lead_organisation_id] + [
        m.organisation_id for m in members if m.status != MemberStatus.declined
    ]
    out: list[int] = []
    for organisation_id in organisations:
        out += await notifications.organisation_user_ids(session, organisation_id)
    return out


async def tell_answerers(
    session: AsyncSession, answer: Answer, opportunity: Opportunity, to: AnswerStatus, note: str = ""
) -> None:
    """The answering enterprise(s) hear of a decision, with the issuer's reason when one was given."""
    kind, title, text = DECISION_NOTICES[to]
    reason = f"\n出卷方说明：{note.strip()}" if note.strip() else ""
    await notifications.notify(
        session,
        user_ids=await party_user_ids(session, answer),
        kind=kind,
        title=f"{title}：{opportunity.title}",
        body=f"您对机会“{opportunity.title}”的答题“{answer.title}”{text}{reason}",
        link=f"/answers/{answer.id}",
    )


async def winners(session: AsyncSession, *, opportunity_id: int) -> list[tuple[Answer, str, list[str]]]:
    """Published winners with the lead's and members' names: the only part of answers that is public."""
    rows = (
        await session.exec(
            select(Answer, Organisation.name)
            .join(Organisation, col(Organisation.id) == col(Answer.lead_organisation_id))
            .where(
                Answer.opportunity_id == opportunity_id,
                col(Answer.winner_published).is_(True),
                Answer.status == AnswerStatus.selected,
            )
        )
    ).all()
    out = []
    for answer, lead_name in rows:
        member_names = (
            await session.exec(
                select(Organisation.name)
                .join(AnswerMember, col(AnswerMember.organisation_id) == col(Organisation.id))
                .where(AnswerMember.answer_id == answer.id, AnswerMember.status == MemberStatus.confirmed)
            )
        ).all()
        out.append((answer, lead_name, list(member_names)))
    return out
