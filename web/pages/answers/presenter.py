"""One answer's page, as each reader may see it.

The enterprise(s) see their answer, its attachments and their actions (edit, upload, submit,
withdraw, confirm membership); the issuer's organisation and matchmakers also see the reviews
and the decision buttons; an invited reviewer sees the scoring form. Anyone else is told the
answer does not exist (the service decides).
"""

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers import review, service
from backend.answers.models import ANSWER_STATUS_LABELS, AnswerStatus, MemberStatus, Reviewer
from backend.answers.presenter import present_answers
from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.listings.models import Offering
from web.kit.history import history
from web.kit.templating import render

MEMBER_STATUS_LABELS = {
    MemberStatus.pending: "待确认",
    MemberStatus.confirmed: "已确认",
    MemberStatus.declined: "已拒绝",
}
DECISION_LABELS = {AnswerStatus.shortlisted: "入围", AnswerStatus.selected: "中选", AnswerStatus.not_selected: "未中选"}
NOTICES = {
    "created": "草稿已保存。可以继续上传附件；确认无误后点击“提交答题”。",
    "updated": "修改已保存。",
    "submitted": "答题已提交，回执编号 {receipt}。出卷方将进行评审，请保存回执编号备查。",
    "withdrawn": "答题已撤回。",
    "uploaded": "附件已上传。",
    "removed": "附件已删除。",
    "confirmed": "已确认参与该联合体答题。",
    "invited": "邀请已发送。对方创建账号、入驻申请通过后即可确认参与。",
    "reviewed": "评分已保存。",
    "recused": "已回避，该答题的评审不再等待您的评分。",
    "decided": "评审结论已保存。",
}


async def review_context(session: AsyncSession, actor: Actor, answer: Any, opportunity: Any) -> dict[str, Any]:
    """What the issuer's side sees: criteria, the panel's reviews, the reader's own scoring form, decisions."""
    issuer_side = actor.is_staff or actor.belongs_to(opportunity.organisation_id)
    if not issuer_side:
        return {
            "issuer_side": False,
            "is_reviewer": False,
            "criteria": [],
            "reviews": [],
            "my_review": None,
            "decisions": [],
            "reviews_complete": False,
            "decision_blocked": None,
            "panel_size": 0,
        }
    criteria = await review.criteria(session, opportunity_id=opportunity.id)
    reviews = await review.reviews_of(session, answer_id=answer.id)
    panel = await review.reviewers(session, opportunity_id=opportunity.id)
    is_reviewer = actor.user_id is not None and await session.get(Reviewer, (opportunity.id, actor.user_id)) is not None
    my_review = next((r for r, _ in reviews if r.reviewer_id == actor.user_id), None)
    can_decide = actor.is_staff or actor.role == Role.issuer
    allowed = review.DECISIONS.get(AnswerStatus(answer.status), set()) if can_decide else set()
    return {
        "issuer_side": True,
        "is_reviewer": is_reviewer and answer.status in (AnswerStatus.submitted, AnswerStatus.shortlisted),
        "criteria": criteria,
        "criterion_names": {str(c.id): c.name for c in criteria},
        "reviews": reviews,
        "my_review": my_review,
        "decisions": [(s.value, DECISION_LABELS[s]) for s in DECISION_LABELS if s in allowed],
        "reviews_complete": await review.reviews_complete(session, answer),
        # Why the decision buttons cannot be used yet, in words, with the page that fixes it.
        "decision_blocked": await review.why_not_decidable(session, answer) if allowed else None,
        "panel_size": len(panel),
    }


async def answer_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    answer_id: int,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    answer, opportunity, members = await service.load_readable(session, actor=actor, answer_id=answer_id)
    item = (await present_answers(session, [answer]))[0]
    offerings = []
    if item.offering_ids:
        rows = await session.exec(select(Offering.id, Offering.title).where(col(Offering.id).in_(item.offering_ids)))
        offerings = list(rows.all())
    membership = next((m for m in members if m.organisation_id == actor.organisation_id), None)
    is_lead = actor.organisation_id is not None and actor.organisation_id == answer.lead_organisation_id
    context = {
        "item": item,
        "opportunity": opportunity,
        "offerings": offerings,
        "is_lead": is_lead,
        "is_draft": answer.status == AnswerStatus.draft,
        "can_withdraw": is_lead
        and answer.status in (AnswerStatus.draft, AnswerStatus.submitted)
        and not service.deadline_passed(opportunity),
        "deadline_passed": service.deadline_passed(opportunity),
        "pending_membership": membership is not None
        and membership.status == MemberStatus.pending
        and answer.status == AnswerStatus.draft,
        "status_labels": {k.value: v for k, v in ANSWER_STATUS_LABELS.items()},
        "member_labels": {k.value: v for k, v in MEMBER_STATUS_LABELS.items()},
        "history": await history(session, entity_kind="answer", entity_id=answer.id),
        "notice": NOTICES.get(request.query_params.get("done", ""), "").format(receipt=item.receipt_number or "")
        or None,
        "error": error,
        "errors": errors or {},
        "values": values or {},
        **await review_context(session, actor, answer, opportunity),
    }
    return render(request, "answers/detail.html", context, status=status)
