"""/registrations, /invitations and the password and sign-in-link endpoints.

Endpoints that anyone can call and that send mail or create accounts are throttled per
client address (and per account where there is one). The refusals of the work itself are
returned, not raised, after its savepoint is rolled back, so that the throttle's count of the
attempt is committed even when the attempt is refused.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import admin, service
from backend.accounts.models import RegistrationStatus
from backend.accounts.schemas import (
    Accepted,
    ConsortiumInvitationCreate,
    Decision,
    InvitationAccept,
    InvitationPublic,
    JoinRequestCreate,
    RegistrationCreate,
    RegistrationDetail,
    RegistrationPublic,
    SimilarOrganisation,
    StaffInvitationCreate,
)
from backend.auth import service as auth_service
from backend.auth import signin, throttle
from backend.auth.models import Role
from backend.auth.schemas import EmailOnly, PasswordChange, PasswordReset, TokenOnly, UserCreate, UserPublic, UserUpdate
from backend.auth.service import LinkInvalid
from backend.auth.throttle import TooManyAttempts
from backend.dependencies import ActorDep, AdminDep, SessionDep, SettingsDep, SignedInDep
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
from backend.organisations.schemas import OrganisationCreate, OrganisationPublic, OrganisationUpdate

router = APIRouter(tags=["账号与入驻"])
T = TypeVar("T")

# Requests per client address (and per account) per hour.
REGISTER_PER_ADDRESS = 10
MAIL_PER_ACCOUNT = 5
MAIL_PER_ADDRESS = 20
INVITE_PER_ACTOR = 50
LINKS_PER_ADDRESS = 30


async def _counted(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T | JSONResponse:
    """Run the work in a savepoint; a refusal is answered (not raised) so the throttle count stays."""
    try:
        async with session.begin_nested():
            return await work()
    except AppError as exc:
        return problem_response(exc.status_code, exc.slug, exc.title, exc.detail, field=exc.field, **exc.extra)


def _address(request: Request) -> str:
    return throttle.client_address(request)


def _ok(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


@router.post(
    "/registrations",
    status_code=201,
    response_model=RegistrationPublic,
    responses=error_responses(Conflict, Unprocessable, TooManyAttempts),
)
async def register(data: RegistrationCreate, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """企业入驻申请. A confirmation link is emailed; the application reaches the matchmakers once it is followed.

    Until approval the account can sign in, complete the profile and keep drafts, but not submit or answer."""
    await throttle.hit(session, f"register:{_address(request)}", limit=REGISTER_PER_ADDRESS, message="申请提交过于频繁")
    result = await _counted(session, lambda: service.register(session, data=data, settings=settings))
    return result if isinstance(result, Response) else _ok(RegistrationPublic.model_validate(result), 201)


@router.post(
    "/registrations/join",
    status_code=201,
    response_model=RegistrationPublic,
    responses=error_responses(Conflict, NotFound, Unprocessable, TooManyAttempts),
)
async def request_join(
    data: JoinRequestCreate, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Ask to join an organisation already on the platform; its admin or a matchmaker decides."""
    await throttle.hit(session, f"register:{_address(request)}", limit=REGISTER_PER_ADDRESS, message="申请提交过于频繁")
    result = await _counted(session, lambda: service.request_join(session, data=data, settings=settings))
    return result if isinstance(result, Response) else _ok(RegistrationPublic.model_validate(result), 201)


@router.post("/registrations/confirm", response_model=Accepted, responses=error_responses(LinkInvalid, TooManyAttempts))
async def confirm_email(data: TokenOnly, request: Request, session: SessionDep) -> Response:
    """Follow the emailed confirmation link (single-use, expiring)."""
    await throttle.hit(session, f"links:{_address(request)}", limit=LINKS_PER_ADDRESS, message="尝试过于频繁")
    result = await _counted(session, lambda: service.confirm_email(session, token=data.token))
    if isinstance(result, Response):
        return result
    return _ok(Accepted(detail="邮箱已确认，申请已提交撮合专员审核。"))


@router.get("/registrations/mine", response_model=RegistrationPublic | None, responses=error_responses(Unauthorized))
async def my_registration(session: SessionDep, actor: SignedInDep) -> RegistrationPublic | None:
    """The signed-in account's own application and its state (None for accounts made otherwise)."""
    registration = await service.my_registration(session, actor=actor)
    return RegistrationPublic.model_validate(registration) if registration else None


@router.get(
    "/registrations", response_model=Page[RegistrationPublic], responses=error_responses(Unauthorized, Forbidden)
)
async def list_registrations(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    status: RegistrationStatus | None = RegistrationStatus.pending,
    q: Annotated[str | None, Query(max_length=100, description="名称、邮箱或信用代码包含")] = None,
) -> Page[RegistrationPublic]:
    """The decision queue: matchmakers see every application, an organisation's admin its join requests."""
    rows, total = await service.list_queue(session, actor=actor, page=page, status=status, q=q)
    return Page(
        items=[RegistrationPublic.model_validate(r) for r in rows],
        total=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.get(
    "/registrations/{registration_id}",
    response_model=RegistrationDetail,
    responses=error_responses(Unauthorized, NotFound),
)
async def get_registration(registration_id: IdPath, session: SessionDep, actor: ActorDep) -> RegistrationDetail:
    """One application, with the existing organisations whose name or credit code is close to it."""
    registration = await service.get_readable(session, actor=actor, registration_id=registration_id)
    similar = (
        await service.organisations_by_id(session, registration.similar)
        if service.can_decide(actor, registration)
        else []
    )
    detail = RegistrationDetail.model_validate(registration)
    detail.similar_organisations = [
        SimilarOrganisation(id=o.id, name=o.name, credit_code=o.credit_code) for o in similar
    ]
    return detail


@router.post(
    "/registrations/{registration_id}/decision",
    response_model=RegistrationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def decide(registration_id: IdPath, data: Decision, session: SessionDep, actor: ActorDep) -> RegistrationPublic:
    """Approve, or refuse with a reason; the applicant is told in-app and by email."""
    return RegistrationPublic.model_validate(
        await service.decide(session, actor=actor, registration_id=registration_id, data=data)
    )


@router.post("/auth/password/forgot", response_model=Accepted, responses=error_responses(TooManyAttempts))
async def forgot_password(data: EmailOnly, request: Request, session: SessionDep, settings: SettingsDep) -> Accepted:
    """Email a single-use, time-limited reset link. The answer is the same whether or not the address has an account."""
    await throttle.hit(session, f"mail-address:{_address(request)}", limit=MAIL_PER_ADDRESS, message="请求过于频繁")
    await throttle.hit(session, f"mail-account:{data.email}", limit=MAIL_PER_ACCOUNT, message="该邮箱的请求过于频繁")
    return Accepted(detail=await service.request_password_reset(session, email=data.email, settings=settings))


@router.post(
    "/auth/password/reset",
    response_model=Accepted,
    responses=error_responses(LinkInvalid, Unprocessable, TooManyAttempts),
)
async def reset_password(data: PasswordReset, request: Request, session: SessionDep) -> Response:
    """Set a new password with the emailed link; every session of the account ends."""
    await throttle.hit(session, f"links:{_address(request)}", limit=LINKS_PER_ADDRESS, message="尝试过于频繁")
    result = await _counted(
        session, lambda: service.reset_password(session, token=data.token, password=data.new_password)
    )
    if isinstance(result, Response):
        return result
    return _ok(Accepted(detail="密码已重置，请用新密码登录。"))


@router.post("/auth/password/change", response_model=Accepted, responses=error_responses(Unauthorized, Unprocessable))
async def change_password(
    data: PasswordChange, request: Request, session: SessionDep, settings: SettingsDep, actor: SignedInDep
) -> Accepted:
    """Change the password with the current one; every other session of the account ends."""
    await auth_service.change_password(
        session,
        actor=actor,
        current=data.current_password,
        new=data.new_password,
        keep_token=request.cookies.get(settings.session_cookie),
    )
    return Accepted(detail="密码已修改，其他设备上的登录已退出。")


@router.post("/auth/sign-in-link", response_model=Accepted, responses=error_responses(TooManyAttempts))
async def sign_in_link(data: EmailOnly, request: Request, session: SessionDep, settings: SettingsDep) -> Accepted:
    """Email a one-time sign-in link (for an owner slowed down by someone else's failed attempts)."""
    await throttle.hit(session, f"mail-address:{_address(request)}", limit=MAIL_PER_ADDRESS, message="请求过于频繁")
    await throttle.hit(session, f"mail-account:{data.email}", limit=MAIL_PER_ACCOUNT, message="该邮箱的请求过于频繁")
    return Accepted(detail=await service.request_sign_in_link(session, email=data.email, settings=settings))


@router.post(
    "/auth/sign-in-link/use", response_model=UserPublic, responses=error_responses(LinkInvalid, TooManyAttempts)
)
async def use_sign_in_link(data: TokenOnly, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in with the emailed one-time link; this browser is trusted for password sign-ins afterwards."""
    await throttle.hit(session, f"links:{_address(request)}", limit=LINKS_PER_ADDRESS, message="尝试过于频繁")
    result = await _counted(session, lambda: service.sign_in_with_link(session, token=data.token))
    if isinstance(result, Response):
        return result
    token = await auth_service.start_session(session, user=result, days=settings.session_days)
    response = _ok(UserPublic.model_validate(result))
    signin.set_sign_in_cookies(request, response, settings, token=token, user=result)
    return response


@router.post(
    "/users/{user_id}/reset-link",
    response_model=Accepted,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def send_reset_link(user_id: IdPath, session: SessionDep, settings: SettingsDep, actor: AdminDep) -> Accepted:
    """An admin has a reset link sent to the account's owner."""
    user = await service.send_reset_link_for(session, actor=actor, user_id=user_id, settings=settings)
    return Accepted(detail=f"重置密码链接已发送至 {user.email}")


@router.post(
    "/invitations/staff",
    status_code=201,
    response_model=InvitationPublic,
    responses=error_responses(Unauthorized, Forbidden, Conflict, Unprocessable, TooManyAttempts),
)
async def invite_staff(
    data: StaffInvitationCreate, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> InvitationPublic:
    """An admin or matchmaker invites a department's staff member (issuer role) by email."""
    if actor.user_id is not None:
        await throttle.hit(session, f"invite:{actor.user_id}", limit=INVITE_PER_ACTOR, message="邀请发送过于频繁")
    return InvitationPublic.model_validate(
        await service.invite_staff(session, actor=actor, data=data, settings=settings)
    )


@router.post(
    "/answers/{answer_id}/invitations",
    status_code=201,
    response_model=InvitationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, TooManyAttempts),
)
async def invite_consortium_member(
    answer_id: IdPath, data: ConsortiumInvitationCreate, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> InvitationPublic:
    """The enterprise leading a draft answer invites a consortium member that is not on the platform yet."""
    if actor.user_id is not None:
        await throttle.hit(session, f"invite:{actor.user_id}", limit=INVITE_PER_ACTOR, message="邀请发送过于频繁")
    return InvitationPublic.model_validate(
        await service.invite_consortium_member(session, actor=actor, answer_id=answer_id, data=data, settings=settings)
    )


@router.post(
    "/invitations/accept",
    status_code=201,
    response_model=UserPublic,
    responses=error_responses(LinkInvalid, Conflict, Unprocessable, TooManyAttempts),
)
async def accept_invitation(data: InvitationAccept, request: Request, session: SessionDep) -> Response:
    """Use an invitation link (single-use, expiring): the account is created; sign in afterwards."""
    await throttle.hit(session, f"links:{_address(request)}", limit=LINKS_PER_ADDRESS, message="尝试过于频繁")
    result: Any = await _counted(session, lambda: service.accept_invitation(session, data=data))
    if isinstance(result, Response):
        return result
    return _ok(UserPublic.model_validate(result[0]), 201)


# The admin desk's operations (admins only), each written to the audit log.


class MergeRequest(BaseModel):
    keep_id: int = Field(ge=1, le=2**31 - 1, description="保留的组织；本组织的一切移到它名下后撤销")


@router.get("/admin/users", response_model=Page[UserPublic], responses=error_responses(Unauthorized, Forbidden))
async def admin_users(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="邮箱或姓名包含")] = None,
    role: Role | None = None,
) -> Page[UserPublic]:
    """Accounts with their last sign-in, searchable by email or name."""
    rows, total = await admin.list_users(session, actor=actor, page=page, q=q, role=role)
    return Page(
        items=[UserPublic.model_validate(u) for u in rows], total=total, page=page.page, page_size=page.page_size
    )


@router.post(
    "/admin/users",
    status_code=201,
    response_model=UserPublic,
    responses=error_responses(Unauthorized, Forbidden, Conflict, Unprocessable),
)
async def admin_create_user(data: UserCreate, session: SessionDep, actor: ActorDep) -> UserPublic:
    return UserPublic.model_validate(await admin.create_user(session, actor=actor, data=data))


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Unprocessable),
)
async def admin_update_user(user_id: IdPath, data: UserUpdate, session: SessionDep, actor: ActorDep) -> UserPublic:
    """Change the role, the organisation or deactivate (the account's sessions end at once)."""
    return UserPublic.model_validate(await admin.update_user(session, actor=actor, user_id=user_id, data=data))


@router.get(
    "/admin/organisations", response_model=Page[OrganisationPublic], responses=error_responses(Unauthorized, Forbidden)
)
async def admin_organisations(
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="名称或信用代码包含")] = None,
) -> Page[OrganisationPublic]:
    """Every organisation, pending and withdrawn ones included."""
    rows, total = await admin.list_organisations(session, actor=actor, page=page, q=q)
    return Page(
        items=[OrganisationPublic.model_validate(o) for o in rows],
        total=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.post(
    "/admin/organisations",
    status_code=201,
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, Conflict, Unprocessable),
)
async def admin_create_organisation(
    data: OrganisationCreate, session: SessionDep, actor: ActorDep
) -> OrganisationPublic:
    return OrganisationPublic.model_validate(await admin.create_organisation(session, actor=actor, data=data))


@router.patch(
    "/admin/organisations/{organisation_id}",
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def admin_update_organisation(
    organisation_id: IdPath, data: OrganisationUpdate, session: SessionDep, actor: ActorDep
) -> OrganisationPublic:
    return OrganisationPublic.model_validate(
        await admin.update_organisation(session, actor=actor, organisation_id=organisation_id, data=data)
    )


@router.post(
    "/admin/organisations/{organisation_id}/deactivate",
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def admin_deactivate_organisation(
    organisation_id: IdPath, session: SessionDep, actor: ActorDep
) -> OrganisationPublic:
    """Withdraw the organisation and deactivate its accounts."""
    return OrganisationPublic.model_validate(
        await admin.deactivate_organisation(session, actor=actor, organisation_id=organisation_id)
    )


@router.post(
    "/admin/organisations/{organisation_id}/merge",
    response_model=OrganisationPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def admin_merge_organisation(
    organisation_id: IdPath, data: MergeRequest, session: SessionDep, actor: ActorDep
) -> OrganisationPublic:
    """Merge a duplicate into the organisation kept (accounts, listings, answers … move; the duplicate is withdrawn)."""
    return OrganisationPublic.model_validate(
        await admin.merge_organisations(session, actor=actor, duplicate_id=organisation_id, keep_id=data.keep_id)
    )
