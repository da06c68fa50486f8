"""Accounts, login and sessions."""

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.auth.models import AuthSession, Role, User
from backend.auth.passwords import DUMMY_HASH, hash_password, verify_password
from backend.auth.schemas import UserCreate, UserUpdate
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
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


async def create_user(session: AsyncSession, *, data: UserCreate) -> User:
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
    return Actor(user=user)


async def end_session(session: AsyncSession, *, token: str | None) -> None:
    if not token:
        return
    row = await session.get(AuthSession, _token_hash(token))
    if row is not None:
        await session.delete(row)
        await session.flush()


async def revoke_user_sessions(session: AsyncSession, *, user_id: int) -> None:
    rows = await session.exec(select(AuthSession).where(AuthSession.user_id == user_id))
    for row in rows.all():
        await session.delete(row)
    await session.flush()
