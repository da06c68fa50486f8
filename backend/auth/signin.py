"""Signing in, shared by the sign-in page and `POST /api/v1/auth/login`.

`attempt` returns the user or the refusal instead of raising it: the failure must be counted
(throttle.login_failed) in the request's own transaction, and a raised error would roll that
back. Callers render or return the refusal, so the count is committed with the response.
"""

from fastapi import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth import service, throttle
from backend.auth.models import User
from backend.kit.errors import AppError, Unauthorized
from backend.settings import Settings

SLOW_DOWN = "登录尝试过于频繁，请 {wait}后再试；也可以通过邮件获取一次性登录链接"


async def attempt(session: AsyncSession, request: Request, *, email: str, password: str) -> User | AppError:
    account = throttle.normalise_account(email)
    keys = throttle.login_keys(request, account)
    wait = await throttle.login_wait(session, keys)
    if wait is not None:
        return throttle.TooManyAttempts(
            SLOW_DOWN.format(wait=throttle.wait_text(wait.seconds)), retry_after=wait.seconds
        )
    try:
        user = await service.authenticate(session, email=email, password=password)
    except Unauthorized as exc:
        await throttle.login_failed(session, keys)
        return exc
    except AppError as exc:
        return exc
    # Only the device's own count starts afresh: clearing the address (or account) count on a
    # success would let an attacker reset it by signing in to an account of their own.
    await throttle.login_succeeded(session, [k for k in keys if k.startswith("login-device:")])
    return user


def set_sign_in_cookies(request: Request, response: Response, settings: Settings, *, token: str, user: User) -> None:
    """The session cookie, and the device cookie that lets this browser past the account-wide throttle."""
    secure = settings.cookie_secure or request.url.scheme == "https"
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        throttle.new_device_cookie(settings.secret_key, throttle.normalise_account(user.email)),
        max_age=365 * 86400,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
