"""十百千 targets: set by admins per year, province and city."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from backend.audit import service as audit
from backend.auth.actor import Actor
from backend.demonstration.models import (
    METRIC_LABELS,
    Target,
    TargetScope,
)
from backend.demonstration.schemas import (
    TargetSet,
)
from backend.demonstration.service._common import CITY_LEVELS, PLAN_TARGETS, _require_admin
from backend.kit.china_time import china_today
from backend.kit.db import utcnow
from backend.kit.errors import NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.taxonomy.models import Region, Track
from backend.taxonomy.regions import PROVINCE_CODE

# ---------------------------------------------------------------- targets


async def _scope_code(session: AsyncSession, scope: TargetScope, code: str) -> str:
    if scope == TargetScope.province:
        return PROVINCE_CODE
    if scope == TargetScope.city:
        region = await session.get(Region, code) if code else None
        if region is None or region.level not in CITY_LEVELS:
            raise Unprocessable("请选择一个设区市（或赣江新区）", field="scope_code")
        return code
    if not code or await session.get(Track, code) is None:
        raise Unprocessable(f"未知的赛道代码：{code}", field="scope_code")
    return code


async def set_target(session: AsyncSession, *, actor: Actor, data: TargetSet) -> Target:
    """Create or change one target (admins only); the old value goes into the audit log."""
    _require_admin(actor)
    code = await _scope_code(session, data.scope, data.scope_code)
    target = (
        await session.exec(
            select(Target).where(
                Target.scope == data.scope,
                Target.scope_code == code,
                Target.year == data.year,
                Target.metric == data.metric,
            )
        )
    ).first()
    before = None
    if target is None:
        target = Target(scope=data.scope, scope_code=code, year=data.year, metric=data.metric, value=data.value)
    else:
        before = str(target.value)
        target.value = data.value
    target.modified_by_id = actor.user_id
    target.modified_at = utcnow()
    session.add(target)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_target",
        entity_id=target.id,
        action="set",
        from_state=before,
        to_state=str(data.value),
        note=f"{data.year} {data.scope.value}:{code} {METRIC_LABELS[data.metric]}",
    )
    return target


async def delete_target(session: AsyncSession, *, actor: Actor, target_id: int) -> None:
    _require_admin(actor)
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound("目标不存在")
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_target",
        entity_id=target.id,
        action="delete",
        from_state=str(target.value),
    )
    await session.delete(target)
    await session.flush()


TARGET_ORDER = (col(Target.year), col(Target.scope), col(Target.scope_code), col(Target.metric), col(Target.id))


def _targets_query(year: int | None) -> SelectOfScalar[Target]:
    query = select(Target)
    return query.where(Target.year == year) if year is not None else query


async def list_targets(session: AsyncSession, *, year: int | None = None) -> list[Target]:
    """Every target (of `year`), for the page that edits a year's targets together."""
    return list((await session.exec(_targets_query(year).order_by(*TARGET_ORDER))).all())


async def targets_page(session: AsyncSession, *, page: PageParams, year: int | None = None) -> tuple[list[Target], int]:
    return await paginate(session, _targets_query(year), page, *TARGET_ORDER)


async def targets_for(session: AsyncSession, year: int) -> dict[tuple[str, str, str], int]:
    """The target in force for `year`: that year's row, or else the latest earlier one (a goal stands until changed)."""
    rows = (await session.exec(select(Target).where(Target.year <= year).order_by(col(Target.year)))).all()
    found: dict[tuple[str, str, str], int] = {}
    for row in rows:
        found[(row.scope, row.scope_code, row.metric)] = row.value
    return found


def even_split(total: int, parts: int) -> list[int]:
    """`total` over `parts` as evenly as whole numbers allow; the first ones take the remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def seed_targets(session: AsyncSession, *, year: int | None = None) -> int:
    """The plan's province-wide targets and an even split per city for `year`; existing rows are left as edited."""
    year = year or china_today().year
    existing = {
        (t.scope, t.scope_code, t.metric) for t in (await session.exec(select(Target).where(Target.year == year))).all()
    }
    cities = list(
        (
            await session.exec(select(Region.code).where(col(Region.level).in_(CITY_LEVELS)).order_by(col(Region.code)))
        ).all()
    )
    wanted: list[tuple[str, str, str, int]] = []
    for metric, total in PLAN_TARGETS.items():
        wanted.append((TargetScope.province.value, PROVINCE_CODE, metric.value, total))
        if cities:
            for code, value in zip(cities, even_split(total, len(cities)), strict=True):
                wanted.append((TargetScope.city.value, code, metric.value, value))
    created = 0
    for scope, code, metric, value in wanted:
        if (scope, code, metric) not in existing:
            session.add(Target(scope=scope, scope_code=code, year=year, metric=metric, value=value))
            created += 1
    await session.flush()
    return created
