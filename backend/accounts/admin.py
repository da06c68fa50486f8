"""The admin desk: organisations (create, edit, merge duplicates, deactivate) and users (create,
change role, deactivate, send a reset link), each change written to the audit log.

Admins only. Merging moves everything that points at the duplicate (accounts, listings,
answers, memberships, registrations …: every foreign key to organisation.id, found from the
table metadata so a new table is not forgotten) to the organisation that is kept, then
withdraws the duplicate. When a move would break a uniqueness rule (both took part in the same
opportunity, both registered for one event) nothing is merged and the admin is told.
"""

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

import backend.models  # noqa: F401 — every table, so the merge sees every foreign key
from backend.audit import service as audit
from backend.auth import service as auth_service
from backend.auth.actor import Actor
from backend.auth.actor import require_admin as require_signed_in_admin
from backend.auth.models import User
from backend.auth.schemas import UserCreate, UserUpdate
from backend.kit.errors import Conflict, Unprocessable
from backend.kit.pagination import PageParams
from backend.listings.models import Offering, Opportunity
from backend.organisations import service as organisation_service
from backend.organisations.models import Organisation, OrganisationStatus
from backend.organisations.schemas import OrganisationCreate, OrganisationUpdate
from backend.outbox.service import record_listing_change


def _id(row: Any) -> int:
    """The primary key of a flushed row (mypy sees `int | None`)."""
    assert row.id is not None
    return int(row.id)


def require_admin(actor: Actor) -> None:
    """The admin desk is for admins only (401 for visitors, 403 for other accounts)."""
    require_signed_in_admin(actor, "只有管理员可以使用管理台")


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_users(
    session: AsyncSession, *, actor: Actor, page: PageParams, q: str | None = None, role: str | None = None
) -> tuple[list[User], int]:
    require_admin(actor)
    query = select(User)
    if q:
        query = query.where(
            or_(col(User.email).like(_like(q.lower()), escape="\\"), col(User.display_name).like(_like(q), escape="\\"))
        )
    if role:
        query = query.where(User.role == role)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(col(User.id)).offset(page.offset).limit(page.page_size))
    return list(rows.all()), total


async def list_organisations(
    session: AsyncSession, *, actor: Actor, page: PageParams, q: str | None = None
) -> tuple[list[Organisation], int]:
    require_admin(actor)
    query = select(Organisation)
    if q:
        query = query.where(
            or_(
                col(Organisation.name).like(_like(q), escape="\\"),
                col(Organisation.credit_code).like(_like(q.upper()), escape="\\"),
            )
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(col(Organisation.id)).offset(page.offset).limit(page.page_size))
    return list(rows.all()), total


async def create_user(session: AsyncSession, *, actor: Actor, data: UserCreate) -> User:
    require_admin(actor)
    user = await auth_service.create_user(session, data=data)
    await audit.record(
        session,
        actor=actor,
        entity_kind="user",
        entity_id=_id(user),
        action="created",
        to_state=user.role,
    )
    return user


async def update_user(session: AsyncSession, *, actor: Actor, user_id: int, data: UserUpdate) -> User:
    require_admin(actor)
    before = await auth_service.get_user(session, user_id=user_id)
    old_role, old_active = before.role, before.is_active
    if user_id == actor.user_id and (data.is_active is False or (data.role is not None and data.role != old_role)):
        raise Unprocessable("不能停用自己的账号或修改自己的角色", field="role")
    user = await auth_service.update_user(session, user_id=user_id, data=data)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    if user.role != old_role:
        await audit.record(
            session,
            actor=actor,
            entity_kind="user",
            entity_id=user_id,
            action="role-changed",
            from_state=old_role,
            to_state=user.role,
        )
    if user.is_active != old_active:
        await audit.record(
            session,
            actor=actor,
            entity_kind="user",
            entity_id=user_id,
            action="activated" if user.is_active else "deactivated",
        )
    other = sorted(k for k in changes if k not in ("role", "is_active"))
    if other:
        await audit.record(
            session, actor=actor, entity_kind="user", entity_id=user_id, action="edited", note="、".join(other)
        )
    return user


async def create_organisation(session: AsyncSession, *, actor: Actor, data: OrganisationCreate) -> Organisation:
    require_admin(actor)
    organisation = await organisation_service.create(session, actor=actor, data=data)
    await audit.record(session, actor=actor, entity_kind="organisation", entity_id=_id(organisation), action="created")
    return organisation


async def update_organisation(
    session: AsyncSession, *, actor: Actor, organisation_id: int, data: OrganisationUpdate
) -> Organisation:
    require_admin(actor)
    organisation = await organisation_service.update(session, actor=actor, organisation_id=organisation_id, data=data)
    await audit.record(
        session,
        actor=actor,
        entity_kind="organisation",
        entity_id=organisation_id,
        action="edited",
        note="、".join(sorted(data.model_dump(exclude_unset=True))),
    )
    return organisation


async def deactivate_organisation(session: AsyncSession, *, actor: Actor, organisation_id: int) -> Organisation:
    """Withdraw the organisation and deactivate its accounts (their sessions end)."""
    require_admin(actor)
    organisation = await organisation_service.get(session, organisation_id=organisation_id)
    previous = organisation.status
    organisation = await organisation_service.withdraw(session, actor=actor, organisation_id=organisation_id)
    members = await session.exec(select(User).where(User.organisation_id == organisation_id, col(User.is_active)))
    for user in members.all():
        await auth_service.update_user(session, user_id=user.id, data=UserUpdate(is_active=False))  # type: ignore[arg-type]
    await audit.record(
        session,
        actor=actor,
        entity_kind="organisation",
        entity_id=organisation_id,
        action="deactivated",
        from_state=previous,
        to_state=organisation.status,
    )
    return organisation


def _organisation_references() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to organisation.id."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "organisation" and fk.column.name == "id":
                found.append((table.name, fk.parent.name))
    return found


async def merge_organisations(session: AsyncSession, *, actor: Actor, duplicate_id: int, keep_id: int) -> Organisation:
    """Move everything of `duplicate_id` to `keep_id` and withdraw the duplicate."""
    require_admin(actor)
    if duplicate_id == keep_id:
        raise Unprocessable("不能与自身合并", field="keep_id")
    duplicate = await organisation_service.get(session, organisation_id=duplicate_id)
    keep = await organisation_service.get(session, organisation_id=keep_id)
    if duplicate.kind != keep.kind:
        raise Unprocessable("只能合并同一类型的组织", field="keep_id")
    moved: list[str] = []
    try:
        async with session.begin_nested():
            for table_name, column in _organisation_references():
                table = SQLModel.metadata.tables[table_name]
                result = await session.exec(
                    update(table).where(table.c[column] == duplicate_id).values({column: keep_id})
                )
                if result.rowcount:
                    moved.append(f"{table_name}.{column}×{result.rowcount}")
    except IntegrityError as exc:
        raise Conflict("两个组织在同一事项中都有记录（如对同一机会都已答题），无法自动合并，请先处理其中一方") from exc
    # The kept organisation's listings (now including the moved ones) are re-indexed under its name.
    for model, kind in ((Opportunity, "opportunity"), (Offering, "offering")):
        ids = await session.exec(select(model.id).where(model.organisation_id == keep_id))
        for listing_id in ids.all():
            await record_listing_change(session, kind=kind, listing_id=listing_id)  # type: ignore[arg-type]
    if keep.credit_code is None and duplicate.credit_code:
        code = duplicate.credit_code
        duplicate.credit_code = None
        session.add(duplicate)
        await session.flush()
        keep.credit_code = code
    duplicate.status = OrganisationStatus.withdrawn
    duplicate.name = f"{duplicate.name}（已并入 {keep.id}）"[:200]
    session.add_all([duplicate, keep])
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="organisation",
        entity_id=duplicate_id,
        action="merged",
        to_state=OrganisationStatus.withdrawn,
        note=f"并入 {keep.name}（{keep.id}）：" + "，".join(moved),
    )
    await audit.record(
        session,
        actor=actor,
        entity_kind="organisation",
        entity_id=keep_id,
        action="merged-in",
        note=f"并入了 {duplicate_id}",
    )
    return keep
