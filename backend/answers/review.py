"""Review: weighted criteria, an invited panel from the issuer's organisation, scores with a
required comment, recusal for conflicts of interest, and decisions only once reviews are complete."""

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
from backend.organisations.models import Organisation
from backend.pairings import service as pairings
from backend.pairings.models import PairingSource

# From → the decisions allowed next.
DECISIONS = {
    AnswerStatus.submitted: {AnswerStatus.shortlisted, AnswerStatus.not_selected},
    AnswerStatus.shortlisted: {AnswerStatus.selected, AnswerStatus.not_selected},
}


async def _issuer_opportunity(session: AsyncSession, actor: Actor, opportunity_id: int) -> Opportunity:
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
    await _issuer_opportunity(session, actor, opportunity_id)
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
    opportunity = await _issuer_opportunity(session, actor, opportunity_id)
    user = await session.get(User, user_id)
    if user is None or user.organisation_id != opportunity.organisation_id or not user.is_active:
        raise Unprocessable("评审人必须是本单位的有效账号", field="user_id")
    existing = await session.get(Reviewer, (opportunity_id, user_id))
    if existing is not None:
        return existing
    reviewer = Reviewer(opportunity_id=opportunity_id, user_id=user_id, invited_by_id=actor.user_id)
    session.add(reviewer)
    await session.flush()
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


async def decide(session: AsyncSession, *, actor: Actor, answer_id: int, to: AnswerStatus, note: str = "") -> Answer:
    """Shortlist, select or turn down an answer; a selected answer opens its pairing at 推荐."""
    answer = await session.get(Answer, answer_id)
    if answer is None:
        raise NotFound(NOT_FOUND)
    opportunity = await _issuer_opportunity(session, actor, answer.opportunity_id)
    if answer.submitted_at is None:
        raise NotFound(NOT_FOUND)
    allowed = DECISIONS.get(AnswerStatus(answer.status), set())
    if to not in allowed:
        raise Conflict("该答题当前不能变更为此状态", field="status")
    if not await reviews_complete(session, answer):
        raise Conflict("评审尚未完成：每位评审人都需评分或回避", field="status")
    answer.decided_at = utcnow()
    await _set_status(session, actor, answer, to, note)
    if to == AnswerStatus.selected:
        await pairings.create(
            session,
            actor=actor,
            opportunity_id=opportunity.id,
            organisation_id=answer.lead_organisation_id,
            answer_id=answer.id,
            source=PairingSource.answer,
            note="答题中选，自动创建对接",
            system=True,
        )
    return answer


async def publish_winners(session: AsyncSession, *, actor: Actor, opportunity_id: int) -> list[Answer]:
    """Show the selected answers on the opportunity's public page."""
    await _issuer_opportunity(session, actor, opportunity_id)
    selected = list(
        (
            await session.exec(
                select(Answer).where(Answer.opportunity_id == opportunity_id, Answer.status == AnswerStatus.selected)
            )
        ).all()
    )
    if not selected:
        raise Conflict("还没有中选的答题", field="status")
    for answer in selected:
        answer.winner_published = True
        session.add(answer)
    await session.flush()
    return selected


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
