"""合作意向 pages: an enterprise's "我有兴趣" with a message, the state of its interests, and the
issuer's (or a matchmaker's) approval — which releases the contact — or decline with a reason."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.dependencies import SessionDep, SignedInDep
from backend.interests import service
from backend.interests.models import INTEREST_STATUS_LABELS, InterestStatus
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath
from backend.listings import service as listings
from backend.listings.models import ListingKind
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, safe_next, see_other
from web.kit.forms import text
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

NOTICES = {
    "approved": "已同意引荐，企业现在可以看到联系方式。",
    "declined": "已婉拒，企业会看到您填写的原因。",
    "withdrawn": "意向已撤回。",
}
STATUS_FILTERS = {"pending": "待审批", "approved": "已同意引荐", "declined": "已婉拒", "withdrawn": "已撤回"}


async def _express_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    opportunity_id: int,
    *,
    message: str,
    error: str | None,
    status: int,
) -> Response:
    opportunity = await listings.get_visible(
        session, actor=actor, kind=ListingKind.opportunity, listing_id=opportunity_id
    )
    context = {"opportunity": opportunity, "message": message, "error": error}
    return render(request, "interests/express.html", context, status=status)


@router.get("/opportunities/{opportunity_id}/interest", name="interests:interest_form")
async def interest_form(opportunity_id: IdPath, request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await _express_page(request, session, actor, opportunity_id, message="", error=None, status=200)


@router.post("/opportunities/{opportunity_id}/interest", name="interests:express_interest")
async def express_interest(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """我有兴趣: one open interest per enterprise and opportunity; the issuer is notified."""
    message = text(form, "message", 5000)
    if len(message) > 1000:
        return await _express_page(
            request, session, actor, opportunity_id, message=message, error="留言最多 1000 字", status=422
        )
    _done, refused = await attempt(
        session, lambda: service.express(session, actor=actor, opportunity_id=opportunity_id, message=message)
    )
    if refused is not None:
        return await _express_page(
            request, session, actor, opportunity_id, message=message, error=refused.detail, status=refused.status_code
        )
    return see_other(url_to(request, "listings:opportunity_detail", listing_id=opportunity_id) + "?done=interest")


async def interests_page(
    request: Request, session: AsyncSession, actor: Actor, *, error: str | None = None, status: int = 200
) -> Response:
    wanted = request.query_params.get("status", "")
    statuses = (InterestStatus(wanted),) if wanted in STATUS_FILTERS else ()
    rows, total = await service.list_interests(
        session, actor=actor, page=PageParams(page=1, page_size=100), statuses=statuses
    )
    opportunities, organisations = await service.load_for_presenting(session, rows)
    items: list[dict[str, Any]] = []
    for interest in rows:
        opportunity = opportunities[interest.opportunity_id]
        items.append(
            {
                "interest": interest,
                "opportunity": opportunity,
                "enterprise": organisations[interest.organisation_id].name,
                "issuer": organisations[opportunity.organisation_id].name,
                "label": INTEREST_STATUS_LABELS[InterestStatus(interest.status)],
                "ours": actor.belongs_to(interest.organisation_id),
                "can_decide": interest.status == InterestStatus.pending
                and (actor.is_staff or actor.belongs_to(opportunity.organisation_id)),
                # Released to everyone who sees the interest once the introduction is approved.
                "contact": opportunity.contact if interest.status == InterestStatus.approved else None,
            }
        )
    context = {
        "items": items,
        "total": total,
        "filters": STATUS_FILTERS,
        "current": wanted if wanted in STATUS_FILTERS else "",
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "interests/list.html", context, status=status)


@router.get("/interests", name="interests:list_interests")
async def list_interests(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    """Enterprises: their own interests. Issuers: interests in their opportunities. Matchmakers: all."""
    return await interests_page(request, session, actor)


async def _after(request: Request, session: AsyncSession, actor: Actor, form: Any, refused: Any, done: str) -> Response:
    if refused is not None:
        return await interests_page(request, session, actor, error=refused.detail, status=refused.status_code)
    target = safe_next(form, url_to(request, "interests:list_interests"))
    return see_other(f"{target}{'&' if '?' in target else '?'}done={done}")


@router.post("/interests/{interest_id}/approve", name="interests:approve")
async def approve(
    interest_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    _done, refused = await attempt(session, lambda: service.approve(session, actor=actor, interest_id=interest_id))
    return await _after(request, session, actor, form, refused, "approved")


@router.post("/interests/{interest_id}/decline", name="interests:decline")
async def decline(
    interest_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    reason = text(form, "reason", 5000)
    if not reason or len(reason) > 1000:
        message = "婉拒时请填写原因，企业会看到它" if not reason else "原因最多 1000 字"
        return await interests_page(request, session, actor, error=message, status=422)
    _done, refused = await attempt(
        session, lambda: service.decline(session, actor=actor, interest_id=interest_id, reason=reason)
    )
    return await _after(request, session, actor, form, refused, "declined")


@router.post("/interests/{interest_id}/withdraw", name="interests:withdraw")
async def withdraw(
    interest_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    _done, refused = await attempt(session, lambda: service.withdraw(session, actor=actor, interest_id=interest_id))
    return await _after(request, session, actor, form, refused, "withdrawn")
