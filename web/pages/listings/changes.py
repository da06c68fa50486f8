"""Changes after publication, in the workspace: edit requests, deadline, close early, withdraw, take back.

One page per listing (`/workspace/<slug>/<id>/changes`) shows its pending edit request beside the
published version, the earlier requests, and the actions its state allows. Irreversible actions
(close early, withdraw) need the confirmation checkbox, checked here on the server as well.
"""

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import SessionDep, require_roles
from backend.kit.errors import NotFound
from backend.kit.params import IdPath
from backend.listings import changes, service
from backend.listings.labels import FIELD_LABELS
from backend.listings.models import REVISION_STATUS_LABELS, ListingKind
from backend.listings.presenter import present
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import confirmed, text
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_NAMES, KIND_SLUGS

router = APIRouter(prefix="/workspace")

AUTHOR_ROLES = {ListingKind.opportunity: Role.issuer, ListingKind.offering: Role.enterprise}
NOTICES = {
    "requested": "修改申请已提交。撮合专员批准前，公开显示的仍是已发布的版本。",
    "deadline": "截止日期已调整，已有答题的企业会收到通知。",
    "closed": "已提前截止，不再接受新的答题；已有答题的企业会收到通知。",
    "withdrawn": "已撤回。该条目不再出现在清单中，页面上公开显示撤回原因。",
    "taken_back": "已撤回审核，现为草稿，可以修改后重新提交。",
    "cancelled": "修改申请已撤销。",
}


def _routes(kind: ListingKind) -> None:
    slug = KIND_SLUGS[kind]
    editor = Depends(require_roles(AUTHOR_ROLES[kind], Role.matchmaker, Role.admin))
    base = {"kind": kind.value, "slug": slug, "kind_name": KIND_NAMES[kind]}

    async def _page(
        request: Request,
        session: SessionDep,
        actor: Actor,
        listing_id: int,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        listing = await service.get_visible(session, actor=actor, kind=kind, listing_id=listing_id)
        if not service.can_see_private_fields(actor, listing):
            raise NotFound(f"{KIND_NAMES[kind]}中没有这一条")
        item = (await present(session, actor=actor, kind=kind, listings=[listing]))[0]
        revisions = await changes.revisions_of(session, actor=actor, kind=kind, listing_id=listing_id)
        current = item.model_dump()
        current["tracks"] = [t.code for t in item.tracks]
        current["domains"] = [d.code for d in item.domains]
        current["region_code"] = item.region.code if item.region else None
        context = {
            **base,
            "item": item,
            "current": current,
            "revisions": revisions,
            "pending": next((r for r in revisions if r.status == "pending"), None),
            "labels": FIELD_LABELS,
            "revision_labels": {k.value: v for k, v in REVISION_STATUS_LABELS.items()},
            "today": date.today().isoformat(),
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "error": error,
        }
        return render(request, "listings/changes.html", context, status=status)

    def _done(request: Request, listing_id: int, what: str) -> Response:
        return RedirectResponse(
            url_to(request, f"listings:{kind}_changes", listing_id=listing_id) + f"?done={what}", status_code=303
        )

    @router.get(f"/{slug}/{{listing_id}}/changes", name=f"listings:{kind}_changes")
    async def changes_page(
        listing_id: IdPath, request: Request, session: SessionDep, actor: Actor = editor
    ) -> Response:
        return await _page(request, session, actor, listing_id)

    @router.post(f"/{slug}/{{listing_id}}/withdraw", name=f"listings:{kind}_withdraw")
    async def withdraw(
        listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: Actor = editor
    ) -> Response:
        reason = text(form, "reason", 2000)
        if not reason:
            return await _page(request, session, actor, listing_id, error="请填写撤回原因，它会公开显示", status=422)
        if not confirmed(form):
            return await _page(
                request, session, actor, listing_id, error="撤回不可恢复，请勾选确认后再提交", status=422
            )
        _result, refused = await attempt(
            session, lambda: changes.withdraw(session, actor=actor, kind=kind, listing_id=listing_id, reason=reason)
        )
        if refused is not None:
            return await _page(request, session, actor, listing_id, error=refused.detail, status=refused.status_code)
        return _done(request, listing_id, "withdrawn")

    @router.post(f"/{slug}/{{listing_id}}/take-back", name=f"listings:{kind}_take_back")
    async def take_back(
        listing_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: Actor = editor
    ) -> Response:
        _result, refused = await attempt(
            session, lambda: changes.take_back(session, actor=actor, kind=kind, listing_id=listing_id)
        )
        if refused is not None:
            return await _page(request, session, actor, listing_id, error=refused.detail, status=refused.status_code)
        return _done(request, listing_id, "taken_back")

    @router.post(f"/{slug}/{{listing_id}}/revisions/{{revision_id}}/cancel", name=f"listings:{kind}_cancel_revision")
    async def cancel_revision(
        listing_id: IdPath,
        revision_id: IdPath,
        request: Request,
        _: CheckedForm,
        session: SessionDep,
        actor: Actor = editor,
    ) -> Response:
        revision = await changes.get_revision(session, actor=actor, revision_id=revision_id)
        if revision.listing_kind != kind.value or revision.listing_id != listing_id:
            raise NotFound("修改申请不存在")
        _result, refused = await attempt(
            session, lambda: changes.cancel_revision(session, actor=actor, revision_id=revision_id)
        )
        if refused is not None:
            return await _page(request, session, actor, listing_id, error=refused.detail, status=refused.status_code)
        return _done(request, listing_id, "cancelled")

    if kind != ListingKind.opportunity:
        return

    @router.post(f"/{slug}/{{listing_id}}/deadline", name="listings:opportunity_deadline")
    async def change_deadline(
        listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: Actor = editor
    ) -> Response:
        try:
            deadline = date.fromisoformat(text(form, "deadline", 10))
        except ValueError:
            return await _page(
                request, session, actor, listing_id, error="请按 YYYY-MM-DD 填写新的截止日期", status=422
            )
        note = text(form, "note", 2000)
        _result, refused = await attempt(
            session,
            lambda: changes.change_deadline(session, actor=actor, listing_id=listing_id, deadline=deadline, note=note),
        )
        if refused is not None:
            return await _page(request, session, actor, listing_id, error=refused.detail, status=refused.status_code)
        return _done(request, listing_id, "deadline")

    @router.post(f"/{slug}/{{listing_id}}/close", name="listings:opportunity_close")
    async def close(
        listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: Actor = editor
    ) -> Response:
        if not confirmed(form):
            return await _page(
                request, session, actor, listing_id, error="提前截止不可恢复，请勾选确认后再提交", status=422
            )
        note = text(form, "note", 2000)
        _result, refused = await attempt(
            session, lambda: changes.close_early(session, actor=actor, listing_id=listing_id, note=note)
        )
        if refused is not None:
            return await _page(request, session, actor, listing_id, error=refused.detail, status=refused.status_code)
        return _done(request, listing_id, "closed")


_routes(ListingKind.opportunity)
_routes(ListingKind.offering)
