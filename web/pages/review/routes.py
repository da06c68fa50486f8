"""The matchmakers' desk: the review queue, suggested matches, and bulk import."""

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from backend.batches import service as batches_service
from backend.dependencies import SessionDep, SettingsDep, StaffDep
from backend.imports import service as import_service
from backend.imports.parsing import FIELD_LABELS, ImportFileError, parse_off_loop
from backend.imports.template import COLUMNS as IMPORT_COLUMNS
from backend.imports.template import template_xlsx as import_template_xlsx
from backend.kit.errors import NotFound
from backend.kit.pagination import PageParams
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings import changes, service
from backend.listings.labels import FIELD_LABELS as LISTING_FIELD_LABELS
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.pairings import service as pairings
from backend.pairings.models import PairingSource
from backend.searching import service as searching
from backend.searching.models import MatchVerdict
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import confirmed
from web.kit.matches import find_matches, match_notice
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_NAMES, KIND_SLUGS, SLUG_KINDS

router = APIRouter(prefix="/review")

NOTICES = {
    "published": "已发布，现已出现在公开清单中。",
    "returned": "已退回，发布单位会看到退回原因。",
    "revision_approved": "修改已批准，公开版本已更新，发布单位会收到通知。",
    "revision_rejected": "修改申请未批准，已发布版本不变，发布单位会看到原因。",
}


def _kind(slug: str) -> ListingKind:
    if slug not in SLUG_KINDS:
        raise NotFound("页面不存在")
    return SLUG_KINDS[slug]


async def _queue(
    request: Request, session: SessionDep, actor: StaffDep, *, error: str | None = None, status: int = 200
) -> Response:
    queues = []
    for kind in (ListingKind.opportunity, ListingKind.offering):
        rows, total = await service.list_listings(
            session,
            actor=actor,
            kind=kind,
            page=PageParams(page=1, page_size=100),
            statuses=(ListingStatus.pending_review,),
        )
        items = await present(session, actor=actor, kind=kind, listings=rows)
        queues.append(
            {"kind": kind.value, "slug": KIND_SLUGS[kind], "name": KIND_NAMES[kind], "items": items, "total": total}
        )
    # Batches to publish into: the open ones, lowest first (preselected), and a new one after the highest.
    open_batches = [b.number for b in await batches_service.open_batches(session)]
    new_batch = await batches_service.next_number(session)
    revisions = []
    for revision in await changes.pending_revisions(session, actor=actor):
        kind = ListingKind(revision.listing_kind)
        listing = await session.get(LISTING_MODELS[kind], revision.listing_id)
        if listing is None:
            continue
        item = (await present(session, actor=actor, kind=kind, listings=[listing]))[0]
        current = item.model_dump()
        current["tracks"] = [t.code for t in item.tracks]
        current["domains"] = [d.code for d in item.domains]
        current["region_code"] = item.region.code if item.region else None
        revisions.append({"revision": revision, "item": item, "slug": KIND_SLUGS[kind], "current": current})
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        "queues": queues,
        "notice": notice,
        "error": error,
        "open_batches": open_batches,
        "new_batch": new_batch,
        "revisions": revisions,
        "labels": LISTING_FIELD_LABELS,
    }
    return render(request, "review/queue.html", context, status=status)


@router.get("", name="review:review_queue")
async def review_queue(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    return await _queue(request, session, actor)


@router.post("/{slug}/{listing_id}/publish", name="review:publish")
async def publish(
    slug: str, listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    kind = _kind(slug)
    raw_batch = str(form.get("batch_number") or "").strip()
    if raw_batch and whole_number(raw_batch, 1, 10000) is None:
        return await _queue(request, session, actor, error="批次号应为 1 到 10000 之间的整数", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.publish(
            session, actor=actor, kind=kind, listing_id=listing_id, batch_number=int(raw_batch) if raw_batch else None
        ),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _queue(request, session, actor, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "review:review_queue") + "?done=published", status_code=303)


@router.post("/{slug}/{listing_id}/return", name="review:send_back")
async def send_back(
    slug: str, listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    kind = _kind(slug)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return await _queue(request, session, actor, error="退回时请填写原因，发布单位会看到它", status=422)
    _done, refused = await attempt(
        session,
        lambda: service.send_back(session, actor=actor, kind=kind, listing_id=listing_id, reason=reason[:2000]),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _queue(request, session, actor, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "review:review_queue") + "?done=returned", status_code=303)


@router.post("/revisions/{revision_id}/approve", name="review:approve_revision")
async def approve_revision(
    revision_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    note = str(form.get("note") or "").strip()[:2000]
    _done, refused = await attempt(
        session,
        lambda: changes.approve_revision(session, actor=actor, revision_id=revision_id, note=note),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _queue(request, session, actor, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "review:review_queue") + "?done=revision_approved", status_code=303)


@router.post("/revisions/{revision_id}/reject", name="review:reject_revision")
async def reject_revision(
    revision_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    note = str(form.get("note") or "").strip()[:2000]
    _done, refused = await attempt(
        session,
        lambda: changes.reject_revision(session, actor=actor, revision_id=revision_id, note=note),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _queue(request, session, actor, error=refused.detail, status=refused.status_code)
    return RedirectResponse(url_to(request, "review:review_queue") + "?done=revision_rejected", status_code=303)


@router.get("/matches", name="review:suggested_matches")
async def suggested_matches(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    """Undecided suggestions for the newest open opportunities, three each."""
    rows, _ = await service.list_listings(
        session,
        actor=actor,
        kind=ListingKind.opportunity,
        page=PageParams(page=1, page_size=10),
        statuses=(ListingStatus.published,),
    )
    opportunities = await present(session, actor=actor, kind=ListingKind.opportunity, listings=rows)
    suggestions: list[dict] | None = []
    for opportunity in opportunities:
        matches = await find_matches(request, session, actor, ListingKind.opportunity, opportunity.id)
        if matches is None:
            suggestions = None
            break
        fresh = [m for m in matches if "撮合专员已采纳" not in m.reasons][:3]
        if fresh:
            suggestions.append({"opportunity": opportunity, "matches": fresh})
    return render(
        request,
        "review/matches.html",
        {"suggestions": suggestions, "match_notice": match_notice(request), "error": None},
    )


@router.post("/matches/decide", name="review:decide_match")
async def decide_match(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    """Accept (opens a pairing at 推荐) or dismiss a suggested opportunity ↔ offering pair."""
    opportunity_id, offering_id = str(form.get("opportunity_id", "")), str(form.get("offering_id", ""))
    verdict = str(form.get("verdict", ""))
    if (
        whole_number(opportunity_id, 1, MAX_ID) is None
        or whole_number(offering_id, 1, MAX_ID) is None
        or verdict not in ("accepted", "dismissed")
    ):
        raise NotFound("推荐不存在")
    if verdict == "dismissed" and not confirmed(form):
        return render(
            request,
            "review/matches.html",
            {"suggestions": [], "match_notice": None, "error": "忽略后该推荐不会再出现，请勾选“确认忽略”后再提交"},
            status=422,
        )

    async def decide() -> object:
        if verdict == "accepted":
            return await pairings.create(
                session,
                actor=actor,
                opportunity_id=int(opportunity_id),
                offering_id=int(offering_id),
                source=PairingSource.match,
                note="由匹配推荐采纳",
            )
        return await searching.decide(
            session,
            actor=actor,
            opportunity_id=int(opportunity_id),
            offering_id=int(offering_id),
            verdict=MatchVerdict.dismissed,
            reason="",
        )

    _done, refused = await attempt(session, decide, raised=RAISED_WITH_FORBIDDEN)
    if refused is not None:
        return render(
            request,
            "review/matches.html",
            {"suggestions": [], "match_notice": None, "error": refused.detail},
            status=refused.status_code,
        )
    return _back_to_matches(
        request, form, {"done": verdict, "opportunity_id": opportunity_id, "offering_id": offering_id}
    )


@router.post("/matches/undo", name="review:undo_match")
async def undo_match(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    """Take back a dismissal: the pair is suggested again."""
    opportunity_id = whole_number(form.get("opportunity_id"), 1, MAX_ID)
    offering_id = whole_number(form.get("offering_id"), 1, MAX_ID)
    if opportunity_id is None or offering_id is None:
        raise NotFound("推荐不存在")
    _done, refused = await attempt(
        session,
        lambda: searching.undo_dismissal(session, actor=actor, opportunity_id=opportunity_id, offering_id=offering_id),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return render(
            request,
            "review/matches.html",
            {"suggestions": [], "match_notice": None, "error": refused.detail},
            status=refused.status_code,
        )
    return _back_to_matches(request, form, {"done": "restored", "opportunity_id": str(opportunity_id)})


def _back_to_matches(request: Request, form: FormData, query: dict[str, str]) -> Response:
    # Back where the matchmaker acted: the form's page (a local path only), at its matches (the
    # `#…` of `next`), so the page does not jump to the top after every decision.
    target, _, fragment = str(form.get("next") or "").partition("#")
    if not target.startswith("/") or target.startswith("//") or "?" in target:
        target, fragment = url_to(request, "review:suggested_matches"), ""
    fragment = fragment if re.fullmatch(r"[A-Za-z0-9_-]{1,60}", fragment) else ""
    return RedirectResponse(f"{target}?{urlencode(query)}" + (f"#{fragment}" if fragment else ""), status_code=303)


@router.get("/import", name="review:import_form")
async def import_form(request: Request, actor: StaffDep) -> Response:
    return render(request, "review/import.html", {"columns": IMPORT_COLUMNS, "report": None, "error": None})


@router.get("/import/template.xlsx", name="review:import_template")
async def import_template(actor: StaffDep) -> Response:
    """The import layout (the columns the export writes) with one example opportunity and offering."""
    return Response(
        import_template_xlsx(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="import-template.xlsx"', "Cache-Control": "no-store"},
    )


@router.post("/import", name="review:import_upload")
async def import_upload(
    request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep, actor: StaffDep
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(
            request,
            "review/import.html",
            {"columns": IMPORT_COLUMNS, "report": None, "error": "请选择要导入的文件"},
            status=422,
        )
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        error = f"文件超过上限 {settings.max_upload_bytes // (1024 * 1024)} MB"
        return render(
            request, "review/import.html", {"columns": IMPORT_COLUMNS, "report": None, "error": error}, status=413
        )
    try:
        rows, errors = await parse_off_loop(data, upload.filename, max_rows=settings.max_import_rows)
    except ImportFileError as exc:
        return render(
            request, "review/import.html", {"columns": IMPORT_COLUMNS, "report": None, "error": str(exc)}, status=422
        )
    publish_now = form.get("publish") == "on"
    report = await import_service.import_rows(
        session, actor=actor, rows=rows, parse_errors=errors, publish=publish_now, filename=upload.filename
    )
    context = {
        "columns": IMPORT_COLUMNS,
        "report": report,
        "error": None,
        "filename": upload.filename,
        "published": publish_now,
        "field_labels": FIELD_LABELS,
    }
    return render(request, "review/import.html", context)
