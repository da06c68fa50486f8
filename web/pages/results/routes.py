"""结果公示 pages: the public list and page of each notice, objections during the period, the
issuer's written answers, and confirming the result once the period has ended.

Anyone may read a notice. A signed-in person may object while it runs; the issuer's organisation
and matchmakers read every objection and answer it; an objector reads their own and the answer.
The service decides every rule; these pages only show what it allows.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import ActorDep, SessionDep, SignedInDep
from backend.kit.db import utcnow
from backend.kit.params import IdPath
from backend.results import service as results
from backend.results.models import NOTICE_STATUS_LABELS, OBJECTION_STATUS_LABELS, NoticeStatus, Objection
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, see_other
from web.kit.forms import confirmed, text
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

NOTICES = {
    "objected": "异议已提交。出卷方将书面答复，答复会通知您。",
    "answered": "答复已保存，异议人会收到通知。",
    "reopened": "异议成立：中选结果已撤回公示，请重新作出评审结论。",
    "final": "中选结果已生效，对接进入意向阶段。",
}


@router.get("/results", name="results:list")
async def notice_list(request: Request, session: SessionDep) -> Response:
    rows = await results.list_public(session)
    items = [(n, o, await results.entries(session, n)) for n, o in rows]
    return render(
        request,
        "results/list.html",
        {"items": items, "status_labels": {k.value: v for k, v in NOTICE_STATUS_LABELS.items()}},
    )


async def notice_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    notice_id: int,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    notice, opportunity = await results.get_public(session, notice_id=notice_id)
    manages = actor.is_staff or (actor.role == Role.issuer and actor.belongs_to(opportunity.organisation_id))
    objections: list[tuple[Objection, str]] = []
    if actor.is_authenticated:
        objections = await results.list_objections(session, actor=actor, notice_id=notice_id)
    entries = await results.entries(session, notice)
    now = utcnow()
    context = {
        "notice": notice,
        "opportunity": opportunity,
        "entries": entries,
        "counts": await results.objection_counts(session, notice_id),
        "objections": objections,
        "answer_titles": {e.answer_id: e.title for e in entries},
        "running": results.is_running(notice, now),
        "manages": manages,
        "sees_all": actor.is_staff or actor.belongs_to(opportunity.organisation_id),
        "why_not_final": await results.why_not_final(session, notice, now)
        if notice.status == NoticeStatus.open
        else None,
        "status_labels": {k.value: v for k, v in NOTICE_STATUS_LABELS.items()},
        "objection_labels": {k.value: v for k, v in OBJECTION_STATUS_LABELS.items()},
        "values": values or {"real_name": actor.user.display_name if actor.user else ""},
        "notice_text": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "results/notice.html", context, status=status)


@router.get("/results/{notice_id}", name="results:notice")
async def show_notice(notice_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return await notice_page(request, session, actor, notice_id)


@router.post("/results/{notice_id}/objections", name="results:file_objection")
async def file_objection(
    notice_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    values = {
        "real_name": text(form, "real_name", 100),
        "phone": text(form, "phone", 50),
        "reason": text(form, "reason", 6000),
        "answer_id": text(form, "answer_id", 20),
    }
    answer_id = int(values["answer_id"]) if values["answer_id"].isdigit() else None
    _done, refused = await attempt(
        session,
        lambda: results.file_objection(
            session,
            actor=actor,
            notice_id=notice_id,
            real_name=values["real_name"],
            phone=values["phone"],
            reason=values["reason"],
            answer_id=answer_id,
        ),
    )
    if refused is not None:
        return await notice_page(
            request, session, actor, notice_id, error=refused.detail, values=values, status=refused.status_code
        )
    return see_other(url_to(request, "results:notice", notice_id=notice_id) + "?done=objected")


@router.post("/results/objections/{objection_id}/response", name="results:answer_objection")
async def answer_objection(
    objection_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    verdict = text(form, "verdict", 20)
    response = text(form, "response", 6000)
    objection = await session.get(Objection, objection_id)
    notice_id = objection.notice_id if objection else 0
    if verdict not in ("upheld", "rejected"):
        return await notice_page(request, session, actor, notice_id, error="请选择异议是否成立", status=422)
    # The written answer is final and goes to the objector; 异议成立 also withdraws the result.
    if not confirmed(form):
        message = "答复提交后不能修改（异议成立将撤回中选结果），请先勾选确认"
        return await notice_page(request, session, actor, notice_id, error=message, status=422)
    _done, refused = await attempt(
        session,
        lambda: results.answer_objection(
            session, actor=actor, objection_id=objection_id, upheld=verdict == "upheld", response=response
        ),
    )
    if refused is not None:
        return await notice_page(request, session, actor, notice_id, error=refused.detail, status=refused.status_code)
    done = "reopened" if verdict == "upheld" else "answered"
    return see_other(url_to(request, "results:notice", notice_id=notice_id) + f"?done={done}")


@router.post("/results/{notice_id}/finalize", name="results:finalize")
async def finalize(
    notice_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    _done, refused = await attempt(session, lambda: results.finalize(session, actor=actor, notice_id=notice_id))
    if refused is not None:
        return await notice_page(request, session, actor, notice_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "results:notice", notice_id=notice_id) + "?done=final")
