"""/exports/{opportunities|offerings}.{xlsx|csv}: a list view, with its filters, as a file."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from backend.dependencies import ActorDep, SessionDep
from backend.kit.china_time import china_today
from backend.kit.errors import ServiceUnavailable, Unprocessable, error_responses
from backend.kit.params import IdQuery
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.ranges import (
    BudgetFromQuery,
    BudgetToQuery,
    DeadlineFromQuery,
    DeadlineToQuery,
    OpenQuery,
    range_filters,
)
from backend.opendata import exports
from backend.opendata.service import LIST_SLUGS

router = APIRouter(prefix="/exports", tags=["导出与开放数据"])

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def attachment(body: bytes, *, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _add_route(kind: ListingKind, extension: str) -> None:
    slug = LIST_SLUGS[kind]

    @router.get(
        f"/{slug}.{extension}",
        name=f"export_{slug}_{extension}",
        response_class=Response,
        responses={
            200: {"content": {MEDIA_TYPES[extension].split(";")[0]: {}}},
            **error_responses(Unprocessable, ServiceUnavailable),
        },
        summary=f"Export {slug} as .{extension}",
    )
    async def export(
        request: Request,
        session: SessionDep,
        actor: ActorDep,
        status: Annotated[list[ListingStatus] | None, Query(description="状态，可多选")] = None,
        organisation_id: IdQuery = None,
        track: Annotated[str | None, Query(max_length=40, description="赛道代码")] = None,
        domain: Annotated[str | None, Query(max_length=40, description="场景领域代码")] = None,
        region: Annotated[str | None, Query(max_length=12, description="地区代码（设区市含下辖县区）")] = None,
        batch: Annotated[int | None, Query(ge=1, le=10000, description="批次号")] = None,
        mine: Annotated[bool, Query(description="只看本组织")] = False,
        q: Annotated[
            str | None,
            Query(
                max_length=100,
                description="关键词，与清单页和 /search 的匹配方式相同（分词、同义词、繁简、拼音），"
                "按 sort 排序（relevance 相关度）；非撮合专员只导出已发布的；搜索服务不可用时答 503",
            ),
        ] = None,
        budget_from: BudgetFromQuery = None,
        budget_to: BudgetToQuery = None,
        deadline_from: DeadlineFromQuery = None,
        deadline_to: DeadlineToQuery = None,
        still_open: OpenQuery = False,
        sort: Annotated[
            Literal["newest", "relevance", "deadline", "updated", "maturity"],
            Query(
                description="行的顺序：newest 最新发布，relevance 相关度（需 q），"
                "deadline 截止日期（机会清单），updated 最近更新，maturity 成熟度（产品清单）"
            ),
        ] = "newest",
    ) -> Response:
        """The same filters, order and visibility as the list endpoint (and the list page's 导出 links, which
        pass the page's filters and sort); the columns are the import layout, so the file can be edited and
        imported again. Contacts appear only where the caller may see them."""
        filters = exports.ExportFilters(
            statuses=status or (),
            organisation_id=organisation_id,
            track=track,
            domain=domain,
            region=region,
            batch=batch,
            mine=mine,
            text=q,
            sort=sort,
            **range_filters(budget_from, budget_to, deadline_from, deadline_to, still_open),
        )
        engine = request.app.state.search_engine
        rows = await exports.export_rows(session, actor=actor, kind=kind, filters=filters, engine=engine)
        body = exports.to_xlsx(kind, rows) if extension == "xlsx" else exports.to_csv(rows)
        return attachment(
            body, media_type=MEDIA_TYPES[extension], filename=f"{slug}-{china_today():%Y%m%d}.{extension}"
        )


for _kind in ListingKind:
    for _extension in ("xlsx", "csv"):
        _add_route(_kind, _extension)
