"""Recording and reading the audit log. Callers decide who may read an object's entries."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.models import AuditEntry
from backend.auth.actor import Actor
from backend.auth.models import User


async def record(
    session: AsyncSession,
    *,
    actor: Actor | None,
    entity_kind: str,
    entity_id: int,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    entry = AuditEntry(
        entity_kind=entity_kind,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note[:2000],
        actor_id=actor.user_id if actor else None,
    )
    session.add(entry)
    await session.flush()
    return entry


async def history(session: AsyncSession, *, entity_kind: str, entity_id: int) -> list[tuple[AuditEntry, str | None]]:
    """Entries for one object, oldest first, each with the acting user's display name."""
    rows = await session.exec(
        select(AuditEntry, User.display_name)
        .join(User, col(User.id) == col(AuditEntry.actor_id), isouter=True)
        .where(AuditEntry.entity_kind == entity_kind, AuditEntry.entity_id == entity_id)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    return list(rows.all())
