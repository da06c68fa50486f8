"""The list pages' budget and deadline filters (opportunities) and the offering sorts, through the
database when browsing and through the search engine with a query."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.kit.china_time import china_today
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation

PUBLISHED = ListingStatus.published

# Title → budget (万元) as the import parses it: 80万, 50–100万, "100万以内", 100万, 300–500万,
# "500万以上", 1200万, 面议.
BUDGETS = {
    "预算甲八十万": (80, 80),
    "预算乙五十到一百万": (50, 100),
    "预算丙一百万以内": (None, 100),
    "预算丁整一百万": (100, 100),
    "预算戊三百到五百万": (300, 500),
    "预算己五百万以上": (500, None),
    "预算庚一千二百万": (1200, 1200),
    "预算辛面议": (None, None),
}
# Both ways results come: browsing (database) and a text query (search engine).
WAYS = [{}, {"q": "筛选场景"}]


def _text(html: str) -> str:
    """The page without the search's <mark> highlights, so titles read whole."""
    return re.sub(r"</?mark>", "", html)


def _titles(html: str, names) -> set[str]:
    html = _text(html)
    return {name for name in names if name in html}


async def _budget_listings(session, sync_index):
    bureau = await create_organisation(session, name="预算筛选测试局")
    for title, (low, high) in BUDGETS.items():
        await create_opportunity(
            session,
            bureau,
            title=f"{title}筛选场景",
            budget_min=Decimal(low) if low is not None else None,
            budget_max=Decimal(high) if high is not None else None,
            status=PUBLISHED,
        )
    await sync_index()


@pytest.mark.parametrize("way", WAYS, ids=["database", "engine"])
async def test_a_budget_range_shows_the_opportunities_whose_budget_meets_it(client, session, sync_index, way):
    await _budget_listings(session, sync_index)
    expected = {
        "lt100": {"预算甲八十万", "预算乙五十到一百万", "预算丙一百万以内"},
        "100-500": {"预算丁整一百万", "预算戊三百到五百万"},
        "500-1000": {"预算己五百万以上"},
        "gt1000": {"预算己五百万以上", "预算庚一千二百万"},
    }
    for code, titles in expected.items():
        html = (await client.get("/opportunities", params={**way, "budget": code})).text
        assert _titles(html, BUDGETS) == titles, code
        assert f"共 <strong>{len(titles)}</strong> 条" in html
    # Without a budget filter every listing shows, 面议 included.
    assert _titles((await client.get("/opportunities", params=way)).text, BUDGETS) == set(BUDGETS)


async def test_the_budget_and_deadline_groups_read_in_chinese_and_show_as_removable_chips(client, session, sync_index):
    await _budget_listings(session, sync_index)
    page = (await client.get("/opportunities")).text
    assert "<h2>预算</h2>" in page and "<h2>截止日期</h2>" in page
    for label in (
        "100万以下",
        "100万–500万",
        "500万–1000万",
        "1000万以上",
        "7天内截止",
        "30天内截止",
        "尚未截止",
        "不限",
    ):
        assert f"<span>{label}</span>" in page
    html = (await client.get("/opportunities", params={"budget": "100-500", "deadline": "30d", "q": "筛选场景"})).text
    chips = html[html.index('<ul class="chips"') :]
    chips = chips[: chips.index("</ul>")]
    assert "预算：100万–500万" in chips and "截止日期：30天内截止" in chips
    assert "100-500" not in re.sub(r'href="[^"]*"', "", chips) and "30d" not in re.sub(r'href="[^"]*"', "", chips)
    # Removing the budget chip keeps the query and the deadline.
    link = re.search(r'href="([^"]*)">预算：100万–500万', chips).group(1)
    assert "budget=" not in link and "deadline=30d" in link and "q=" in link
    # The search form carries both along when the words change.
    assert 'name="budget" value="100-500"' in html and 'name="deadline" value="30d"' in html
    # Unknown codes are dropped, not errors.
    odd = await client.get("/opportunities", params={"budget": "huge", "deadline": "yesterday"})
    assert odd.status_code == 200 and 'class="chips"' not in odd.text


async def _deadline_listings(session, sync_index):
    bureau = await create_organisation(session, name="截止筛选测试局")
    today = china_today()
    deadlines = {
        "截止甲昨天": today - timedelta(days=1),
        "截止乙今天": today,
        "截止丙五天后": today + timedelta(days=5),
        "截止丁二十天后": today + timedelta(days=20),
        "截止戊六十天后": today + timedelta(days=60),
        "截止己长期有效": None,
    }
    for title, deadline in deadlines.items():
        await create_opportunity(session, bureau, title=f"{title}筛选场景", deadline=deadline, status=PUBLISHED)
    await sync_index()
    return deadlines


@pytest.mark.parametrize("way", WAYS, ids=["database", "engine"])
async def test_a_deadline_choice_counts_days_from_today_in_china(client, session, sync_index, way):
    deadlines = await _deadline_listings(session, sync_index)
    expected = {
        "7d": {"截止乙今天", "截止丙五天后"},
        "30d": {"截止乙今天", "截止丙五天后", "截止丁二十天后"},
        # Still open: a deadline not yet passed, or none at all.
        "open": {"截止乙今天", "截止丙五天后", "截止丁二十天后", "截止戊六十天后", "截止己长期有效"},
    }
    for code, titles in expected.items():
        html = (await client.get("/opportunities", params={**way, "deadline": code})).text
        assert _titles(html, deadlines) == titles, code
    assert _titles((await client.get("/opportunities", params=way)).text, deadlines) == set(deadlines)


async def test_budget_and_deadline_combine_with_each_other_and_the_facet_counts_follow(client, session, sync_index):
    bureau = await create_organisation(session, name="组合筛选测试局")
    soon = china_today() + timedelta(days=3)
    await create_opportunity(
        session, bureau, title="组合甲筛选场景", budget_min=Decimal(200), budget_max=Decimal(200), deadline=soon,
        tracks=["iot"], status=PUBLISHED,
    )  # fmt: skip
    await create_opportunity(
        session, bureau, title="组合乙筛选场景", budget_min=Decimal(200), budget_max=Decimal(200), tracks=["iot"],
        status=PUBLISHED,
    )  # fmt: skip
    await create_opportunity(
        session, bureau, title="组合丙筛选场景", budget_min=Decimal(20), budget_max=Decimal(20), deadline=soon,
        tracks=["iot"], status=PUBLISHED,
    )  # fmt: skip
    await sync_index()
    for way in WAYS:
        html = _text((await client.get("/opportunities", params={**way, "budget": "100-500", "deadline": "7d"})).text)
        assert "组合甲" in html and "组合乙" not in html and "组合丙" not in html, way
        # The track facet counts only what the budget and deadline keep.
        assert re.search(r'<span>物联网</span><span class="count">1</span>', html), way


async def test_the_offering_list_has_no_budget_or_deadline_and_ignores_them(client, session, sync_index):
    company = await create_organisation(session, kind="enterprise", name="产品筛选测试公司")
    await create_offering(session, company, title="产品筛选场景", status=PUBLISHED)
    await sync_index()
    for way in WAYS:
        html = _text((await client.get("/offerings", params={**way, "budget": "lt100", "deadline": "7d"})).text)
        assert "产品筛选场景" in html and "<h2>预算</h2>" not in html and "<h2>截止日期</h2>" not in html, way
        assert 'class="chips"' not in html


async def _offerings(session, sync_index):
    company = await create_organisation(session, kind="enterprise", name="排序测试科技有限公司")
    base = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    # (title, maturity, published day, updated day)
    rows = [
        ("排序甲概念方案", "concept", 1, 9),
        ("排序乙成熟产品早", "mature", 2, 3),
        ("排序丙未填成熟度", None, 3, 7),
        ("排序丁试点应用", "pilot", 4, 1),
        ("排序戊成熟产品新", "mature", 5, 5),
    ]
    for title, maturity, published, updated in rows:
        await create_offering(
            session,
            company,
            title=f"{title}产品",
            maturity=maturity,
            status=PUBLISHED,
            published_at=base + timedelta(days=published),
            modified_at=base + timedelta(days=updated),
        )
    await sync_index()
    return [title for title, *_ in rows]


def _order(html: str, titles) -> list[str]:
    html = _text(html)
    return sorted((t for t in titles if t in html), key=html.index)


@pytest.mark.parametrize("way", [{}, {"q": "产品"}], ids=["database", "engine"])
async def test_offerings_sort_by_maturity_and_by_last_update(client, session, sync_index, way):
    titles = await _offerings(session, sync_index)
    by_maturity = (await client.get("/offerings", params={**way, "sort": "maturity"})).text
    # 成熟产品 first (newest first among them), then 试点应用, 概念方案, and those that state none.
    assert _order(by_maturity, titles) == [
        "排序戊成熟产品新",
        "排序乙成熟产品早",
        "排序丁试点应用",
        "排序甲概念方案",
        "排序丙未填成熟度",
    ]
    assert 'aria-current="true" class="selected">成熟度</a>' in by_maturity
    by_update = (await client.get("/offerings", params={**way, "sort": "updated"})).text
    assert _order(by_update, titles) == [
        "排序甲概念方案",
        "排序丙未填成熟度",
        "排序戊成熟产品新",
        "排序乙成熟产品早",
        "排序丁试点应用",
    ]
    newest = (await client.get("/offerings", params={**way, "sort": "newest"})).text
    assert _order(newest, titles) == [
        "排序戊成熟产品新",
        "排序丁试点应用",
        "排序丙未填成熟度",
        "排序乙成熟产品早",
        "排序甲概念方案",
    ]


async def test_each_list_offers_the_sorts_its_listings_have(client):
    offerings = (await client.get("/offerings")).text
    sorts = offerings[offerings.index('class="sorts"') :]
    sorts = sorts[: sorts.index("</nav>")]
    assert ">最新发布</a>" in sorts and ">最近更新</a>" in sorts and ">成熟度</a>" in sorts and "截止日期" not in sorts
    opportunities = (await client.get("/opportunities")).text
    sorts = opportunities[opportunities.index('class="sorts"') :]
    sorts = sorts[: sorts.index("</nav>")]
    assert ">截止日期</a>" in sorts and ">最近更新</a>" in sorts and "成熟度" not in sorts
    # A sort the list does not have falls back to newest.
    wrong = (await client.get("/opportunities", params={"sort": "maturity"})).text
    assert 'aria-current="true" class="selected">最新发布</a>' in wrong
