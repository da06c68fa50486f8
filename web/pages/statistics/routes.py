"""/statistics: charts with a data table and a CSV download each; the fuller view for matchmakers."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import NotFound
from backend.opendata.router import attachment
from backend.statistics import service
from backend.statistics.schemas import Statistics
from backend.statistics.tables import StatTable, build_tables
from web.kit.charts import bar_chart, funnel_chart
from web.kit.templating import render

router = APIRouter()

TableName = Annotated[str, Path(pattern=r"^[a-z][a-z\-]{0,39}$")]


def _chart(table: StatTable, result: Statistics) -> Any:
    if table.chart == "funnel":
        return funnel_chart([(s.label, s.reached, s.conversion) for s in result.funnel.stages])
    rows = [(str(row[0]), [row[i] for i in table.series]) for row in table.chart_rows]  # type: ignore[misc]
    highlighted = [row[-1] == "缺口" for row in table.chart_rows] if table.chart == "gaps" else []
    return bar_chart(rows, highlighted=highlighted)


@router.get("/statistics", name="statistics:statistics_page")
async def statistics_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    result = await service.compute(session, actor=actor)
    tables = build_tables(result)
    charts = {t.name: _chart(t, result) for t in tables}
    return render(request, "statistics/index.html", {"stats": result, "tables": tables, "charts": charts})


@router.get("/statistics/{name}.csv", name="statistics:statistics_table_csv")
async def statistics_table_csv(name: TableName, session: SessionDep, actor: ActorDep) -> Response:
    """One table of the page as CSV; the matchmakers' tables are not there for anyone else."""
    result = await service.compute(session, actor=actor)
    table = next((t for t in build_tables(result) if t.name == name), None)
    if table is None:
        raise NotFound("统计表不存在")
    return attachment(table.csv(), media_type="text/csv; charset=utf-8", filename=f"statistics-{name}.csv")
