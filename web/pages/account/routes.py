"""Sign in and sign out."""

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth import service as auth_service
from backend.auth import signin
from backend.dependencies import ActorDep, SessionDep, SettingsDep
from backend.kit.errors import AppError
from web.kit.csrf import CheckedForm
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

NOTICES = {"reset": "密码已重置，所有设备上的登录都已退出。请用新密码登录。"}


def safe_next(request: Request, target: str | None) -> str:
    """Only a path on this site: an absolute or protocol-relative URL would be an open redirect."""
    workspace = url_to(request, "listings:workspace_home")
    if not target:
        return workspace
    parts = urlsplit(target)
    path = parts.path or "/"
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return workspace
    if path.startswith((url_to(request, "account:login_page"), url_to(request, "account:logout"))):
        return workspace
    return path + (f"?{parts.query}" if parts.query else "")


def login_url(request: Request, target: str | None) -> str:
    return url_to(request, "account:login_page") + "?next=" + quote(safe_next(request, target), safe="/")


@router.get("/login", name="account:login_page")
async def login_page(request: Request, actor: ActorDep, next: str | None = None, done: str = "") -> Response:
    if actor.is_authenticated:
        return RedirectResponse(safe_next(request, next), status_code=303)
    context = {
        "next": safe_next(request, next),
        "email": "",
        "error": None,
        "offer_link": False,
        "notice": NOTICES.get(done),
    }
    return render(request, "account/login.html", context)


@router.post("/login", name="account:login")
async def login(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(request, str(form.get("next") or ""))
    context = {"next": target, "email": email, "notice": None}
    if not email or not password:
        return render(
            request, "account/login.html", {**context, "error": "请输入邮箱和密码", "offer_link": False}, status=422
        )
    outcome = await signin.attempt(session, request, email=email, password=password)
    if isinstance(outcome, AppError):
        # Rendered, not raised: the failure count is committed with this page.
        slowed = outcome.status_code == 429
        return render(
            request,
            "account/login.html",
            {**context, "error": outcome.detail, "offer_link": slowed},
            status=outcome.status_code,
        )
    token = await auth_service.start_session(session, user=outcome, days=settings.session_days)
    response = RedirectResponse(target, status_code=303)
    signin.set_sign_in_cookies(request, response, settings, token=token, user=outcome)
    return response


@router.post("/logout", name="account:logout")
async def logout(request: Request, _: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    await auth_service.end_session(session, token=request.cookies.get(settings.session_cookie))
    response = RedirectResponse(url_to(request, "listings:home"), status_code=303)
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response
