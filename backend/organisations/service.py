"""Organisations: who may create, change and withdraw them."""

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.kit.hooks import Hook
from backend.kit.pagination import PageParams, paginate
from backend.organisations.models import Organisation, OrganisationKind, OrganisationStatus
from backend.organisations.schemas import OrganisationCreate, OrganisationUpdate
from backend.taxonomy.models import Region

# Called in the renaming transaction with the organisation's id. Listings show their organisation's
# name and the search index holds it, so the listings domain queues each of its listings again
# (backend/listings/service.py); without that the old name stayed until the next reindex.
renamed: Hook[Callable[[AsyncSession, int], Awaitable[object]]] = Hook("organisations.renamed")


async def _check_unique(
    session: AsyncSession, *, name: str | None, credit_code: str | None, exclude_id: int | None
) -> None:
    if name is not None:
        query = select(Organisation.id).where(Organisation.name == name)
        if exclude_id is not None:
            query = query.where(Organisation.id != exclude_id)
        if (await session.exec(query)).first() is not None:
            raise Conflict(f"组织名称已存在：{name}", field="name")
    if credit_code is not None:
        query = select(Organisation.id).where(Organisation.credit_code == credit_code)
        if exclude_id is not None:
            query = query.where(Organisation.id != exclude_id)
        if (await session.exec(query)).first() is not None:
            raise Conflict("该统一社会信用代码已被其他组织使用", field="credit_code")


async def _check_region(session: AsyncSession, region_code: str | None) -> None:
    if region_code is not None and await session.get(Region, region_code) is None:
        raise Unprocessable(f"地区代码不存在：{region_code}", field="region_code")


async def get(session: AsyncSession, *, organisation_id: int) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("组织不存在")
    return organisation


async def names_of(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Organisation names by id, in one query (ids that are None or unknown are left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted)))
    return {organisation_id: name for organisation_id, name in rows.all() if organisation_id is not None}


async def find_by_name(session: AsyncSession, *, name: str) -> Organisation | None:
    return (await session.exec(select(Organisation).where(Organisation.name == name))).first()


def _visible_statuses(actor: Actor) -> list[OrganisationStatus]:
    """Anyone may pick an active organisation; staff also one still waiting for approval."""
    if actor.is_staff:
        return [OrganisationStatus.active, OrganisationStatus.pending]
    return [OrganisationStatus.active]


async def suggest(session: AsyncSession, *, actor: Actor, q: str, limit: int = 8) -> list[Organisation]:
    """Organisations whose name or short name contains the words typed (or whose credit code starts with them)."""
    q = q.strip()
    if not q:
        return []
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(Organisation)
        .where(col(Organisation.status).in_(_visible_statuses(actor)))
        .where(
            col(Organisation.name).like(f"%{pattern}%", escape="\\")
            | col(Organisation.short_name).like(f"%{pattern}%", escape="\\")
            | col(Organisation.credit_code).like(f"{pattern.upper()}%", escape="\\")
        )
        # Names that start with the words typed come first, then the shorter names.
        .order_by(
            col(Organisation.name).like(f"{pattern}%", escape="\\").desc(),
            func.length(Organisation.name),
            col(Organisation.id),
        )
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def resolve(session: AsyncSession, *, actor: Actor, text: str) -> list[Organisation]:
    """The organisations a typed name means: the one with exactly that name or credit code, else those containing it.

    One result is an answer; none or several is for the form to explain."""
    text = text.strip()
    if not text:
        return []
    exact = (
        await session.exec(
            select(Organisation)
            .where(col(Organisation.status).in_(_visible_statuses(actor)))
            .where((Organisation.name == text) | (Organisation.credit_code == text.upper()))
        )
    ).all()
    if exact:
        return list(exact)
    return await suggest(session, actor=actor, q=text, limit=6)


async def list_organisations(
    session: AsyncSession,
    *,
    actor: Actor,
    page: PageParams,
    kind: OrganisationKind | None = None,
    q: str | None = None,
    include_withdrawn: bool = False,
) -> tuple[list[Organisation], int]:
    query = select(Organisation)
    if not (include_withdrawn and actor.is_staff):
        query = query.where(Organisation.status == OrganisationStatus.active)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(col(Organisation.name).like(pattern, escape="\\"))
    return await paginate(session, query, page, col(Organisation.id))


async def create(session: AsyncSession, *, actor: Actor, data: OrganisationCreate) -> Organisation:
    """Register an organisation (staff only)."""
    require_staff(actor, "只有撮合专员或管理员可以新建组织")
    await _check_unique(session, name=data.name, credit_code=data.credit_code, exclude_id=None)
    await _check_region(session, data.region_code)
    organisation = Organisation(**data.model_dump())
    session.add(organisation)
    await session.flush()
    return organisation


async def update(
    session: AsyncSession, *, actor: Actor, organisation_id: int, data: OrganisationUpdate
) -> Organisation:
    """Staff may change any organisation; members may change their own profile."""
    require_signed_in(actor)
    organisation = await get(session, organisation_id=organisation_id)
    if not (actor.is_staff or actor.belongs_to(organisation.id)):
        raise Forbidden("只能修改本组织的信息")
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Unprocessable("组织名称不能为空", field="name")
    if organisation.kind == OrganisationKind.enterprise and "credit_code" in changes and not changes["credit_code"]:
        raise Unprocessable("企业必须填写统一社会信用代码", field="credit_code")
    await _check_unique(
        session, name=changes.get("name"), credit_code=changes.get("credit_code"), exclude_id=organisation.id
    )
    await _check_region(session, changes.get("region_code"))
    was_named = organisation.name
    for key, value in changes.items():
        setattr(organisation, key, "" if value is None and key not in ("credit_code", "region_code") else value)
    session.add(organisation)
    await session.flush()
    if organisation.name != was_named and organisation.id is not None:
        for handler in renamed.handlers:
            await handler(session, organisation.id)
    return organisation


async def withdraw(session: AsyncSession, *, actor: Actor, organisation_id: int) -> Organisation:
    """Withdraw an organisation: it disappears from public lists; its history stays."""
    require_staff(actor, "只有撮合专员或管理员可以撤销组织")
    organisation = await get(session, organisation_id=organisation_id)
    organisation.status = OrganisationStatus.withdrawn
    session.add(organisation)
    await session.flush()
    return organisation


NOT_APPROVED = "贵单位的入驻申请尚未通过审核：可以完善组织信息、保存草稿，审核通过后才能提交或答题"


async def awaiting_approval(session: AsyncSession, actor: Actor) -> str | None:
    """Why this account may not submit or answer yet (its organisation awaits approval), or None."""
    if actor.is_staff:
        return None
    if actor.organisation_id is None:
        return "账号尚未加入任何单位（加入申请待审核），暂不能提交或答题"
    organisation = await session.get(Organisation, actor.organisation_id)
    if organisation is None or organisation.status != OrganisationStatus.active:
        return NOT_APPROVED
    return None


async def require_approved(session: AsyncSession, actor: Actor) -> None:
    """Refuse (403) an account whose organisation is still waiting for approval, or that belongs to none yet."""
    reason = await awaiting_approval(session, actor)
    if reason is not None:
        raise Forbidden(reason)
