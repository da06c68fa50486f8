"""Sign in and sign out."""

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth import service as auth_service
from backend.auth.ratelimit import TooManyAttempts, client_address, login_limiter, normalise_account
from backend.dependencies import ActorDep, SessionDep, SettingsDep
from backend.kit.errors import Forbidden, Unauthorized
from web.kit.csrf import CheckedForm, is_secure
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute or protocol-relative URL would be an open redirect."""
    if not target:
        return "/workspace"
    parts = urlsplit(target)
    path = parts.path or "/"
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/workspace"
    if path.startswith(("/login", "/logout")):
        return "/workspace"
    return path + (f"?{parts.query}" if parts.query else "")


def login_url(target: str | None) -> str:
    return "/login?next=" + quote(safe_next(target), safe="/")


@router.get("/login", name="account:login_page")
async def login_page(request: Request, actor: ActorDep, next: str | None = None) -> Response:
    if actor.is_authenticated:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "account/login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login", name="account:login")
async def login(request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    context = {"next": target, "email": email}
    if not email or not password:
        return render(request, "account/login.html", {**context, "error": "请输入邮箱和密码"}, status=422)
    limiter, account, address = login_limiter(request.app), normalise_account(email), client_address(request)
    try:
        limiter.check(account=account, address=address)
        try:
            user = await auth_service.authenticate(session, email=email, password=password)
        except Unauthorized:
            limiter.failed(account=account, address=address)
            raise
    except (Unauthorized, Forbidden, TooManyAttempts) as exc:
        return render(request, "account/login.html", {**context, "error": exc.detail}, status=exc.status_code)
    limiter.succeeded(account=account)
    token = await auth_service.start_session(session, user=user, days=settings.session_days)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )
    return response


@router.post("/logout", name="account:logout")
async def logout(request: Request, _: CheckedForm, session: SessionDep, settings: SettingsDep) -> Response:
    await auth_service.end_session(session, token=request.cookies.get(settings.session_cookie))
    response = RedirectResponse(url_to(request, "listings:home"), status_code=303)
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response
