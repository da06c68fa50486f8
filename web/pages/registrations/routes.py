"""The decision queue of 入驻申请 and join requests: matchmakers see all, an organisation's admin its join requests.

Each application shows the existing organisations whose name or credit code is close to it, so a
duplicate ("江西省国有资产监督管理委员会" beside "江西省人民政府国有资产监督管理委员会") is caught
before it is approved. Refusing needs a reason; the applicant is told in-app and by email.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.accounts import service as accounts
from backend.accounts.models import REGISTRATION_STATUS_LABELS, RegistrationStatus
from backend.accounts.schemas import Decision
from backend.dependencies import SessionDep, SignedInDep
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath
from backend.taxonomy.models import Region
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import text
from web.kit.paging import page_number
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter(prefix="/registrations")

PAGE_SIZE = 20
NOTICES = {"approved": "已通过，申请人已收到通知。", "refused": "已退回，申请人已收到原因。"}


@router.get("", name="registrations:queue")
async def queue(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    raw_status = request.query_params.get("status", RegistrationStatus.pending)
    status = RegistrationStatus(raw_status) if raw_status in RegistrationStatus.__members__ else None
    q = text(request.query_params, "q", 100) if "q" in request.query_params else ""  # type: ignore[arg-type]
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total = await accounts.list_queue(session, actor=actor, page=page, status=status, q=q or None)
    context = {
        "rows": rows,
        "total": total,
        "page": page.page,
        "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        "status": status.value if status else "",
        "q": q,
        "STATUS": REGISTRATION_STATUS_LABELS,
    }
    return render(request, "registrations/queue.html", context)


@router.get("/{registration_id}", name="registrations:detail")
async def detail(request: Request, registration_id: IdPath, session: SessionDep, actor: SignedInDep) -> Response:
    return await _detail(request, session, actor, registration_id, error=None)


async def _detail(
    request: Request,
    session: SessionDep,
    actor: SignedInDep,
    registration_id: int,
    *,
    error: str | None,
    status: int = 200,
) -> Response:
    registration = await accounts.get_readable(session, actor=actor, registration_id=registration_id)
    deciding = accounts.can_decide(actor, registration)
    similar = await accounts.organisations_by_id(session, registration.similar) if deciding else []
    region = await session.get(Region, registration.region_code) if registration.region_code else None
    context = {
        "r": registration,
        "deciding": deciding,
        "similar": similar,
        "region": region.name if region else "",
        "error": error,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "STATUS": REGISTRATION_STATUS_LABELS,
    }
    return render(request, "registrations/detail.html", context, status=status)


@router.post("/{registration_id}/decision", name="registrations:decide")
async def decide(
    request: Request, registration_id: IdPath, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    approve = text(form, "decision") == "approve"
    data = Decision(approve=approve, reason=text(form, "reason", 1000))
    _done, refused = await attempt(
        session, lambda: accounts.decide(session, actor=actor, registration_id=registration_id, data=data)
    )
    if refused is not None:
        return await _detail(request, session, actor, registration_id, error=refused.detail, status=refused.status_code)
    done = "approved" if approve else "refused"
    return RedirectResponse(
        url_to(request, "registrations:detail", registration_id=registration_id) + f"?done={done}", status_code=303
    )
