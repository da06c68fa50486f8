"""忘记密码 (reset link by email), 修改密码, and the one-time sign-in link.

Asking for a link answers the same whether or not the address has an account. A reset ends
every session of the account; a change ends every session but the current one.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.accounts import service as accounts
from backend.auth import service as auth_service
from backend.auth import signin, throttle
from backend.auth.models import TokenPurpose
from backend.dependencies import SessionDep, SettingsDep, SignedInDep
from backend.kit.errors import AppError
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, text
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

LINK_KINDS = {
    "reset": ("忘记密码", "输入注册时使用的邮箱，我们会发送一个重置密码的链接（一小时内有效，只能使用一次）。"),
    "sign_in": (
        "用邮件链接登录",
        "输入账号邮箱，我们会发送一个一次性登录链接（15 分钟内有效）。登录尝试被限速时也可以这样登录。",
    ),
}


def _message(request: Request, title: str, body: str, *, status: int = 200, ok: bool = True) -> Response:
    return render(request, "account/message.html", {"title": title, "body": body, "ok": ok}, status=status)


def _ask_page(request: Request, kind: str, email: str = "", error: str | None = None, status: int = 200) -> Response:
    title, lead = LINK_KINDS[kind]
    action = url_to(request, "account:forgot" if kind == "reset" else "account:sign_in_link")
    return render(
        request,
        "account/ask_link.html",
        {"title": title, "lead": lead, "action": action, "email": email, "error": error},
        status=status,
    )


async def _throttle_mail(session: SessionDep, request: Request, email: str) -> None:
    address = throttle.client_address(request)
    await throttle.hit(session, f"mail-address:{address}", limit=20, message="请求过于频繁")
    await throttle.hit(session, f"mail-account:{email}", limit=5, message="该邮箱的请求过于频繁")


@router.get("/password/forgot", name="account:forgot_page")
async def forgot_page(request: Request, email: str = "") -> Response:
    return _ask_page(request, "reset", email[:254])


@router.post("/password/forgot", name="account:forgot")
async def forgot(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    email = throttle.normalise_account(text(form, "email", 254))
    if "@" not in email:
        return _ask_page(request, "reset", email, "请输入有效的邮箱地址", status=422)
    await _throttle_mail(session, request, email)
    answer = await accounts.request_password_reset(session, email=email, settings=settings)
    return _message(request, "请查收邮件", answer)


@router.get("/password/reset/{token}", name="account:reset_page")
async def reset_page(request: Request, token: str, session: SessionDep) -> Response:
    try:
        await auth_service.peek_token(session, token=token[:200], purpose=TokenPurpose.reset_password)
    except AppError as exc:
        return _message(request, "链接无法使用", exc.detail, status=exc.status_code, ok=False)
    return render(request, "account/reset.html", {"token": token[:200], "errors": FormErrors()})


@router.post("/password/reset/{token}", name="account:reset")
async def reset(request: Request, token: str, form: CheckedForm, session: SessionDep) -> Response:
    await throttle.hit(session, f"links:{throttle.client_address(request)}", limit=30, message="尝试过于频繁")
    password = str(form.get("new_password") or "")[:200]
    errors = FormErrors()
    if password != str(form.get("new_password_again") or ""):
        errors.add("new_password_again", "两次输入的密码不一致")
    else:
        _user, refused = await attempt(
            session, lambda: accounts.reset_password(session, token=token[:200], password=password)
        )
        if refused is not None:
            if refused.field is None:
                return _message(request, "链接无法使用", refused.detail, status=refused.status_code, ok=False)
            errors.add("new_password", refused.detail)
    if errors:
        return render(request, "account/reset.html", {"token": token[:200], "errors": errors}, status=422)
    response = RedirectResponse(url_to(request, "account:login_page") + "?done=reset", status_code=303)
    # This browser's session ended with all the others.
    response.delete_cookie(request.app.state.settings.session_cookie, path="/")
    return response


@router.get("/login/link", name="account:sign_in_link_page")
async def sign_in_link_page(request: Request, email: str = "") -> Response:
    return _ask_page(request, "sign_in", email[:254])


@router.post("/login/link", name="account:sign_in_link")
async def sign_in_link(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    email = throttle.normalise_account(text(form, "email", 254))
    if "@" not in email:
        return _ask_page(request, "sign_in", email, "请输入有效的邮箱地址", status=422)
    await _throttle_mail(session, request, email)
    answer = await accounts.request_sign_in_link(session, email=email, settings=settings)
    return _message(request, "请查收邮件", answer)


@router.get("/login/link/{token}", name="account:sign_in_with_link_page")
async def sign_in_with_link_page(request: Request, token: str) -> Response:
    return render(request, "account/use_link.html", {"token": token[:200]})


@router.post("/login/link/{token}", name="account:sign_in_with_link")
async def sign_in_with_link(
    request: Request, token: str, _: CheckedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    await throttle.hit(session, f"links:{throttle.client_address(request)}", limit=30, message="尝试过于频繁")
    user, refused = await attempt(session, lambda: accounts.sign_in_with_link(session, token=token[:200]))
    if refused is not None or user is None:
        detail = refused.detail if refused else "链接无效"
        return _message(request, "链接无法使用", detail, status=refused.status_code if refused else 400, ok=False)
    session_token = await auth_service.start_session(session, user=user, days=settings.session_days)
    response = RedirectResponse(url_to(request, "listings:workspace_home"), status_code=303)
    signin.set_sign_in_cookies(request, response, settings, token=session_token, user=user)
    return response


@router.get("/account/password", name="account:password_page")
async def password_page(request: Request, actor: SignedInDep) -> Response:
    done = request.query_params.get("done") == "changed"
    return render(request, "account/password.html", {"errors": FormErrors(), "done": done})


@router.post("/account/password", name="account:password_change")
async def password_change(
    request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep, actor: SignedInDep
) -> Response:
    current = str(form.get("current_password") or "")[:200]
    new = str(form.get("new_password") or "")[:200]
    errors = FormErrors()
    if new != str(form.get("new_password_again") or ""):
        errors.add("new_password_again", "两次输入的新密码不一致")
    else:
        _user, refused = await attempt(
            session,
            lambda: auth_service.change_password(
                session, actor=actor, current=current, new=new, keep_token=request.cookies.get(settings.session_cookie)
            ),
        )
        if refused is not None:
            errors.add(refused.field, refused.detail)
    if errors:
        return render(request, "account/password.html", {"errors": errors, "done": False}, status=422)
    return RedirectResponse(url_to(request, "account:password_page") + "?done=changed", status_code=303)
