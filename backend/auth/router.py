from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from backend.auth import service, signin
from backend.auth.schemas import LoginRequest, UserCreate, UserPublic, UserUpdate
from backend.auth.throttle import TooManyAttempts
from backend.dependencies import AdminDep, SessionDep, SettingsDep, SignedInDep
from backend.kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
    error_responses,
    problem_response,
)
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath

router = APIRouter(tags=["账号"])


@router.post(
    "/auth/login", response_model=UserPublic, responses=error_responses(Unauthorized, Forbidden, TooManyAttempts)
)
async def login(data: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in with email and password; sets an HttpOnly, SameSite session cookie.

    Failed attempts are throttled (a growing delay per account and per address, answered with
    429 and `retry_after`), never locked out: a browser that signed in before keeps its own
    count, and a one-time sign-in link can be asked for by email (`POST /auth/sign-in-link`)."""
    outcome = await signin.attempt(session, request, email=data.email, password=data.password)
    if isinstance(outcome, AppError):
        # Returned, not raised: the failure count must be committed with this response.
        problem = problem_response(outcome.status_code, outcome.slug, outcome.title, outcome.detail, **outcome.extra)
        if "retry_after" in outcome.extra:
            problem.headers["Retry-After"] = str(outcome.extra["retry_after"])
        return problem
    token = await service.start_session(session, user=outcome, days=settings.session_days)
    response = JSONResponse(UserPublic.model_validate(outcome).model_dump(mode="json"))
    signin.set_sign_in_cookies(request, response, settings, token=token, user=outcome)
    return response


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign out: the session is deleted on the server, so the old cookie no longer works."""
    await service.end_session(session, token=request.cookies.get(settings.session_cookie))
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response


@router.get("/users/me", response_model=UserPublic, responses=error_responses(Unauthorized))
async def me(actor: SignedInDep) -> UserPublic:
    return UserPublic.model_validate(actor.user)


@router.get("/users", response_model=Page[UserPublic], responses=error_responses(Unauthorized, Forbidden))
async def list_users(session: SessionDep, _: AdminDep, page: PageParams = Depends(page_params)) -> Page[UserPublic]:
    users, total = await service.list_users(session, page=page)
    return Page(
        items=[UserPublic.model_validate(u) for u in users], total=total, page=page.page, page_size=page.page_size
    )


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, Conflict, Unprocessable),
)
async def create_user(data: UserCreate, session: SessionDep, _: AdminDep) -> UserPublic:
    return UserPublic.model_validate(await service.create_user(session, data=data))


@router.get("/users/{user_id}", response_model=UserPublic, responses=error_responses(Unauthorized, Forbidden, NotFound))
async def get_user(user_id: IdPath, session: SessionDep, _: AdminDep) -> UserPublic:
    return UserPublic.model_validate(await service.get_user(session, user_id=user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Unprocessable),
)
async def update_user(user_id: IdPath, data: UserUpdate, session: SessionDep, _: AdminDep) -> UserPublic:
    return UserPublic.model_validate(await service.update_user(session, user_id=user_id, data=data))
