"""What the answering, interest and review features add to a listing's public page.

On an opportunity: the published winners (public), "我要答题" / "我有兴趣" for enterprises with
the state of their answer and interests, and for the issuer and matchmakers a link to the
answers and pending interests. On both kinds: the audit log for the owner and matchmakers."""

from typing import Any

from fastapi import Request
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers import invitations, review
from backend.answers.models import ANSWER_STATUS_LABELS, Answer
from backend.answers.ownership import own_answer_to
from backend.answers.service import deadline_passed
from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.interests import service as interests
from backend.interests.models import INTEREST_STATUS_LABELS, OPEN_STATUSES, Interest, InterestStatus
from backend.kit.pagination import PageParams
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.service import can_see_private_fields
from backend.organisations import service as organisation_service
from web.kit.history import history

NOTICES = {
    "interest": "已表达合作意向，发布单位审批后会通知您。",
    "invited": "已向该企业发送答题邀请，对方会收到带链接的通知。",
    # The matchmaker's verdict on a suggestion returns here (review:decide_match's `next`).
    "accepted": "已采纳，已创建“推荐”阶段的对接。",
    "dismissed": "已忽略，该推荐不会再出现。",
}


async def _enterprise_panel(session: AsyncSession, actor: Actor, listing: Any) -> dict[str, Any]:
    answer_id = await own_answer_to(session, actor, listing.id)
    answer = await session.get(Answer, answer_id) if answer_id else None
    mine, _ = await interests.list_interests(
        session, actor=actor, page=PageParams(page=1, page_size=10), opportunity_id=listing.id
    )
    is_open = listing.status == ListingStatus.published and not deadline_passed(listing)
    pending = await organisation_service.awaiting_approval(session, actor)
    has_open_interest = any(i.status in OPEN_STATUSES for i in mine)
    return {
        "my_answer": {"id": answer.id, "title": answer.title, "label": ANSWER_STATUS_LABELS[answer.status]}
        if answer
        else None,
        "can_answer": is_open and answer is None and pending is None,
        "awaiting_approval": is_open and answer is None and pending is not None,
        "my_interests": [
            {
                "label": INTEREST_STATUS_LABELS[InterestStatus(i.status)],
                "at": i.created_at,
                "reason": i.decision_reason,
                "status": i.status,
            }
            for i in mine
        ],
        "can_express_interest": is_open and not has_open_interest,
    }


async def _issuer_panel(session: AsyncSession, listing: Any) -> dict[str, Any]:
    submitted = (
        await session.exec(
            select(func.count())
            .select_from(Answer)
            .where(Answer.opportunity_id == listing.id, col(Answer.submitted_at).is_not(None))
        )
    ).one()
    pending = (
        await session.exec(
            select(func.count())
            .select_from(Interest)
            .where(Interest.opportunity_id == listing.id, Interest.status == InterestStatus.pending)
        )
    ).one()
    return {
        "submitted_answers": submitted,
        "pending_interests": pending,
        # Recommended enterprises already invited to answer (the matches list says so instead of offering it again).
        "invited_organisations": await invitations.invited_organisations(session, opportunity_id=listing.id),
    }


async def listing_extras(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, listing: Any
) -> dict[str, Any]:
    """Context for `answers/_opportunity_panel.html`, `answers/_winners.html` and `_history.html`."""
    private = can_see_private_fields(actor, listing)
    extras: dict[str, Any] = {
        "audit_log": await history(session, entity_kind=kind.value, entity_id=listing.id) if private else None,
        "winners": [],
        "enterprise_panel": None,
        "issuer_panel": None,
        "extras_notice": NOTICES.get(request.query_params.get("done", "")),
    }
    if kind != ListingKind.opportunity:
        return extras
    extras["winners"] = await review.winners(session, opportunity_id=listing.id)
    if (
        actor.role == Role.enterprise
        and actor.organisation_id is not None
        and not actor.belongs_to(listing.organisation_id)
    ):
        extras["enterprise_panel"] = await _enterprise_panel(session, actor, listing)
    if private:
        extras["issuer_panel"] = await _issuer_panel(session, listing)
    return extras
