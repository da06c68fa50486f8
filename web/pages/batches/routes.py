"""Public batch pages (第N批 and its change log) and the matchmakers' 发布第N批 button."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from backend.batches import service
from backend.dependencies import ActorDep, SessionDep, StaffDep
from backend.listings.labels import FIELD_LABELS
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import confirmed
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_SLUGS

router = APIRouter()

BatchNumber = Annotated[int, Path(ge=1, le=10000)]
KIND_WORDS = {"opportunity": "机会", "offering": "产品"}
CHANGE_LABELS = {**FIELD_LABELS, "merged": "并入了重复条目", "republished": "重新发布"}
NOTICES = {"published": "本批已发布：此后的新增、变更和撤回计入下一批。"}


@router.get("/batches", name="batches:batch_list")
async def batch_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    summaries = await service.overview(session, actor=actor)
    return render(request, "batches/list.html", {"summaries": summaries})


async def _detail(
    request: Request, session: SessionDep, actor: ActorDep, number: int, *, error: str | None = None, status: int = 200
) -> Response:
    log = await service.changes(session, actor=actor, number=number)
    context = {
        "log": log,
        "slugs": {k.value: v for k, v in KIND_SLUGS.items()},
        "kind_words": KIND_WORDS,
        "change_labels": CHANGE_LABELS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "batches/detail.html", context, status=status)


@router.get("/batches/{number}", name="batches:batch_detail")
async def batch_detail(number: BatchNumber, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return await _detail(request, session, actor, number)


@router.post("/batches/{number}/publish", name="batches:publish_batch")
async def publish_batch(
    number: BatchNumber, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    if not confirmed(form):
        return await _detail(request, session, actor, number, error="发布批次不可撤销，请勾选确认后再发布", status=422)
    _done, refused = await attempt(
        session, lambda: service.publish_batch(session, actor=actor, number=number), raised=RAISED_WITH_FORBIDDEN
    )
    if refused is not None:
        return await _detail(request, session, actor, number, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "batches:batch_detail", number=number) + "?done=published", status_code=303)
