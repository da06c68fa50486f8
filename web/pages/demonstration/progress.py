"""The public 十百千 progress page: targets against actuals, per city and per track, with the year's trend."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from backend.demonstration import presenter, service
from backend.demonstration.models import (
    METRIC_LABELS,
    Metric,
)
from backend.dependencies import SessionDep
from web.kit.charts import trend_chart
from web.kit.templating import render

router = APIRouter(prefix="/demonstration")


@router.get("", name="demonstration:progress_page")
async def progress_page(
    request: Request, session: SessionDep, year: int | None = Query(default=None, ge=2000, le=2100)
) -> Response:
    """Targets against actuals, overall, per city and per track, with the year's trend (tables first, charts beside)."""
    progress = await service.progress(session, year=year)
    charts = [
        {
            "metric": m.value,
            "label": METRIC_LABELS[m],
            **trend_chart([(p.month, getattr(p, m.value)) for p in progress.trend]),
        }
        for m in Metric
    ]
    zones = await presenter.zones(session, await service.all_zones(session))
    context = {
        "progress": progress,
        "charts": charts,
        "zones": zones,
        "metrics": [(m.value, METRIC_LABELS[m]) for m in Metric],
    }
    return render(request, "demonstration/progress.html", context)
