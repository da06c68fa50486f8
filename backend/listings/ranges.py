"""The budget and deadline filters of the opportunity list, shared by the pages, the list API and search.

A budget filter is a range of 万元 that a listing's own budget range must meet; a deadline
filter a window of dates, counted in China time. Listings without a budget never match a
budget filter; listings without a deadline only match "尚未截止".
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query

from backend.kit.china_time import china_today


@dataclass(frozen=True)
class BudgetRange:
    """Budgets (万元) meeting [start, end), either bound open; see `search.engine.budget_matches`
    for when a listing's budget range counts. Listings without a budget never match."""

    start: Decimal | None = None
    end: Decimal | None = None


@dataclass(frozen=True)
class DeadlineWindow:
    """Deadlines from `start` to `end` (dates, both included, either open); `undated`: listings
    without a deadline count too (they take answers until closed)."""

    start: date | None = None
    end: date | None = None
    undated: bool = False


# The budget choices of the opportunity list, as people think of them (the seed's budgets run
# from 60万 to 1.2亿, most between 100万 and 1000万): code → (label, range).
BUDGET_CHOICES: dict[str, tuple[str, BudgetRange]] = {
    "lt100": ("100万以下", BudgetRange(None, Decimal(100))),
    "100-500": ("100万–500万", BudgetRange(Decimal(100), Decimal(500))),
    "500-1000": ("500万–1000万", BudgetRange(Decimal(500), Decimal(1000))),
    "gt1000": ("1000万以上", BudgetRange(Decimal(1000), None)),
}
DEADLINE_CHOICES = {"7d": "7天内截止", "30d": "30天内截止", "open": "尚未截止"}


def deadline_window(choice: str | None, today: date | None = None) -> DeadlineWindow | None:
    """The window of a deadline choice, counted in China time (a deadline is a date in Jiangxi)."""
    if choice not in DEADLINE_CHOICES:
        return None
    today = today or china_today()
    if choice == "open":
        return DeadlineWindow(start=today, undated=True)
    return DeadlineWindow(start=today, end=today + timedelta(days=7 if choice == "7d" else 30))


def budget_range(choice: str | None) -> BudgetRange | None:
    return BUDGET_CHOICES[choice][1] if choice in BUDGET_CHOICES else None


# The same filters on the APIs (list and search), as plain numbers and dates.
BudgetFromQuery = Annotated[
    Decimal | None,
    Query(ge=0, le=10**9, description="预算区间下界（万元）：只列出预算与区间相交的机会；不填预算（面议）的不列出"),
]
BudgetToQuery = Annotated[
    Decimal | None,
    Query(
        gt=0, le=10**9, description="预算区间上界（万元，不含）：只列出预算与区间相交的机会；不填预算（面议）的不列出"
    ),
]
DeadlineFromQuery = Annotated[date | None, Query(description="截止日期不早于此日（含），不设截止日期的不列出")]
DeadlineToQuery = Annotated[date | None, Query(description="截止日期不晚于此日（含），不设截止日期的不列出")]
OpenQuery = Annotated[
    bool,
    Query(
        alias="open",
        description="尚未截止：只列出截止日期不早于今天（按北京时间）或不设截止日期的机会；"
        "与 deadline_from / deadline_to 同用时取交集（不设截止日期的不列出）",
    ),
]


def range_filters(
    budget_from: Decimal | None,
    budget_to: Decimal | None,
    deadline_from: date | None,
    deadline_to: date | None,
    still_open: bool = False,
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """The API's budget and deadline parameters as `budget` / `deadline` filters."""
    budget = BudgetRange(budget_from, budget_to) if budget_from is not None or budget_to is not None else None
    window = (
        DeadlineWindow(deadline_from, deadline_to) if deadline_from is not None or deadline_to is not None else None
    )
    if still_open:
        today = today or china_today()
        if window is None:
            window = DeadlineWindow(start=today, undated=True)
        else:
            # Both: the dated window from today on (an undated listing has no date in the window).
            window = DeadlineWindow(max(window.start or today, today), window.end)
    return {"budget": budget, "deadline": window}


def range_params(budget: BudgetRange | None, deadline: DeadlineWindow | None) -> dict[str, str]:
    """The API parameters that `range_filters` reads back as these filters (the list pages' export
    links): relative windows become dates of today, China time."""
    params: dict[str, str] = {}
    if budget is not None:
        if budget.start is not None:
            params["budget_from"] = number_text(budget.start)
        if budget.end is not None:
            params["budget_to"] = number_text(budget.end)
    if deadline is not None:
        if deadline.undated:
            # Only "尚未截止" includes undated listings, and it starts today.
            params["open"] = "true"
            if deadline.end is not None:
                params["deadline_to"] = deadline.end.isoformat()
        else:
            if deadline.start is not None:
                params["deadline_from"] = deadline.start.isoformat()
            if deadline.end is not None:
                params["deadline_to"] = deadline.end.isoformat()
    return params


def number_text(value: Decimal) -> str:
    """100 rather than 1E+2 or 100.00."""
    return format(value.normalize(), "f")


def budget_label(budget: BudgetRange) -> str:
    """A budget range as people read it: 100万以下, 100万–500万, 1000万以上."""
    if budget.start is None and budget.end is not None:
        return f"{number_text(budget.end)}万以下"
    if budget.end is None and budget.start is not None:
        return f"{number_text(budget.start)}万以上"
    if budget.start is not None and budget.end is not None:
        return f"{number_text(budget.start)}万–{number_text(budget.end)}万"
    return "不限"


def budget_choice(budget: BudgetRange | None) -> str | None:
    """The list page's choice code for this range, if it is one."""
    return next((code for code, (_, r) in BUDGET_CHOICES.items() if r == budget), None)
