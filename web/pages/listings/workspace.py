"""The signed-in workspace: an issuer's opportunities, an enterprise's profile and offerings."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import SessionDep, SettingsDep, SignedInDep, require_roles
from backend.kit.errors import NotFound
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath
from backend.listings import attachments, changes, service
from backend.listings.labels import FIELD_LABELS
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.listings.schemas import OfferingCreate, OfferingUpdate, OpportunityCreate, OpportunityUpdate
from backend.organisations.models import Organisation
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, add_app_error, listing_values, text, validate
from web.kit.templating import render
from web.kit.uploads import store_upload
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_NAMES, KIND_SLUGS, taxonomy_options

router = APIRouter(prefix="/workspace")

AUTHOR_ROLES = {ListingKind.opportunity: Role.issuer, ListingKind.offering: Role.enterprise}
SCHEMAS = {
    ListingKind.opportunity: (OpportunityCreate, OpportunityUpdate),
    ListingKind.offering: (OfferingCreate, OfferingUpdate),
}
NOTICES = {
    "created": "已保存为草稿。确认内容无误后，点击“提交审核”。",
    "updated": "修改已保存。",
    "submitted": "已提交审核，撮合专员审核通过后即公开发布。",
    "revision_requested": "修改申请已提交。撮合专员批准前，公开显示的仍是已发布的版本。",
}
ATTACHMENT_NOTICES = {"uploaded": "附件已上传。", "removed": "附件已删除。"}
REQUIRED = {"title": "请填写标题"}


@router.get("", name="listings:workspace_home")
async def workspace_home(request: Request, actor: SignedInDep) -> Response:
    """Each role starts where its work is."""
    targets = {
        Role.issuer: url_to(request, "listings:opportunity_mine"),
        Role.enterprise: url_to(request, "listings:offering_mine"),
    }
    return RedirectResponse(targets.get(Role(actor.role), url_to(request, "review:review_queue")), status_code=303)


def _form_values_from(item: Any) -> dict[str, Any]:
    values = item.model_dump()
    values["region_code"] = item.region.code if item.region else None
    values["tracks"] = [t.code for t in item.tracks]
    values["domains"] = [d.code for d in item.domains]
    values["tags"] = "、".join(item.tags)
    return values


def _listing_routes(kind: ListingKind) -> None:
    slug = KIND_SLUGS[kind]
    author = Depends(require_roles(AUTHOR_ROLES[kind]))
    editor = Depends(require_roles(AUTHOR_ROLES[kind], Role.matchmaker, Role.admin))
    create_schema, update_schema = SCHEMAS[kind]
    base = {"kind": kind.value, "slug": slug, "kind_name": KIND_NAMES[kind]}

    async def _mine(
        request: Request, session: SessionDep, actor: Actor, *, error: str | None = None, status: int = 200
    ) -> Response:
        rows, total = await service.list_listings(
            session, actor=actor, kind=kind, page=PageParams(page=1, page_size=100), mine=True
        )
        items = await present(session, actor=actor, kind=kind, listings=rows)
        notice = NOTICES.get(request.query_params.get("done", ""))
        context = {**base, "items": items, "total": total, "notice": notice, "error": error}
        return render(request, "listings/mine.html", context, status=status)

    async def _form(
        request: Request,
        session: SessionDep,
        *,
        values: dict[str, Any],
        errors: FormErrors,
        listing_id: int | None,
        status: int = 200,
        as_request: bool = False,
        files: dict[str, Any] | None = None,
    ) -> Response:
        context = {
            "files": files,
            "as_request": as_request,
            **base,
            **await taxonomy_options(session),
            "values": values,
            "errors": errors,
            "listing_id": listing_id,
            "labels": FIELD_LABELS,
        }
        return render(request, "listings/form.html", context, status=status)

    @router.get(f"/{slug}", name=f"listings:{kind}_mine")
    async def mine(request: Request, session: SessionDep, actor: Actor = author) -> Response:
        return await _mine(request, session, actor)

    @router.get(f"/{slug}/new", name=f"listings:{kind}_new_form")
    async def new_form(request: Request, session: SessionDep, actor: Actor = author) -> Response:
        values: dict[str, Any] = {"tracks": [], "domains": []}
        organisation = await session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
        if organisation is not None:
            # The verified organisation profile fills what a new listing would otherwise retype.
            values["region_code"] = organisation.region_code
            if kind == ListingKind.offering:
                values["reference_cases"] = organisation.reference_cases
                values["certifications"] = organisation.qualifications
            contact = " ".join(p for p in (organisation.contact_name, organisation.contact_phone) if p)
            if contact:
                values["contact"] = contact
        return await _form(request, session, values=values, errors=FormErrors(), listing_id=None)

    @router.post(f"/{slug}/new", name=f"listings:{kind}_create")
    async def create(request: Request, form: CheckedForm, session: SessionDep, actor: Actor = author) -> Response:
        values, errors = listing_values(form, kind), FormErrors()
        data = validate(create_schema, values, errors, required=REQUIRED)
        if data is not None:
            # Every refusal, whatever its status, is shown on the form.
            _done, refused = await attempt(
                session, lambda: service.create(session, actor=actor, kind=kind, data=data), raised=()
            )
            if refused is not None:
                add_app_error(errors, refused)
        if errors:
            shown = {**values, "tags": "、".join(values["tags"])}
            return await _form(request, session, values=shown, errors=errors, listing_id=None, status=422)
        return RedirectResponse(url_to(request, f"listings:{kind}_mine") + "?done=created", status_code=303)

    async def _files(
        request: Request, session: SessionDep, actor: Actor, listing: Any, error: str | None = None
    ) -> dict[str, Any]:
        """The attachments box of the edit page: the files, and whether they may be changed now."""
        return {
            "items": await attachments.list_presented(session, kind=kind, listing_id=listing.id),
            "can_change": attachments.can_change(actor, listing),
            "notice": ATTACHMENT_NOTICES.get(request.query_params.get("files", "")),
            "error": error,
        }

    @router.get(f"/{slug}/{{listing_id}}/edit", name=f"listings:{kind}_edit_form")
    async def edit_form(listing_id: IdPath, request: Request, session: SessionDep, actor: Actor = editor) -> Response:
        return await _edit_page(request, session, actor, listing_id)

    async def _edit_page(
        request: Request,
        session: SessionDep,
        actor: Actor,
        listing_id: int,
        *,
        file_error: str | None = None,
        status: int = 200,
    ) -> Response:
        listing = await service.get_visible(session, actor=actor, kind=kind, listing_id=listing_id)
        if not service.can_see_private_fields(actor, listing):
            raise NotFound(f"{KIND_NAMES[kind]}中没有这一条")
        item = (await present(session, actor=actor, kind=kind, listings=[listing]))[0]
        values = _form_values_from(item)
        # A published listing's owner edits an edit request: start from the pending one, if any.
        pending = await changes.pending_revision(session, kind=kind, listing_id=listing_id)
        if pending is not None and not actor.is_staff:
            values.update(pending.changes)
            if isinstance(values.get("tags"), list):
                values["tags"] = "、".join(values["tags"])
        return await _form(
            request,
            session,
            values=values,
            errors=FormErrors(),
            listing_id=listing_id,
            as_request=item.status == ListingStatus.published and not actor.is_staff,
            files=await _files(request, session, actor, listing, file_error),
            status=status,
        )

    @router.post(f"/{slug}/{{listing_id}}/attachments", name=f"listings:{kind}_upload_attachment")
    async def upload_attachment(
        listing_id: IdPath,
        request: Request,
        form: CheckedForm,
        session: SessionDep,
        settings: SettingsDep,
        actor: Actor = editor,
    ) -> Response:
        refused = await store_upload(
            session,
            form,
            settings.max_attachment_bytes,
            lambda data, filename: attachments.add(
                session,
                actor=actor,
                kind=kind,
                listing_id=listing_id,
                data=data,
                filename=filename,
                max_bytes=settings.max_attachment_bytes,
            ),
        )
        if refused is not None:
            return await _edit_page(
                request, session, actor, listing_id, file_error=refused.detail, status=refused.status_code
            )
        return RedirectResponse(
            url_to(request, f"listings:{kind}_edit_form", listing_id=listing_id) + "?files=uploaded#attachments",
            status_code=303,
        )

    @router.post(
        f"/{slug}/{{listing_id}}/attachments/{{attachment_id}}/delete", name=f"listings:{kind}_delete_attachment"
    )
    async def delete_attachment(
        listing_id: IdPath,
        attachment_id: IdPath,
        request: Request,
        _: CheckedForm,
        session: SessionDep,
        actor: Actor = editor,
    ) -> Response:
        _done, refused = await attempt(
            session,
            lambda: attachments.remove(
                session, actor=actor, kind=kind, listing_id=listing_id, attachment_id=attachment_id
            ),
            raised=(401, 404),
        )
        if refused is not None:
            return await _edit_page(
                request, session, actor, listing_id, file_error=refused.detail, status=refused.status_code
            )
        return RedirectResponse(
            url_to(request, f"listings:{kind}_edit_form", listing_id=listing_id) + "?files=removed#attachments",
            status_code=303,
        )

    @router.post(f"/{slug}/{{listing_id}}/edit", name=f"listings:{kind}_update")
    async def update(
        listing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: Actor = editor
    ) -> Response:
        values, errors = listing_values(form, kind), FormErrors()
        data = validate(update_schema, values, errors, required=REQUIRED)
        listing = await service.get_visible(session, actor=actor, kind=kind, listing_id=listing_id)
        # The owner of a published listing asks for the edit; it is applied when a matchmaker approves.
        as_request = listing.status == ListingStatus.published and not actor.is_staff
        if data is not None:
            note = text(form, "revision_note", 2000)
            _done, refused = await attempt(
                session,
                (
                    lambda: changes.request_edit(
                        session, actor=actor, kind=kind, listing_id=listing_id, data=data, note=note
                    )
                )
                if as_request
                else (lambda: service.update(session, actor=actor, kind=kind, listing_id=listing_id, data=data)),
                raised=(404,),
            )
            if refused is not None:
                add_app_error(errors, refused)
        if errors:
            shown = {**values, "tags": "、".join(values["tags"])}
            return await _form(
                request,
                session,
                values=shown,
                errors=errors,
                listing_id=listing_id,
                status=422,
                as_request=as_request,
                files=await _files(request, session, actor, listing)
                if service.can_see_private_fields(actor, listing)
                else None,
            )
        if as_request:
            return RedirectResponse(
                url_to(request, f"listings:{kind}_changes", listing_id=listing_id) + "?done=requested", status_code=303
            )
        target = (
            url_to(request, f"listings:{kind}_mine") + "?done=updated"
            if not actor.is_staff
            else url_to(request, f"listings:{kind}_detail", listing_id=listing_id)
        )
        return RedirectResponse(target, status_code=303)

    @router.post(f"/{slug}/{{listing_id}}/submit", name=f"listings:{kind}_submit")
    async def submit(
        listing_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: Actor = author
    ) -> Response:
        _done, refused = await attempt(
            session, lambda: service.submit(session, actor=actor, kind=kind, listing_id=listing_id), raised=(404,)
        )
        if refused is not None:
            return await _mine(request, session, actor, error=refused.detail, status=refused.status_code)
        return RedirectResponse(url_to(request, f"listings:{kind}_mine") + "?done=submitted", status_code=303)


_listing_routes(ListingKind.opportunity)
_listing_routes(ListingKind.offering)
