"""The statistics page, the open data page, and the export buttons on the list pages."""

import re

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.api.test_statistics import build_fixture
from tests.factories import create_opportunity, create_organisation, create_user, login


async def test_statistics_page_draws_charts_each_with_a_table_and_a_csv_export(client, session):
    await build_fixture(session)
    response = await client.get("/statistics")
    assert response.status_code == 200
    html = response.text
    assert "<h1>数据统计</h1>" in html
    for title in ("各赛道已发布的机会与产品", "各场景领域已发布的机会与产品", "各设区市已发布的机会与产品", "对接漏斗"):
        assert title in html
    assert html.count("<svg") == 4 and html.count("<table") == 4
    for name in ("by-track", "by-domain", "by-city", "funnel"):
        assert f'href="/statistics/{name}.csv"' in html
    # The table behind the track chart carries the hand-counted figures.
    assert re.search(r'<th scope="row">物联网</th><td>2</td><td>2</td>', html)
    assert re.search(r'<th scope="row">推荐</th><td>5</td><td>1</td><td>80.0%</td>', html)
    # Charts are SVG attributes and CSS classes only: nothing the CSP would block.
    assert "<script" not in html.split("</head>")[1] and 'style="' not in html
    # The matchmakers' view stays theirs.
    assert "供需缺口" not in html and "出卷单位" not in html


async def test_matchmakers_see_issuers_and_supply_gaps_on_the_page(client, session):
    await build_fixture(session)
    await login(client, await create_user(session, role=Role.matchmaker))
    html = (await client.get("/statistics")).text
    assert "供需缺口：赛道" in html and "供需缺口：场景领域" in html
    assert "各出卷单位收到的答题与响应时间" in html
    assert re.search(r'<th scope="row">专业芯片</th><td>1</td><td>0</td><td>1</td><td>100.0%</td><td>缺口</td>', html)
    assert 'href="/statistics/track-gaps.csv"' in html


async def test_a_statistics_table_downloads_as_csv_but_staff_tables_only_for_staff(client, session):
    await build_fixture(session)
    response = await client.get("/statistics/by-city.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert text.splitlines()[0] == "地区,已发布机会,已发布产品"
    assert "南昌市,2,2" in text.splitlines()
    assert (await client.get("/statistics/track-gaps.csv")).status_code == 404
    assert (await client.get("/statistics/nothing.csv")).status_code == 404
    await login(client, await create_user(session, role=Role.matchmaker))
    gaps = (await client.get("/statistics/track-gaps.csv")).content.decode("utf-8-sig")
    assert "专业芯片,1,0,1,100.0%,缺口" in gaps.splitlines()


async def test_list_pages_offer_excel_and_csv_exports_with_the_current_filters(client, session):
    bureau = await create_organisation(session)
    await create_opportunity(session, bureau, tracks=["iot"], status=ListingStatus.published)
    html = (await client.get("/opportunities", params={"track": "iot", "region": "360100"})).text
    xlsx = re.search(r'href="(/api/v1/exports/opportunities\.xlsx[^"]*)"[^>]*>导出 Excel', html)
    csv_link = re.search(r'href="(/api/v1/exports/opportunities\.csv[^"]*)"[^>]*>导出 CSV', html)
    assert xlsx and csv_link
    for link in (xlsx.group(1), csv_link.group(1)):
        assert "track=iot" in link and "region=360100" in link and "status=published" in link
    download = await client.get(xlsx.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    offerings = (await client.get("/offerings")).text
    assert 'href="/api/v1/exports/offerings.csv?status=published"' in offerings


async def test_open_data_page_lists_downloads_fields_and_the_feed(client):
    response = await client.get("/opendata")
    assert response.status_code == 200
    html = response.text
    for href in (
        "/opendata/opportunities.csv",
        "/opendata/opportunities.json",
        "/opendata/offerings.csv",
        "/opendata/offerings.json",
        "/feed.atom",
    ):
        assert f'href="{href}"' in html
    assert "<code>budget_text</code>" in html and "<code>maturity</code>" in html
    assert "不含联系方式" in html


async def test_every_page_announces_the_atom_feed_and_links_statistics_and_open_data(client):
    html = (await client.get("/")).text
    assert '<link rel="alternate" type="application/atom+xml"' in html and 'href="/feed.atom"' in html
    assert ">数据统计</a>" in html and 'href="/opendata"' in html
