"""Accounts, login and sessions."""

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import AccountToken, AuthSession, Role, TokenPurpose, User
from backend.auth.passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from backend.auth.schemas import UserCreate, UserUpdate
from backend.kit.db import utcnow
from backend.kit.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.organisations.models import Organisation, OrganisationKind

# An enterprise account must belong to an enterprise; an issuer to a body that poses scenarios.
_ROLE_ORGANISATION_KINDS = {
    Role.enterprise: {OrganisationKind.enterprise},
    Role.issuer: {OrganisationKind.government, OrganisationKind.city, OrganisationKind.soe, OrganisationKind.lab},
}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _check_organisation(session: AsyncSession, role: Role, organisation_id: int | None) -> None:
    if role in _ROLE_ORGANISATION_KINDS and organisation_id is None:
        raise Unprocessable("出卷方和企业账号必须属于一个组织", field="organisation_id")
    if organisation_id is None:
        return
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise Unprocessable("所属组织不存在", field="organisation_id")
    allowed = _ROLE_ORGANISATION_KINDS.get(role)
    if allowed and organisation.kind not in allowed:
        raise Unprocessable("账号角色与所属组织类型不匹配", field="role")


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email.strip().lower()))
    return result.first()


async def create_user(session: AsyncSession, *, data: UserCreate, confirmed: bool = True) -> User:
    """Create an account; the email is unique regardless of case."""
    if await get_by_email(session, email=data.email) is not None:
        raise Conflict("该邮箱已注册", field="email")
    await _check_organisation(session, data.role, data.organisation_id)
    user = User(
        email=data.email,
        password_hash=hash_password(data.password),
        display_name=data.display_name,
        role=data.role,
        organisation_id=data.organisation_id,
        # An admin types the address in; its owner proves it by the first reset or sign-in link.
        email_confirmed_at=utcnow() if confirmed else None,
    )
    session.add(user)
    await session.flush()
    return user


async def update_user(session: AsyncSession, *, user_id: int, data: UserUpdate) -> User:
    """Change an account (admin only); a deactivated account loses its sessions at once."""
    user = await get_user(session, user_id=user_id)
    changes = data.model_dump(exclude_unset=True)
    role = Role(changes.get("role", user.role))
    if "role" in changes or "organisation_id" in changes:
        await _check_organisation(session, role, changes.get("organisation_id", user.organisation_id))
    password = changes.pop("password", None)
    if password:
        user.password_hash = hash_password(password)
    for key, value in changes.items():
        setattr(user, key, value)
    if password or changes.get("is_active") is False:
        await revoke_user_sessions(session, user_id=user_id)
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


async def list_users(session: AsyncSession, *, page: PageParams) -> tuple[list[User], int]:
    return await paginate(session, select(User), page, col(User.id))


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = await get_by_email(session, email=email)
    if user is None:
        verify_password(DUMMY_HASH, password)
        raise Unauthorized("邮箱或密码不正确")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("邮箱或密码不正确")
    if not user.is_active:
        raise Forbidden("该账号已停用，请联系管理员")
    return user


async def start_session(session: AsyncSession, *, user: User, days: int) -> str:
    """Open a login session and return the cookie token (never stored in clear)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user.id, expires_at=now + timedelta(days=days)))
    user.last_login_at = now
    session.add(user)
    await session.flush()
    return token


async def resolve_session(session: AsyncSession, *, token: str | None) -> Actor:
    if not token or len(token) > 200:
        return Actor()
    row = await session.get(AuthSession, _token_hash(token))
    if row is None or row.expires_at <= utcnow():
        return Actor()
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return Actor()
    organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return Actor(user=user, organisation_name=organisation.name if organisation else None)


async def end_session(session: AsyncSession, *, token: str | None) -> None:
    if not token:
        return
    row = await session.get(AuthSession, _token_hash(token))
    if row is not None:
        await session.delete(row)
        await session.flush()


async def revoke_user_sessions(session: AsyncSession, *, user_id: int, keep_token: str | None = None) -> None:
    """End every session of the account (but the one whose cookie is `keep_token`, if given)."""
    keep = _token_hash(keep_token) if keep_token else None
    rows = await session.exec(select(AuthSession).where(AuthSession.user_id == user_id))
    for row in rows.all():
        if row.token_hash != keep:
            await session.delete(row)
    await session.flush()


# Links sent by email: single-use, expiring, stored as a hash.


class LinkInvalid(AppError):
    status_code = 400
    slug = "link-invalid"
    title = "链接无效"


async def issue_token(session: AsyncSession, *, user_id: int, purpose: TokenPurpose, lifetime: timedelta) -> str:
    """A new link token; earlier unused tokens of the same purpose stop working (only the newest counts)."""
    earlier = await session.exec(
        select(AccountToken).where(
            AccountToken.user_id == user_id, AccountToken.purpose == purpose, col(AccountToken.used_at).is_(None)
        )
    )
    now = utcnow()
    for row in earlier.all():
        row.used_at = now
        session.add(row)
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(token_hash=_token_hash(token), user_id=user_id, purpose=purpose, expires_at=now + lifetime)
    )
    await session.flush()
    return token


async def peek_token(session: AsyncSession, *, token: str, purpose: TokenPurpose) -> User:
    """The account a link belongs to, without using it up; LinkInvalid when it cannot be used."""
    if not token or len(token) > 200:
        raise LinkInvalid("链接无效，请重新申请")
    row = await session.get(AccountToken, _token_hash(token))
    if row is None or row.purpose != purpose:
        raise LinkInvalid("链接无效，请重新申请")
    if row.used_at is not None:
        raise LinkInvalid("该链接已经使用过（或已被更新的链接取代），请重新申请")
    if row.expires_at <= utcnow():
        raise LinkInvalid("该链接已过期，请重新申请")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LinkInvalid("链接无效：账号不存在或已停用")
    return user


async def use_token(session: AsyncSession, *, token: str, purpose: TokenPurpose) -> User:
    """Check the link and use it up (a second use is refused)."""
    user = await peek_token(session, token=token, purpose=purpose)
    row = await session.get(AccountToken, _token_hash(token))
    assert row is not None
    row.used_at = utcnow()
    session.add(row)
    if user.email_confirmed_at is None:
        # Whoever followed a link sent to the address controls it.
        user.email_confirmed_at = row.used_at
        session.add(user)
    await session.flush()
    return user


def check_new_password(password: str, *, email: str, field: str = "new_password") -> None:
    if problem := password_problem(password, email=email):
        raise Unprocessable(problem, field=field)


async def set_password(session: AsyncSession, *, user: User, password: str, keep_token: str | None = None) -> None:
    """Replace the password and end every other session of the account."""
    check_new_password(password, email=user.email)
    user.password_hash = hash_password(password)
    session.add(user)
    await revoke_user_sessions(session, user_id=user.id, keep_token=keep_token)  # type: ignore[arg-type]


async def change_password(
    session: AsyncSession, *, actor: Actor, current: str, new: str, keep_token: str | None
) -> User:
    """A signed-in user changes the password with the current one; other sessions end."""
    user = await get_user(session, user_id=require_signed_in(actor))
    if not verify_password(user.password_hash, current):
        raise Unprocessable("当前密码不正确", field="current_password")
    if current == new:
        raise Unprocessable("新密码不能与当前密码相同", field="new_password")
    await set_password(session, user=user, password=new, keep_token=keep_token)
    return user
