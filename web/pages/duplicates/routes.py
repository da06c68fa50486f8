"""Duplicates on the website: the "相似的已有机会" box on the new-opportunity form, and the
matchmakers' /review/duplicates page (opportunities, or offerings with `?kind=offering`)
with 合并 and 不是重复."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import SessionDep, StaffDep, require_roles
from backend.duplicates import service
from backend.kit.errors import NotFound
from backend.kit.params import MAX_ID, whole_number
from backend.listings.labels import FIELD_LABELS
from backend.listings.models import ListingKind
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import FormErrors, confirmed, listing_values
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_NAMES, KIND_SLUGS, taxonomy_options

router = APIRouter()

KIND = ListingKind.opportunity
NOTICES = {
    "merged": "已合并：被并入的一条已截止（产品为已撤回），其页面会指向保留的一条。",
    "dismissed": "已标记为不是重复，这一对不会再出现。",
}
KIND_NOUNS = {ListingKind.opportunity: "机会", ListingKind.offering: "产品"}


def _kind(value: object) -> ListingKind:
    """The list a duplicates page or form is about; anything unknown means opportunities."""
    return ListingKind.offering if value == ListingKind.offering.value else ListingKind.opportunity


async def _similar(request: Request, session: SessionDep, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """The box's context: the similar opportunities, or a message saying why there are none to show."""
    rows, refused = await attempt(
        session,
        lambda: service.similar_to_draft(
            session,
            request.app.state.search_engine,
            actor=actor,
            title=values.get("title") or "",
            description=values.get("description") or "",
            tracks=values.get("tracks") or [],
            region_code=values.get("region_code"),
        ),
        raised=(401, 403),
    )
    if refused is not None:
        return {"similar": [], "similar_message": refused.detail}
    labels = await service.labels(session, [r.listing for r in rows])
    similar = [
        {
            "id": r.listing.id,
            "title": r.listing.title,
            "organisation": labels.organisation(r.listing),
            "batch": labels.batch(r.listing),
            "status": r.listing.status,
            "score": r.similarity.score,
            "likely": r.similarity.likely_duplicate,
            "shared_words": r.similarity.shared_words,
        }
        for r in rows
    ]
    message = None if similar else "没有找到相似的已有机会。"
    return {"similar": similar, "similar_message": message}


@router.post("/workspace/opportunities/similar", name="duplicates:similar_box")
async def similar_box(
    request: Request,
    form: CheckedForm,
    session: SessionDep,
    actor: Actor = Depends(require_roles(Role.issuer, Role.matchmaker, Role.admin)),
) -> Response:
    """htmx swaps in just the box; without JavaScript the whole form comes back, as typed, with the box above it."""
    values = listing_values(form, KIND)
    context = await _similar(request, session, actor, values)
    if request.headers.get("hx-request") == "true":
        return render(request, "duplicates/_similar_box.html", context)
    page = {
        "kind": KIND.value,
        "slug": KIND_SLUGS[KIND],
        "kind_name": KIND_NAMES[KIND],
        **await taxonomy_options(session),
        "values": {**values, "tags": "、".join(values["tags"])},
        "errors": FormErrors(),
        "listing_id": None,
        "labels": FIELD_LABELS,
        **context,
    }
    return render(request, "listings/form.html", page)


async def _pairs_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    kind: ListingKind,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    pairs, refused = await attempt(
        session,
        lambda: service.likely_pairs(session, request.app.state.search_engine, actor=actor, kind=kind, limit=100),
    )
    if refused is not None and refused.status_code != 503:
        raise refused  # only an unavailable search engine is explained on the page
    labels = await service.labels(session, [x for p in pairs or [] for x in (p.first, p.second)])
    context = {
        "pairs": pairs,
        "labels": labels,
        "kind": kind.value,
        "noun": KIND_NOUNS[kind],
        "slug": KIND_SLUGS[kind],
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "duplicates/pairs.html", context, status=status)


@router.get("/review/duplicates", name="duplicates:duplicate_pairs")
async def duplicate_pairs(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    return await _pairs_page(request, session, actor, _kind(request.query_params.get("kind")))


def _ids(form: Any, *names: str) -> list[int]:
    values = [str(form.get(name) or "") for name in names]
    if not all(whole_number(v, 1, MAX_ID) is not None for v in values):
        raise NotFound("条目不存在")
    return [int(v) for v in values]


@router.post("/review/duplicates/merge", name="duplicates:merge_pair")
async def merge_pair(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    """The pressed button names the one to keep; the other one of the pair is merged into it."""
    kind = _kind(form.get("kind"))
    first_id, second_id, keep_id = _ids(form, "first_id", "second_id", "keep_id")
    if keep_id not in (first_id, second_id):
        raise NotFound("条目不存在")
    merge_id = second_id if keep_id == first_id else first_id
    if not confirmed(form):
        return await _pairs_page(
            request, session, actor, kind, error="合并不可撤销，请勾选“确认合并”后再提交", status=422
        )
    _done, refused = await attempt(
        session,
        lambda: service.merge(session, actor=actor, kind=kind, keep_id=keep_id, merge_id=merge_id),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _pairs_page(request, session, actor, kind, error=refused.detail, status=refused.status_code)
    return RedirectResponse(_pairs_url(request, kind, "merged"), status_code=303)


def _pairs_url(request: Request, kind: ListingKind, done: str) -> str:
    return url_to(request, "duplicates:duplicate_pairs") + f"?kind={kind.value}&done={done}"


@router.post("/review/duplicates/dismiss", name="duplicates:dismiss_pair")
async def dismiss_pair(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    kind = _kind(form.get("kind"))
    first_id, second_id = _ids(form, "first_id", "second_id")
    _done, refused = await attempt(
        session,
        lambda: service.dismiss(session, actor=actor, kind=kind, first_id=first_id, second_id=second_id),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        return await _pairs_page(request, session, actor, kind, error=refused.detail, status=refused.status_code)
    return RedirectResponse(_pairs_url(request, kind, "dismissed"), status_code=303)
