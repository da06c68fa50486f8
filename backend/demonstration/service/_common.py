"""Rules and lookups shared by the demonstration aggregates (who writes, places, names)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_admin, require_staff
from backend.demonstration.models import (
    Metric,
)
from backend.kit.errors import NotFound, Unprocessable
from backend.organisations.models import Organisation, OrganisationKind
from backend.organisations.service import names_of as organisation_names_of
from backend.taxonomy import service as taxonomy
from backend.taxonomy.models import Region, Track

CITY_LEVELS = taxonomy.CITY_LEVELS
ENTERPRISE_KINDS = (OrganisationKind.enterprise, OrganisationKind.soe, OrganisationKind.lab)
# The plan's province-wide figures (二(四)3 of the 2022 opinion): about 50 / 300 / 3000.
PLAN_TARGETS = {Metric.zones: 50, Metric.projects: 300, Metric.enterprises: 3000}
Row = TypeVar("Row")


def _require_admin(actor: Actor) -> None:
    require_admin(actor, "只有管理员可以修改十百千目标")


def _write(actor: Actor) -> None:
    require_staff(actor, "只有撮合专员可以维护十百千登记")


# ---------------------------------------------------------------- lookups shared by the rules


@dataclass(frozen=True)
class Places:
    """Region names and the county → city roll-up, loaded once per request."""

    names: dict[str, str]
    city_of_code: dict[str, str | None]
    cities: list[tuple[str, str]]

    def city_of(self, code: str | None) -> str | None:
        return self.city_of_code.get(code) if code else None


async def load_places(session: AsyncSession) -> Places:
    rows = (
        await session.exec(
            select(Region.code, Region.name, Region.level, Region.parent_code).order_by(col(Region.code))
        )
    ).all()
    level = {code: lvl for code, _, lvl, _ in rows}
    city_of: dict[str, str | None] = {}
    for code, _, lvl, parent in rows:
        # Only a real city (or 新区) counts: a province, or a county hanging off one, has none.
        city = taxonomy.city_of(code, lvl, parent)
        city_of[code] = city if level.get(city) in CITY_LEVELS else None
    cities = [(code, name) for code, name, lvl, _ in rows if lvl in CITY_LEVELS]
    return Places({code: name for code, name, _, _ in rows}, city_of, cities)


async def track_names(session: AsyncSession) -> dict[str, str]:
    return dict((await session.exec(select(Track.code, Track.name).order_by(col(Track.position)))).all())


async def organisation_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    return await organisation_names_of(session, ids)


async def _check_region(session: AsyncSession, code: str | None) -> None:
    await taxonomy.check_region(session, code)


async def _check_tracks(session: AsyncSession, codes: list[str]) -> None:
    await taxonomy.check_codes(session, tracks=codes, domains=[])


async def _enterprise(session: AsyncSession, organisation_id: int, field_name: str) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"组织 #{organisation_id} 不存在", field=field_name)
    if organisation.kind not in ENTERPRISE_KINDS:
        raise Unprocessable(f"「{organisation.name}」不是企业或机构", field=field_name)
    return organisation
