"""The statistics as named tables: the page draws a chart from each and shows the table
beneath it (for screen readers and for copying), and each table downloads as CSV."""

from dataclasses import dataclass, field

from backend.opendata.tabular import csv_bytes
from backend.statistics.schemas import CategoryCount, Statistics, SupplyGap

Cell = str | int | float | None


@dataclass(frozen=True)
class StatTable:
    name: str  # the URL slug: /statistics/<name>.csv
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    chart: str  # "bars" (one or two series), "funnel" or "gaps"
    series: list[int] = field(default_factory=list)  # the columns the chart draws
    staff_only: bool = False
    chart_limit: int | None = None  # long tables chart only their first rows; the table keeps them all

    @property
    def chart_rows(self) -> list[list[Cell]]:
        return self.rows if self.chart_limit is None else self.rows[: self.chart_limit]

    @property
    def chart_truncated(self) -> bool:
        return self.chart_limit is not None and len(self.rows) > self.chart_limit

    def csv(self) -> bytes:
        return csv_bytes([self.headers, *self.rows])


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _counts(name: str, title: str, first: str, rows: list[CategoryCount]) -> StatTable:
    return StatTable(
        name=name,
        title=title,
        headers=[first, "已发布机会", "已发布产品"],
        rows=[[r.name, r.opportunities, r.offerings] for r in rows],
        chart="bars",
        series=[1, 2],
    )


def _gaps(name: str, title: str, first: str, gaps: list[SupplyGap], threshold: int) -> StatTable:
    return StatTable(
        name=name,
        title=title,
        headers=[
            first,
            "征集中的机会",
            "已发布产品",
            f"同赛道产品少于 {threshold} 个的机会",
            "供给不足占比",
            "是否缺口",
        ],
        rows=[
            [
                g.name,
                g.open_opportunities,
                g.offerings,
                g.weak_opportunities,
                _percent(g.weak_share),
                "缺口" if g.is_gap else "",
            ]
            for g in gaps
        ],
        chart="gaps",
        series=[1, 2],
        staff_only=True,
        chart_limit=20,
    )


def build_tables(result: Statistics) -> list[StatTable]:
    """Every table the caller may see, in page order."""
    tables = [
        _counts("by-track", "各赛道已发布的机会与产品", "赛道", result.by_track),
        _counts("by-domain", "各场景领域已发布的机会与产品", "场景领域", result.by_domain),
        _counts("by-city", "各设区市已发布的机会与产品（县区计入所属设区市）", "地区", result.by_city),
        StatTable(
            name="funnel",
            title="对接漏斗",
            headers=["阶段", "到达该阶段", "当前停在该阶段", "进入下一阶段的比例"],
            rows=[[s.label, s.reached, s.current, _percent(s.conversion)] for s in result.funnel.stages]
            + [["未达成", result.funnel.declined, result.funnel.declined, ""]],
            chart="funnel",
            series=[1],
        ),
    ]
    if result.issuers is not None:
        tables.append(
            StatTable(
                name="issuers",
                title="各出卷单位收到的答题与响应时间",
                headers=["出卷单位", "发布的机会", "收到答题的机会", "答题数", "首份答题中位用时（天）"],
                rows=[
                    [i.name, i.opportunities, i.answered_opportunities, i.answers, i.median_response_days]
                    for i in result.issuers
                ],
                chart="bars",
                series=[1, 3],
                staff_only=True,
                chart_limit=15,
            )
        )
    if result.track_gaps is not None:
        tables.append(_gaps("track-gaps", "供需缺口：赛道", "赛道", result.track_gaps, result.weak_supply_threshold))
    if result.domain_gaps is not None:
        tables.append(
            _gaps("domain-gaps", "供需缺口：场景领域", "场景领域", result.domain_gaps, result.weak_supply_threshold)
        )
    return tables
