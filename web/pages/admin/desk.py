"""管理台: the admins' desk for organisations and users (search, paging, create, edit, merge,
deactivate, change role, send a reset link). Every change goes through backend/accounts/admin.py,
which refuses anyone but an admin and writes the audit log shown on each detail page.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.accounts import admin
from backend.accounts import service as accounts
from backend.accounts.schemas import StaffInvitationCreate
from backend.auth.models import ROLE_LABELS, Role
from backend.auth.schemas import UserCreate, UserUpdate
from backend.dependencies import SessionDep, SettingsDep, SignedInDep
from backend.kit.errors import AppError
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath, whole_number
from backend.organisations import service as organisation_service
from backend.organisations.models import ORGANISATION_KIND_LABELS, OrganisationStatus
from backend.organisations.schemas import OrganisationCreate, OrganisationUpdate
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import FormErrors, add_app_error, organisation_values, text, validate
from web.kit.history import history
from web.kit.orgpicker import resolve_organisation
from web.kit.paging import page_number
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import taxonomy_options

router = APIRouter(prefix="/admin")

PAGE_SIZE = 25
STATUS_LABELS = {
    OrganisationStatus.active: "正常",
    OrganisationStatus.pending: "待审核",
    OrganisationStatus.withdrawn: "已撤销",
}
NOTICES = {
    "created": "已创建。",
    "saved": "已保存。",
    "deactivated": "已停用。",
    "activated": "已启用。",
    "merged": "已合并，重复的组织已撤销。",
    "reset": "重置密码链接已发送到该账号的邮箱。",
    "invited": "邀请已发送，链接 7 天内有效、只能使用一次。",
}


def _pages(total: int) -> int:
    return max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)


def _see(request: Request, name: str, done: str, **params: Any) -> Response:
    return RedirectResponse(url_to(request, name, **params) + f"?done={done}", status_code=303)


@router.get("/organisations", name="admin:organisations")
async def organisations(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await _organisations(request, session, actor, values={}, errors=FormErrors())


async def _organisations(
    request: Request,
    session: SessionDep,
    actor: SignedInDep,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
) -> Response:
    q = text(request.query_params, "q", 100)  # type: ignore[arg-type]
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total = await admin.list_organisations(session, actor=actor, page=page, q=q or None)
    context = {
        **await taxonomy_options(session),
        "rows": rows,
        "total": total,
        "page": page.page,
        "pages": _pages(total),
        "q": q,
        "values": values,
        "errors": errors,
        "kind_options": list(ORGANISATION_KIND_LABELS.items()),
        "STATUS": STATUS_LABELS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin/organisations.html", context, status=status)


@router.post("/organisations", name="admin:organisation_create")
async def organisation_create(request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    admin.require_admin(actor)
    values, errors = organisation_values(form), FormErrors()
    values["kind"] = text(form, "kind") or None
    values = {k: v for k, v in values.items() if v not in ("", None) or k in ("name", "kind")}
    data = validate(OrganisationCreate, values, errors, required={"name": "请填写组织名称", "kind": "请选择类型"})
    if "organisation_id" in errors:
        errors.add("organisation", errors.pop("organisation_id"))
    created = None
    if data is not None:
        created, refused = await attempt(
            session, lambda: admin.create_organisation(session, actor=actor, data=data), raised=RAISED_WITH_FORBIDDEN
        )
        if refused is not None:
            add_app_error(errors, _on_picker(refused))
    if errors or created is None:
        return await _organisations(request, session, actor, values=values, errors=errors, status=422)
    return _see(request, "admin:organisation_detail", "created", organisation_id=created.id)


async def _organisation_page(
    request: Request,
    session: SessionDep,
    actor: SignedInDep,
    organisation_id: int,
    *,
    values: dict[str, Any] | None,
    errors: FormErrors,
    status: int = 200,
) -> Response:
    admin.require_admin(actor)
    organisation = await organisation_service.get(session, organisation_id=organisation_id)
    if values is None:
        values = {
            k: getattr(organisation, k) or ""
            for k in (
                "name",
                "short_name",
                "credit_code",
                "region_code",
                "place",
                "description",
                "website",
                "contact_name",
                "contact_phone",
                "qualifications",
                "reference_cases",
            )
        }
    similar_ids = await accounts.similar_organisations(
        session, name=organisation.name, credit_code=organisation.credit_code, exclude_id=organisation.id
    )
    context = {
        **await taxonomy_options(session),
        "organisation": organisation,
        "values": values,
        "errors": errors,
        "similar": await accounts.organisations_by_id(session, similar_ids),
        "log": await history(session, entity_kind="organisation", entity_id=organisation_id),
        "STATUS": STATUS_LABELS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin/organisation.html", context, status=status)


@router.get("/organisations/{organisation_id}", name="admin:organisation_detail")
async def organisation_detail(
    request: Request, organisation_id: IdPath, session: SessionDep, actor: SignedInDep
) -> Response:
    return await _organisation_page(request, session, actor, organisation_id, values=None, errors=FormErrors())


@router.post("/organisations/{organisation_id}", name="admin:organisation_update")
async def organisation_update(
    request: Request, organisation_id: IdPath, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    admin.require_admin(actor)
    values, errors = organisation_values(form), FormErrors()
    data = validate(OrganisationUpdate, values, errors, required={"name": "请填写组织名称"})
    if data is not None:
        _done, refused = await attempt(
            session,
            lambda: admin.update_organisation(session, actor=actor, organisation_id=organisation_id, data=data),
            raised=RAISED_WITH_FORBIDDEN,
        )
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        return await _organisation_page(
            request, session, actor, organisation_id, values=values, errors=errors, status=422
        )
    return _see(request, "admin:organisation_detail", "saved", organisation_id=organisation_id)


@router.post("/organisations/{organisation_id}/deactivate", name="admin:organisation_deactivate")
async def organisation_deactivate(
    request: Request, organisation_id: IdPath, _: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    await admin.deactivate_organisation(session, actor=actor, organisation_id=organisation_id)
    return _see(request, "admin:organisation_detail", "deactivated", organisation_id=organisation_id)


@router.post("/organisations/{organisation_id}/merge", name="admin:organisation_merge")
async def organisation_merge(
    request: Request, organisation_id: IdPath, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    admin.require_admin(actor)
    keep_id = whole_number(text(form, "keep_id", 12), 1, 2**31 - 1)
    errors = FormErrors()
    if keep_id is None:
        errors.add("keep_id", "请填写要保留的组织编号")
    else:
        _done, refused = await attempt(
            session,
            lambda: admin.merge_organisations(session, actor=actor, duplicate_id=organisation_id, keep_id=keep_id),
            raised=(401, 403),
        )
        if refused is not None:
            errors.add("keep_id", refused.detail)
    if errors:
        return await _organisation_page(
            request, session, actor, organisation_id, values=None, errors=errors, status=422
        )
    return _see(request, "admin:organisation_detail", "merged", organisation_id=keep_id)


@router.post("/organisations/{organisation_id}/invite", name="admin:organisation_invite")
async def organisation_invite(
    request: Request,
    organisation_id: IdPath,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInDep,
) -> Response:
    """Invite a department's staff member (issuer role) by email: a single-use, expiring link."""
    admin.require_admin(actor)
    values: dict[str, Any] = {n: text(form, n, 254) for n in ("email", "display_name")}
    values["organisation_id"] = organisation_id
    errors = FormErrors()
    data = validate(
        StaffInvitationCreate, values, errors, required={"email": "请填写邮箱", "display_name": "请填写姓名"}
    )
    if data is not None:
        _done, refused = await attempt(
            session,
            lambda: accounts.invite_staff(session, actor=actor, data=data, settings=settings),
            raised=RAISED_WITH_FORBIDDEN,
        )
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        invite_errors = FormErrors({f"invite_{k}": v for k, v in errors.items()})
        return await _organisation_page(
            request, session, actor, organisation_id, values=None, errors=invite_errors, status=422
        )
    return _see(request, "admin:organisation_detail", "invited", organisation_id=organisation_id)


@router.get("/users", name="admin:users")
async def users(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await _users(request, session, actor, values={}, errors=FormErrors())


async def _users(
    request: Request,
    session: SessionDep,
    actor: SignedInDep,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
) -> Response:
    q = text(request.query_params, "q", 100)  # type: ignore[arg-type]
    role = text(request.query_params, "role", 20)  # type: ignore[arg-type]
    role = role if role in Role.__members__ else ""
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total = await admin.list_users(session, actor=actor, page=page, q=q or None, role=role or None)
    names = await _organisation_names(session, {u.organisation_id for u in rows if u.organisation_id})
    context = {
        "rows": rows,
        "names": names,
        "total": total,
        "page": page.page,
        "pages": _pages(total),
        "q": q,
        "role": role,
        "values": values,
        "errors": errors,
        "role_options": [(r.value, ROLE_LABELS[r]) for r in Role],
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin/users.html", context, status=status)


def _on_picker(refused: AppError) -> AppError:
    """A refusal about the organisation id is shown next to the organisation picker, which names it."""
    if refused.field == "organisation_id":
        return type(refused)(refused.detail, field="organisation")
    return refused


async def _organisation_names(session: SessionDep, ids: set[int]) -> dict[int, str]:
    return {o.id: o.name for o in await accounts.organisations_by_id(session, sorted(ids)) if o.id is not None}


@router.post("/users", name="admin:user_create")
async def user_create(request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    admin.require_admin(actor)
    values: dict[str, Any] = {n: text(form, n, 254) for n in ("email", "display_name", "role", "organisation")}
    values["password"] = str(form.get("password") or "")[:200]
    errors = FormErrors()
    organisation_id = await resolve_organisation(
        session, actor=actor, typed=values["organisation"], errors=errors, field="organisation"
    )
    data = validate(
        UserCreate,
        {k: v for k, v in values.items() if k != "organisation"} | {"organisation_id": organisation_id},
        errors,
        required={
            "email": "请填写邮箱",
            "display_name": "请填写姓名",
            "role": "请选择角色",
            "password": "请设置初始密码",
        },
    )
    if "organisation_id" in errors:
        errors.add("organisation", errors.pop("organisation_id"))
    created = None
    if data is not None:
        created, refused = await attempt(
            session, lambda: admin.create_user(session, actor=actor, data=data), raised=RAISED_WITH_FORBIDDEN
        )
        if refused is not None:
            add_app_error(errors, _on_picker(refused))
    if errors or created is None:
        values.pop("password", None)
        return await _users(request, session, actor, values=values, errors=errors, status=422)
    return _see(request, "admin:user_detail", "created", user_id=created.id)


async def _user_page(
    request: Request, session: SessionDep, actor: SignedInDep, user_id: int, *, errors: FormErrors, status: int = 200
) -> Response:
    admin.require_admin(actor)
    from backend.auth import service as auth_service

    user = await auth_service.get_user(session, user_id=user_id)
    names = await _organisation_names(session, {user.organisation_id} if user.organisation_id else set())
    context = {
        "user": user,
        "organisation_name": names.get(user.organisation_id or 0, ""),
        "errors": errors,
        "role_options": [(r.value, ROLE_LABELS[r]) for r in Role],
        "log": await history(session, entity_kind="user", entity_id=user_id),
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin/user.html", context, status=status)


@router.get("/users/{user_id}", name="admin:user_detail")
async def user_detail(request: Request, user_id: IdPath, session: SessionDep, actor: SignedInDep) -> Response:
    return await _user_page(request, session, actor, user_id, errors=FormErrors())


@router.post("/users/{user_id}", name="admin:user_update")
async def user_update(
    request: Request, user_id: IdPath, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    admin.require_admin(actor)
    errors = FormErrors()
    action = text(form, "action", 20)
    if action == "deactivate":
        data, done = UserUpdate(is_active=False), "deactivated"
    elif action == "activate":
        data, done = UserUpdate(is_active=True), "activated"
    else:
        role = text(form, "role", 20)
        if role not in Role.__members__:
            errors.add("role", "请选择角色")
            return await _user_page(request, session, actor, user_id, errors=errors, status=422)
        organisation_id = await resolve_organisation(
            session, actor=actor, typed=text(form, "organisation", 254), errors=errors, field="organisation"
        )
        if errors:
            return await _user_page(request, session, actor, user_id, errors=errors, status=422)
        data, done = UserUpdate(role=Role(role), organisation_id=organisation_id), "saved"
    _done, refused = await attempt(
        session,
        lambda: admin.update_user(session, actor=actor, user_id=user_id, data=data),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        add_app_error(errors, _on_picker(refused))
        return await _user_page(request, session, actor, user_id, errors=errors, status=refused.status_code)
    return _see(request, "admin:user_detail", done, user_id=user_id)


@router.post("/users/{user_id}/reset-link", name="admin:user_reset_link")
async def user_reset_link(
    request: Request, user_id: IdPath, _: CheckedForm, session: SessionDep, settings: SettingsDep, actor: SignedInDep
) -> Response:
    admin.require_admin(actor)
    await accounts.send_reset_link_for(session, actor=actor, user_id=user_id, settings=settings)
    return _see(request, "admin:user_detail", "reset", user_id=user_id)
