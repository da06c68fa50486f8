"""Request-scoped dependencies: settings, the one transaction, and the actor."""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth import service as auth_service
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role
from backend.kit.db import session_scope
from backend.kit.errors import Forbidden
from backend.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# Requests with these methods only read (see `backend.kit.db` for why SQLite cares).
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's single transaction: committed before the response is sent, rolled back on error."""
    write = request.method not in _READ_ONLY_METHODS
    async with session_scope(request.app.state.sessionmaker, write=write) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    actor = await auth_service.resolve_session(session, token=request.cookies.get(settings.session_cookie))
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A permission as a dependency: signed in, and (if roles are given) with one of them."""

    async def _dependency(actor: ActorDep) -> Actor:
        require_signed_in(actor)
        if roles and actor.role not in roles:
            raise Forbidden("当前账号无权执行此操作")
        return actor

    return _dependency


SignedInDep = Annotated[Actor, Depends(require_roles())]
StaffDep = Annotated[Actor, Depends(require_roles(Role.matchmaker, Role.admin))]
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]
