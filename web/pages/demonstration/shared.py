"""What the demonstration pages share: notices, form parsing, option lists."""

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData

from backend.demonstration import service
from backend.kit.errors import AppError
from backend.kit.pagination import PageParams
from web.kit.forms import text
from web.kit.paging import page_number

NOTICES = {
    "zone": "示范区已保存。",
    "project": "示范项目已保存。",
    "enterprise": "高成长性企业已保存。",
    "status": "项目状态已更新。",
    "milestone": "里程碑已添加。",
    "evidence": "佐证材料已上传。",
    "target": "目标已保存。",
}


LABELS = {
    "name": "名称",
    "title": "项目名称",
    "region_code": "地区",
    "tracks": "赛道",
    "lead_organisation": "牵头单位",
    "description": "简介",
    "designated_on": "认定日期",
    "summary": "项目简介",
    "zone_id": "示范区",
    "enterprises": "参与企业",
    "enterprise_ids": "参与企业",
    "investment_wan": "投资额",
    "output_value_wan": "产出",
    "outcome": "成效",
    "organisation": "企业",
    "organisation_id": "企业",
    "year_recognised": "认定年份",
    "recognised_on": "认定日期",
    "indicators": "指标",
    "note": "备注",
    "pairing_id": "对接",
    "opportunity_id": "机会",
    "due_on": "计划完成日期",
    "done_on": "实际完成日期",
    "file": "佐证材料",
    "status": "状态",
    "scope_code": "范围",
    "value": "目标值",
    "year": "年度",
}


_SPLIT_LINES = re.compile(r"[\r\n]+")


PAGE_SIZE = 20


Row = TypeVar("Row")


def _optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def _tracks(form: FormData) -> list[str]:
    return [v for v in form.getlist("tracks") if isinstance(v, str) and v]


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


async def _one_page(
    request: Request, fetch: Callable[[PageParams], Awaitable[tuple[list[Row], int]]], filters: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    """One page of a registry list and what the paging links need; a page past the end (rows deleted since) shows the last one."""
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total = await fetch(page)
    pages = max(1, -(-total // PAGE_SIZE))
    if page.page > pages:
        page = PageParams(page=pages, page_size=PAGE_SIZE)
        rows, total = await fetch(page)
        pages = max(1, -(-total // PAGE_SIZE))
    return rows, {"page": page.page, "pages": pages, "total": total, "filters": filters}


def _raise_missing(refused: AppError | None) -> None:
    """A missing object is the error page; a 404 about something chosen on the form (it names a field) is shown there."""
    if refused is not None and refused.status_code == 404 and refused.field is None:
        raise refused


async def _options(session: AsyncSession) -> dict[str, Any]:
    places = await service.load_places(session)
    names = await service.track_names(session)
    regions = []
    for code, name in places.names.items():
        city = places.city_of(code)
        # Counties read "南昌市 · 南昌县", so that the list stays grouped by city.
        label = f"{places.names[city]} · {name}" if city and city != code else name
        regions.append((code, label))
    zones = await service.all_zones(session)
    return {
        "region_options": regions,
        "track_options": list(names.items()),
        "zone_options": [(str(z.id), z.name) for z in zones],
        "labels": LABELS,
    }
