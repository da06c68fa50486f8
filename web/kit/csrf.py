"""CSRF protection for page forms: a random per-browser secret in a cookie, and an HMAC of it in every form.

A cross-site page can make the browser send the cookie but cannot read it, so it cannot
produce the matching form token. Every state-changing page route takes `CheckedForm`,
which reads the form and refuses it (403) when the token is missing or wrong, and (422, naming
the field) when a field is not valid UTF-8 or holds NUL or other control characters, as the API does.
"""

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from backend.kit.errors import Forbidden
from backend.kit.textguard import body_problem

CSRF_COOKIE = "sm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _sign(request: Request, secret: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, f"csrf:{secret}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to embed in this response's forms (creates the browser secret on first use)."""
    secret = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_secret", None)
    if not secret or len(secret) > 100:
        secret = secrets.token_urlsafe(24)
        request.state.new_csrf_secret = secret
    return _sign(request, secret)


class LazyToken:
    """`csrf_token(request)` made only when a template writes it: a page without a form (a visitor's
    list page) then sets no cookie and is the same for every visitor, so it may be kept whole
    (backend/kit/visitor_answers.py)."""

    __slots__ = ("_request", "_token")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._token: str | None = None

    def __str__(self) -> str:
        if self._token is None:
            self._token = csrf_token(self._request)
        return self._token

    def __html__(self) -> str:
        return str(self)  # hex digits: nothing to escape

    @property
    def written(self) -> bool:
        return self._token is not None


def attach_csrf_cookie(request: Request, response: Response) -> None:
    secret = getattr(request.state, "new_csrf_secret", None)
    if secret:
        response.set_cookie(CSRF_COOKIE, secret, httponly=True, samesite="lax", secure=is_secure(request), path="/")


def is_secure(request: Request) -> bool:
    return bool(request.app.state.settings.cookie_secure) or request.url.scheme == "https"


async def checked_form(request: Request) -> FormData:
    # The raw body first: the form parser would turn invalid UTF-8 into "�" or "ÿþ" without a word.
    body = await request.body()
    form = await request.form()
    secret = request.cookies.get(CSRF_COOKIE)
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not secret or not isinstance(sent, str) or not hmac.compare_digest(sent, _sign(request, secret)):
        raise Forbidden("表单已过期或来源不明，请刷新页面后重试")
    # The API's text rules (valid UTF-8, no NUL or other control characters), refused the same way.
    problem = body_problem(request.headers.get("content-type", "").encode("latin-1"), body)
    if problem is not None:
        raise problem.error()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
