"""Progress against the 十百千 targets, counted from the registers."""

import calendar
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.demonstration.models import (
    COUNTED_STATUSES,
    DemoProject,
    DemoZone,
    GrowthEnterprise,
    Metric,
    TargetScope,
)
from backend.demonstration.schemas import (
    Figure,
    Progress,
    ProgressRow,
    TrendPoint,
)
from backend.demonstration.service._common import Places, load_places, track_names
from backend.demonstration.service.targets import targets_for
from backend.kit.china_time import china_today
from backend.taxonomy.regions import PROVINCE_CODE

# ---------------------------------------------------------------- progress


@dataclass
class _Item:
    metric: Metric
    counted_on: date
    city: str | None
    tracks: list[str] = field(default_factory=list)


async def _registry_items(session: AsyncSession, places: Places) -> list[_Item]:
    items: list[_Item] = []
    for designated_on, region_code, tracks in (
        await session.exec(select(DemoZone.designated_on, DemoZone.region_code, DemoZone.track_codes))
    ).all():
        items.append(_Item(Metric.zones, designated_on, places.city_of(region_code), list(tracks or [])))
    projects = await session.exec(
        select(DemoProject.selected_on, DemoProject.region_code, DemoProject.track_codes).where(
            col(DemoProject.status).in_([s.value for s in COUNTED_STATUSES]), col(DemoProject.selected_on).is_not(None)
        )
    )
    for selected_on, region_code, tracks in projects.all():
        items.append(_Item(Metric.projects, selected_on, places.city_of(region_code), list(tracks or [])))
    enterprises = await session.exec(
        select(
            GrowthEnterprise.year_recognised,
            GrowthEnterprise.recognised_on,
            GrowthEnterprise.region_code,
            GrowthEnterprise.track_codes,
        )
    )
    for year, recognised_on, region_code, tracks in enterprises.all():
        items.append(
            _Item(
                Metric.enterprises, recognised_on or date(year, 1, 1), places.city_of(region_code), list(tracks or [])
            )
        )
    return items


def _figure(actual: int, target: int | None) -> Figure:
    percent = round(actual * 100 / target, 1) if target else None
    return Figure(target=target, actual=actual, percent=percent)


def _row(
    code: str,
    name: str,
    items: list[_Item],
    targets: dict[tuple[str, str, str], int],
    scope: TargetScope,
    target_code: str,
) -> ProgressRow:
    counts = {m: 0 for m in Metric}
    for item in items:
        counts[item.metric] += 1
    return ProgressRow(
        code=code,
        name=name,
        **{m.value: _figure(counts[m], targets.get((scope.value, target_code, m.value))) for m in Metric},
    )


async def progress(session: AsyncSession, *, year: int | None = None, today: date | None = None) -> Progress:
    """Targets against actuals for the end of `year`: overall, per city (counties roll up), per track, and the monthly trend.

    Counted: every zone from its designation date, every project from the day it entered 入选
    (while it is at 入选 or beyond), every high-growth enterprise from its recognition date.
    """
    today = today or china_today()
    year = year or today.year
    places = await load_places(session)
    names = await track_names(session)
    targets = await targets_for(session, year)
    year_end = date(year, 12, 31)
    items = [i for i in await _registry_items(session, places) if i.counted_on <= year_end]

    overall = _row(PROVINCE_CODE, "全省", items, targets, TargetScope.province, PROVINCE_CODE)
    cities = [
        _row(code, name, [i for i in items if i.city == code], targets, TargetScope.city, code)
        for code, name in places.cities
    ]
    unassigned = _row("", "未归属设区市", [i for i in items if i.city is None], {}, TargetScope.city, "")
    tracks = [
        _row(code, name, [i for i in items if code in i.tracks], targets, TargetScope.track, code)
        for code, name in names.items()
    ]
    months = 12 if year < today.year else (today.month if year == today.year else 0)
    trend = []
    for month in range(1, months + 1):
        month_end = date(year, month, calendar.monthrange(year, month)[1])
        counts = {m: 0 for m in Metric}
        for item in items:
            if item.counted_on <= month_end:
                counts[item.metric] += 1
        trend.append(TrendPoint(month=month, **{m.value: counts[m] for m in Metric}))
    as_of = min(today, year_end)
    return Progress(
        year=year, as_of=as_of, overall=overall, cities=cities, unassigned=unassigned, tracks=tracks, trend=trend
    )
