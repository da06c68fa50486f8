"""Taxonomies: loading the seeded lists and looking codes up."""

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_staff
from backend.kit.errors import Conflict, Unprocessable
from backend.taxonomy.models import Batch, Domain, Region, Track

# Levels that count as a city when counting by city (a 新区 reports like a city).
CITY_LEVELS = ("city", "new_area")


def city_of(code: str, level: str | None, parent_code: str | None) -> str:
    """The county → city roll-up: a county counts for its city; every other region stands for itself."""
    return parent_code if level == "county" and parent_code else code


def city_code_column() -> Any:
    """`city_of` as an SQL expression over Region (for GROUP BY city)."""
    return case(
        (and_(col(Region.level) == "county", col(Region.parent_code).is_not(None)), Region.parent_code),
        else_=Region.code,
    )


@dataclass(frozen=True)
class TaxonomyIndex:
    """Names by code, loaded once per request where listings are rendered."""

    tracks: dict[str, str]
    domains: dict[str, str]
    regions: dict[str, str]
    # Region code → the city it belongs to (a county's parent, otherwise itself).
    cities: dict[str, str]


# Names change only when the taxonomy is seeded, yet every rendered listing needs them:
# keep them per database for a short while instead of three queries per page.
_INDEX_TTL_SECONDS = 60.0
_index_cache: dict[str, tuple[float, TaxonomyIndex]] = {}


def _database_key(session: AsyncSession) -> str:
    bind = session.bind
    engine = getattr(bind, "engine", bind)
    return str(getattr(engine, "url", id(engine)))


def forget_index() -> None:
    _index_cache.clear()


async def load_index(session: AsyncSession) -> TaxonomyIndex:
    key = _database_key(session)
    cached = _index_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < _INDEX_TTL_SECONDS:
        return cached[1]
    tracks = (await session.exec(select(Track.code, Track.name))).all()
    domains = (await session.exec(select(Domain.code, Domain.name))).all()
    regions = (await session.exec(select(Region.code, Region.name, Region.level, Region.parent_code))).all()
    index = TaxonomyIndex(
        dict(tracks),
        dict(domains),
        {code: name for code, name, _, _ in regions},
        {code: city_of(code, level, parent) for code, _, level, parent in regions},
    )
    _index_cache[key] = (time.monotonic(), index)
    return index


async def list_tracks(session: AsyncSession) -> list[Track]:
    return list((await session.exec(select(Track).order_by(col(Track.position)))).all())


async def list_domains(session: AsyncSession) -> list[Domain]:
    return list((await session.exec(select(Domain).order_by(col(Domain.position)))).all())


async def list_regions(session: AsyncSession, *, level: str | None = None, parent: str | None = None) -> list[Region]:
    query = select(Region)
    if level:
        query = query.where(Region.level == level)
    if parent:
        query = query.where(Region.parent_code == parent)
    return list((await session.exec(query.order_by(col(Region.code)))).all())


async def list_batches(session: AsyncSession) -> list[Batch]:
    return list((await session.exec(select(Batch).order_by(col(Batch.number)))).all())


async def create_batch(session: AsyncSession, *, actor: Actor, number: int, title: str, note: str) -> Batch:
    require_staff(actor, "只有撮合专员或管理员可以新建批次")
    if (await session.exec(select(Batch).where(Batch.number == number))).first() is not None:
        raise Conflict(f"第{number}批已存在", field="number")
    batch = Batch(number=number, title=title, note=note)
    session.add(batch)
    await session.flush()
    return batch


async def get_or_create_batch(session: AsyncSession, *, number: int) -> Batch:
    batch = (await session.exec(select(Batch).where(Batch.number == number))).first()
    if batch is None:
        # Not published yet: a matchmaker publishes the batch (发布第N批, backend/batches), which
        # closes its change-log window; listings published into it meanwhile count towards it.
        batch = Batch(number=number, title=f"第{number}批")
        session.add(batch)
        await session.flush()
    return batch


async def check_codes(session: AsyncSession, *, tracks: list[str], domains: list[str]) -> None:
    """Reject unknown track or domain codes with the offending one named."""
    if tracks:
        known = set((await session.exec(select(Track.code).where(col(Track.code).in_(tracks)))).all())
        unknown = [t for t in tracks if t not in known]
        if unknown:
            raise Unprocessable(f"未知的赛道代码：{'、'.join(unknown)}", field="tracks")
    if domains:
        known = set((await session.exec(select(Domain.code).where(col(Domain.code).in_(domains)))).all())
        unknown = [d for d in domains if d not in known]
        if unknown:
            raise Unprocessable(f"未知的场景领域代码：{'、'.join(unknown)}", field="domains")


async def check_region(session: AsyncSession, region_code: str | None) -> None:
    if region_code is not None and await session.get(Region, region_code) is None:
        raise Unprocessable(f"地区代码不存在：{region_code}", field="region_code")


async def load_seed_taxonomy(session: AsyncSession, taxonomy: dict) -> dict[str, int]:
    """Insert or refresh tracks, domains and regions from the seed file; safe to run repeatedly."""
    counts = {"tracks": 0, "domains": 0, "regions": 0}
    forget_index()
    for position, item in enumerate(taxonomy["tracks"]):
        await session.merge(
            Track(
                code=item["code"],
                name=item["name"],
                group=item["group"],
                aliases=item.get("aliases", []),
                position=position,
            )
        )
        counts["tracks"] += 1
    # Parents first, so the self-referencing foreign key is satisfied on insert.
    domains = sorted(taxonomy["domains"], key=lambda d: d.get("parent") is not None)
    for position, item in enumerate(domains):
        await session.merge(
            Domain(
                code=item["code"],
                name=item["name"],
                parent_code=item.get("parent"),
                aliases=item.get("aliases", []),
                position=position,
            )
        )
        counts["domains"] += 1
    await session.flush()
    level_order = {"province": 0, "city": 1, "new_area": 1, "county": 2}
    for item in sorted(taxonomy["regions"], key=lambda r: level_order.get(r["level"], 3)):
        await session.merge(
            Region(
                code=item["code"],
                name=item["name"],
                short_name=item.get("short_name") or item["name"],
                level=item["level"],
                parent_code=item.get("parent"),
            )
        )
        counts["regions"] += 1
    await session.flush()
    return counts
