"""企业入驻申请, requests to join an organisation, the emailed confirmation link, and invitations.

The work is in backend/accounts/service.py; these pages only read forms and show the outcome.
Refusals are shown on the form (the service's savepoint is rolled back, the throttle's count stays).
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from backend.accounts import service as accounts
from backend.accounts.schemas import InvitationAccept, JoinRequestCreate, RegistrationCreate
from backend.auth import throttle
from backend.auth.service import LinkInvalid
from backend.dependencies import SessionDep, SettingsDep
from backend.kit.errors import AppError
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, add_app_error, text, validate
from web.kit.templating import render
from web.kit.vocabulary import taxonomy_options

router = APIRouter()

REGISTER_FIELDS = ("organisation_name", "credit_code", "region_code", "contact_name", "phone", "email", "note")
JOIN_FIELDS = ("credit_code", "organisation_name", "contact_name", "phone", "email", "note")


def _message(request: Request, title: str, body: str, *, status: int = 200, ok: bool = True) -> Response:
    return render(request, "account/message.html", {"title": title, "body": body, "ok": ok}, status=status)


async def _form_page(
    request: Request, session: SessionDep, template: str, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> Response:
    return render(
        request, template, {**await taxonomy_options(session), "values": values, "errors": errors}, status=status
    )


def _values(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, 1000) for name in names}
    values["password"] = str(form.get("password") or "")[:200]
    return values


async def _hit(session: SessionDep, request: Request) -> None:
    await throttle.hit(session, f"register:{throttle.client_address(request)}", limit=10, message="申请提交过于频繁")


@router.get("/register", name="account:register_page")
async def register_page(request: Request, session: SessionDep) -> Response:
    return await _form_page(request, session, "account/register.html", {}, FormErrors())


@router.post("/register", name="account:register")
async def register(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    values, errors = _values(form, REGISTER_FIELDS), FormErrors()
    if values["password"] != str(form.get("password_again") or ""):
        errors.add("password_again", "两次输入的密码不一致")
    data = validate(
        RegistrationCreate,
        values,
        errors,
        required={
            "organisation_name": "请填写企业全称",
            "credit_code": "请填写统一社会信用代码",
            "region_code": "请选择所在地区",
            "contact_name": "请填写联系人",
            "phone": "请填写联系电话",
            "email": "请填写邮箱",
            "password": "请设置密码",
        },
    )
    if data is not None:
        await _hit(session, request)
        _done, refused = await attempt(session, lambda: accounts.register(session, data=data, settings=settings))
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        values.pop("password", None)
        return await _form_page(request, session, "account/register.html", values, errors, status=422)
    return _message(
        request,
        "申请已提交，请确认邮箱",
        f"我们已向 {data.email} 发送了一封确认邮件。请打开邮件中的链接确认邮箱，确认后申请将提交撮合专员审核。"
        "审核通过前，您可以登录完善组织信息、保存产品草稿，但暂不能提交或答题。",
    )


@router.get("/register/join", name="account:join_page")
async def join_page(request: Request, session: SessionDep) -> Response:
    return await _form_page(request, session, "account/join.html", {}, FormErrors())


@router.post("/register/join", name="account:join")
async def join(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    values, errors = _values(form, JOIN_FIELDS), FormErrors()
    values["credit_code"] = values["credit_code"] or None
    values["organisation_name"] = values["organisation_name"] or None
    data = validate(
        JoinRequestCreate,
        values,
        errors,
        required={"contact_name": "请填写姓名", "email": "请填写邮箱", "password": "请设置密码"},
    )
    if data is not None:
        await _hit(session, request)
        _done, refused = await attempt(
            session, lambda: accounts.request_join(session, data=data, settings=settings), raised=(401,)
        )
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        values.pop("password", None)
        return await _form_page(request, session, "account/join.html", values, errors, status=422)
    return _message(
        request,
        "加入申请已提交，请确认邮箱",
        f"我们已向 {data.email} 发送了一封确认邮件。确认邮箱后，申请将由该单位的管理员或撮合专员审核。",
    )


@router.get("/register/confirm/{token}", name="account:confirm_page")
async def confirm_page(request: Request, token: str) -> Response:
    # A page with a button, not a GET that confirms: mail scanners open links, people press buttons.
    return render(request, "account/confirm.html", {"token": token[:200]})


@router.post("/register/confirm/{token}", name="account:confirm")
async def confirm(request: Request, token: str, _: CheckedForm, session: SessionDep) -> Response:
    await throttle.hit(session, f"links:{throttle.client_address(request)}", limit=30, message="尝试过于频繁")
    registration, refused = await attempt(session, lambda: accounts.confirm_email(session, token=token[:200]))
    if refused is not None:
        return _message(request, "链接无法使用", refused.detail, status=refused.status_code, ok=False)
    if registration is None:
        return _message(request, "邮箱已确认", "您的邮箱已确认。")
    return _message(
        request, "邮箱已确认", "申请已提交审核，审核结果会通过站内通知和邮件告诉您。现在可以登录完善组织信息。"
    )


@router.get("/invitations/{token}", name="account:invitation_page")
async def invitation_page(request: Request, token: str, session: SessionDep) -> Response:
    try:
        invitation = await accounts.peek_invitation(session, token=token[:200])
    except LinkInvalid as exc:
        return _message(request, "邀请链接无法使用", exc.detail, status=exc.status_code, ok=False)
    return render(
        request,
        "account/invitation.html",
        {
            **await taxonomy_options(session),
            "invitation": invitation,
            "token": token[:200],
            "values": {"display_name": invitation.display_name},
            "errors": FormErrors(),
        },
    )


@router.post("/invitations/{token}", name="account:invitation_accept")
async def invitation_accept(request: Request, token: str, form: CheckedForm, session: SessionDep) -> Response:
    await throttle.hit(session, f"links:{throttle.client_address(request)}", limit=30, message="尝试过于频繁")
    errors = FormErrors()
    values: dict[str, Any] = {
        "token": token[:200],
        "display_name": text(form, "display_name", 100),
        "phone": text(form, "phone", 100),
        "region_code": text(form, "region_code", 12) or None,
        "password": str(form.get("password") or "")[:200],
    }
    if values["password"] != str(form.get("password_again") or ""):
        errors.add("password_again", "两次输入的密码不一致")
    data: BaseModel | None = validate(
        InvitationAccept, values, errors, required={"display_name": "请填写姓名", "password": "请设置密码"}
    )
    outcome: Any = None
    if data is not None:
        outcome, refused = await attempt(session, lambda: accounts.accept_invitation(session, data=data))  # type: ignore[arg-type]
        if refused is not None:
            if isinstance(refused, LinkInvalid):
                return _message(request, "邀请链接无法使用", refused.detail, status=refused.status_code, ok=False)
            add_app_error(errors, refused)
    if errors:
        try:
            invitation = await accounts.peek_invitation(session, token=token[:200])
        except AppError as exc:
            return _message(request, "邀请链接无法使用", exc.detail, status=exc.status_code, ok=False)
        values.pop("password", None)
        return render(
            request,
            "account/invitation.html",
            {
                **await taxonomy_options(session),
                "invitation": invitation,
                "token": token[:200],
                "values": values,
                "errors": errors,
            },
            status=422,
        )
    _user, registration = outcome
    if registration is not None:
        return _message(
            request,
            "账号已创建",
            "贵企业的入驻申请已提交撮合专员审核；审核通过后，请登录并在“我的答题”中确认参与联合体。",
        )
    return _message(request, "账号已创建", "现在可以用邮箱和刚设置的密码登录了。")
