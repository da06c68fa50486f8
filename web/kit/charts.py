"""Charts drawn on the server as inline SVG (the CSP allows no script and no inline style).

Colours and fonts come from classes in site.css; sizes are SVG attributes. Every chart is
decorative next to the data table that follows it, so the SVG is hidden from screen readers.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 176
VALUE_WIDTH = 64
BAR_HEIGHT = 14
ROW_GAP = 10
MAX_LABEL = 11


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _svg(height: int, body: list[str], css_class: str) -> Markup:
    # Every label and value in `body` went through escape(); the rest is fixed markup.
    return Markup(  # noqa: S704
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-hidden="true" focusable="false">' + "".join(body) + "</svg>"
    )


def bar_chart(rows: Sequence[tuple[str, Sequence[float | int | None]]], *, highlighted: Sequence[bool] = ()) -> Markup:
    """Horizontal bars, one per series per row (at most a few series), labelled with their values."""
    series = max((len(values) for _, values in rows), default=1)
    top = max((v or 0 for _, values in rows for v in values), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    row_height = series * BAR_HEIGHT + ROW_GAP
    body: list[str] = []
    for index, (label, values) in enumerate(rows):
        y = index * row_height + ROW_GAP // 2
        marked = " gap" if index < len(highlighted) and highlighted[index] else ""
        body.append(
            f'<text class="label{marked}" x="{LABEL_WIDTH - 8}" y="{y + series * BAR_HEIGHT / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(_label(label))}</text>'
        )
        for s, value in enumerate(values):
            value = value or 0
            width = span * value / top if top else 0
            bar_y = y + s * BAR_HEIGHT
            body.append(
                f'<rect class="bar s{s + 1}" x="{LABEL_WIDTH}" y="{bar_y}" width="{width:.1f}" height="{BAR_HEIGHT - 2}"></rect>'
                f'<text class="value" x="{LABEL_WIDTH + width + 4:.1f}" y="{bar_y + BAR_HEIGHT - 3}">{escape(_number(value))}</text>'
            )
    return _svg(max(1, len(rows)) * row_height + ROW_GAP, body, "chart-bars")


def funnel_chart(stages: Sequence[tuple[str, int, float | None]]) -> Markup:
    """Centred bars narrowing stage by stage, each labelled with its count; the conversion rate between them."""
    top = max((count for _, count, _ in stages), default=0)
    step = 44
    body: list[str] = []
    centre = (WIDTH + LABEL_WIDTH) / 2
    span = WIDTH - LABEL_WIDTH - 20
    for index, (label, count, conversion) in enumerate(stages):
        y = index * step + 4
        width = max(span * count / top, 2) if top else 2
        # A count fits inside a wide bar; beside a narrow one.
        inside = width >= 40
        value_x = centre if inside else centre + width / 2 + 6
        body.append(
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(_label(label))}</text>'
            f'<rect class="bar funnel-bar" x="{centre - width / 2:.1f}" y="{y}" width="{width:.1f}" height="24" rx="3"></rect>'
            f'<text class="value funnel-value" x="{value_x:.1f}" y="{y + 17}" text-anchor="{"middle" if inside else "start"}">{count}</text>'
        )
        if conversion is not None and index + 1 < len(stages):
            body.append(
                f'<text class="note" x="{centre:.1f}" y="{y + 38}" text-anchor="middle">↓ {conversion * 100:.1f}%</text>'
            )
    return _svg(len(stages) * step + 8, body, "chart-funnel")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: int
    y: int
    height: int


def trend_chart(months: Sequence[tuple[int, int]], *, width: int = 480, height: int = 160) -> dict[str, Any]:
    """Bar geometry for a monthly count ((month, value) pairs), drawn as inline SVG by the template."""
    values = [value for _, value in months]
    top = max(values, default=0) or 1
    step = width // 12
    bars = [
        Bar(
            label=f"{month}月",
            value=value,
            x=i * step + 4,
            y=height - 20 - round((height - 40) * value / top),
            height=round((height - 40) * value / top),
        )
        for i, (month, value) in enumerate(months)
    ]
    return {"bars": bars, "width": width, "height": height, "bar_width": step - 8, "base": height - 20}
