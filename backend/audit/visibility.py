"""Who may read an object's history: each domain registers its own read check here.

The audit router shows the history of an object only to those who may see the object's
workings; which those are is the owning domain's rule, so the domain registers a check
(`register("answer")(check)`) and audit never imports the domains above it. An entity kind
with no registered check is reported as missing, never shown.
"""

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.kit.errors import NotFound

# check(session, actor, entity_id): returns if the actor may read the history, raises NotFound otherwise.
HistoryCheck = Callable[[AsyncSession, Actor, int], Awaitable[None]]

_checks: dict[str, HistoryCheck] = {}


def register(entity_kind: str) -> Callable[[HistoryCheck], HistoryCheck]:
    def _register(check: HistoryCheck) -> HistoryCheck:
        _checks[entity_kind] = check
        return check

    return _register


def registered_kinds() -> frozenset[str]:
    return frozenset(_checks)


async def require_history_readable(session: AsyncSession, *, actor: Actor, entity_kind: str, entity_id: int) -> None:
    check = _checks.get(entity_kind)
    if check is None:
        raise NotFound("记录不存在")
    await check(session, actor, entity_id)
