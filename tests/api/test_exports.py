"""Exports of list views: the list's filters and visibility, the import layout, and a lossless round trip."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import delete
from sqlmodel import select

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.imports.parsing import FIELD_LABELS, FIELDS, parse_listing_file
from backend.imports.service import import_rows
from backend.kit.china_time import china_today
from backend.listings.models import (
    ListingKind,
    ListingStatus,
    OfferingDomain,
    OfferingTrack,
    Opportunity,
    OpportunityDomain,
    OpportunityTrack,
)
from backend.listings.service import load_classification
from backend.organisations.models import OrganisationKind
from backend.taxonomy.service import get_or_create_batch
from search import SearchUnavailable
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, credit_code, login

PUBLISHED = ListingStatus.published
HEADERS = [FIELD_LABELS[f] for f in FIELDS]


def _sheet(body: bytes) -> list[dict]:
    workbook = load_workbook(io.BytesIO(body))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [dict(zip(FIELDS, row, strict=True)) for row in rows[1:]]


def _csv(body: bytes) -> list[dict]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read Chinese
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    return [dict(zip(FIELDS, row, strict=True)) for row in rows[1:]]


async def _listings(session):
    bureau = await create_organisation(session, name="导出测试市交通局")
    other = await create_organisation(session, name="导出测试市水利局")
    await create_opportunity(
        session, bureau, title="已发布的物联网场景", tracks=["iot"], status=PUBLISHED, contact="秘密电话 0791-1111111"
    )
    await create_opportunity(
        session, bureau, title="已发布的无人机场景", tracks=["drones"], status=PUBLISHED, region_code="360700"
    )
    await create_opportunity(session, bureau, title="交通局草稿", tracks=["iot"], contact="草稿联系人")
    await create_opportunity(session, other, title="水利局草稿", tracks=["iot"], contact="水利联系人")
    return bureau, other


async def test_visitor_export_follows_the_filters_and_shows_no_contacts(client, session):
    await _listings(session)
    response = await client.get("/api/v1/exports/opportunities.xlsx", params={"track": "iot"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["content-disposition"]
    # Named by the date in China (the date the site shows), not the server's UTC date.
    china = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert f'filename="opportunities-{china:%Y%m%d}.xlsx"' in response.headers["content-disposition"]
    rows = _sheet(response.content)
    assert [r["title"] for r in rows] == ["已发布的物联网场景"]
    assert rows[0]["contact"] is None
    assert rows[0]["kind"] == "机会清单" and rows[0]["organisation"] == "导出测试市交通局"
    assert rows[0]["tracks"] == "物联网"

    by_region = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"region": "360700"})).content)
    assert [r["title"] for r in by_region] == ["已发布的无人机场景"]
    everything = _csv((await client.get("/api/v1/exports/opportunities.csv")).content)
    assert {r["title"] for r in everything} == {"已发布的物联网场景", "已发布的无人机场景"}
    assert all(r["contact"] == "" for r in everything)
    # Asking for drafts does not reveal them to a visitor.
    drafts = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"status": "draft"})).content)
    assert drafts == []


async def test_an_organisation_exports_its_own_drafts_and_contacts_but_not_others(client, session):
    bureau, _ = await _listings(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=bureau))
    rows = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"track": "iot"})).content)
    assert {r["title"]: r["contact"] for r in rows} == {
        "已发布的物联网场景": "秘密电话 0791-1111111",
        "交通局草稿": "草稿联系人",
    }


async def test_staff_export_includes_every_status_and_contact(client, session):
    await _listings(session)
    await login(client, await create_user(session, role=Role.matchmaker))
    rows = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"status": "draft"})).content)
    assert {r["title"]: r["contact"] for r in rows} == {"交通局草稿": "草稿联系人", "水利局草稿": "水利联系人"}


async def test_export_with_a_bad_filter_is_refused_with_a_problem(client):
    response = await client.get("/api/v1/exports/offerings.xlsx", params={"batch": "0"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/exports/offerings.pdf")).status_code == 404


async def test_formula_like_text_stays_text(client, session):
    bureau = await create_organisation(session)
    await create_opportunity(session, bureau, title='=HYPERLINK("http://evil.example","点我")', status=PUBLISHED)
    sheet = load_workbook(io.BytesIO((await client.get("/api/v1/exports/opportunities.xlsx")).content))
    cell = sheet.worksheets[0]["C2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    text = (await client.get("/api/v1/exports/opportunities.csv")).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text  # a spreadsheet shows it as text instead of running it


# ------------------------------------------------------------------ what the list page shows

# Title → (budget 万元 low, high; deadline in days from today in China, None: 长期有效).
_RANGED = {
    "导出范围甲八十万五天": (80, 80, 5),
    "导出范围乙二百万二十天": (200, 200, 20),
    "导出范围丙三百到五百万长期": (300, 500, None),
    "导出范围丁一千二百万昨天": (1200, 1200, -1),
    "导出范围戊面议六十天": (None, None, 60),
    "导出范围己五百万以上三天": (500, None, 3),
}


def _page_order(html: str) -> list[str]:
    """The titles of the page's results, top to bottom (the page says nothing else with these names)."""
    html = re.sub(r"</?mark>", "", html)
    return sorted((t for t in _RANGED if t in html), key=html.index)


async def test_a_filtered_list_page_exports_exactly_what_it_lists_in_its_order(client, session):
    bureau = await create_organisation(session, name="导出范围测试局")
    today = china_today()
    for title, (low, high, days) in _RANGED.items():
        await create_opportunity(
            session,
            bureau,
            title=title,
            budget_min=Decimal(low) if low is not None else None,
            budget_max=Decimal(high) if high is not None else None,
            deadline=today + timedelta(days=days) if days is not None else None,
            status=PUBLISHED,
        )
    for page_params in (
        {"budget": "100-500"},
        {"deadline": "7d"},
        {"deadline": "open", "sort": "deadline"},
        {"budget": "gt1000", "deadline": "open"},
        {"budget": "lt100", "deadline": "30d", "sort": "updated"},
        {"deadline": "30d", "sort": "deadline"},
    ):
        html = (await client.get("/opportunities", params=page_params)).text
        shown = _page_order(html)
        for extension in ("csv", "xlsx"):
            link = re.search(rf'href="(/api/v1/exports/opportunities\.{extension}[^"]*)"', html).group(1)
            response = await client.get(link.replace("&amp;", "&"))
            assert response.status_code == 200, (page_params, response.text)
            rows = _csv(response.content) if extension == "csv" else _sheet(response.content)
            assert [r["title"] for r in rows] == shown, page_params
    # What the page shows for 尚未截止 with 截止日期 first: dated ones from today on, then the undated one.
    html = (await client.get("/opportunities", params={"deadline": "open", "sort": "deadline"})).text
    assert _page_order(html) == [
        "导出范围己五百万以上三天",
        "导出范围甲八十万五天",
        "导出范围乙二百万二十天",
        "导出范围戊面议六十天",
        "导出范围丙三百到五百万长期",
    ]
    # The link spells the choices as the API's parameters: 万元 bounds, open=true, dates of today in China.
    html = (await client.get("/opportunities", params={"budget": "100-500", "deadline": "7d"})).text
    link = re.search(r'href="(/api/v1/exports/opportunities\.csv[^"]*)"', html).group(1)
    assert "budget_from=100&amp;budget_to=500" in link
    assert f"deadline_from={today.isoformat()}&amp;deadline_to={(today + timedelta(days=7)).isoformat()}" in link
    open_link = re.search(
        r'href="(/api/v1/exports/opportunities\.csv[^"]*)"',
        (await client.get("/opportunities", params={"deadline": "open"})).text,
    ).group(1)
    assert "open=true" in open_link and "deadline_from" not in open_link


_WORDS = {
    "智慧农业墒情监测场景": (200, 5),
    "智慧农业灌溉控制场景": (2000, 20),
    "数字乡村农业物联网场景": (300, 40),
    "城市交通信号优化场景": (200, 10),
}


async def test_a_searched_list_page_exports_what_the_search_engine_finds_in_its_order(app, client, session, sync_index):
    bureau = await create_organisation(session, name="导出搜索测试局")
    today = china_today()
    for title, (budget, days) in _WORDS.items():
        await create_opportunity(
            session,
            bureau,
            title=title,
            budget_min=Decimal(budget),
            budget_max=Decimal(budget),
            deadline=today + timedelta(days=days),
            status=PUBLISHED,
        )
    await sync_index()
    for page_params in (
        {"q": "zhihuinongye"},  # pinyin: no title contains these letters
        {"q": "智慧农业", "budget": "100-500"},
        {"q": "农业", "sort": "deadline"},
        {"q": "农业", "deadline": "30d", "sort": "newest"},
    ):
        html = re.sub(r"</?mark>", "", (await client.get("/opportunities", params=page_params)).text)
        shown = sorted((t for t in _WORDS if t in html), key=html.index)
        assert shown, page_params
        link = re.search(r'href="(/api/v1/exports/opportunities\.csv[^"]*)"', html).group(1)
        rows = _csv((await client.get(link.replace("&amp;", "&"))).content)
        assert [r["title"] for r in rows] == shown, page_params
    pinyin = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"q": "zhihuinongye"})).content)
    assert {r["title"] for r in pinyin} >= {"智慧农业墒情监测场景", "智慧农业灌溉控制场景"}

    # While the engine is down a query cannot be exported (the page cannot show it either); browsing can.
    class StoppedEngine:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise SearchUnavailable("engine stopped by the test")

            return fail

    app.state.search_engine = StoppedEngine()
    down = await client.get("/api/v1/exports/opportunities.csv", params={"q": "农业"})
    assert down.status_code == 503 and down.headers["content-type"].startswith("application/problem+json")
    assert len(_csv((await client.get("/api/v1/exports/opportunities.csv")).content)) == len(_WORDS)


async def test_open_means_not_yet_past_or_undated_in_the_list_search_and_export_apis(client, session, sync_index):
    bureau = await create_organisation(session, name="尚未截止测试局")
    today = china_today()
    for title, days in (
        ("尚未截止甲昨天", -1),
        ("尚未截止乙今天", 0),
        ("尚未截止丙十天后", 10),
        ("尚未截止丁长期", None),
    ):
        deadline = today + timedelta(days=days) if days is not None else None
        await create_opportunity(session, bureau, title=title, deadline=deadline, status=PUBLISHED)
    await sync_index()
    still_open = {"尚未截止乙今天", "尚未截止丙十天后", "尚未截止丁长期"}
    listed = (await client.get("/api/v1/opportunities", params={"open": "true"})).json()["items"]
    assert {i["title"] for i in listed} == still_open
    found = (await client.get("/api/v1/search", params={"kind": "opportunity", "open": "true"})).json()["hits"]
    assert {h["title"] for h in found} == still_open
    exported = _csv((await client.get("/api/v1/exports/opportunities.csv", params={"open": "true"})).content)
    assert {r["title"] for r in exported} == still_open
    # With a date range too: the dated ones within it from today on.
    narrowed = (
        await client.get("/api/v1/opportunities", params={"open": "true", "deadline_to": str(today + timedelta(5))})
    ).json()["items"]
    assert [i["title"] for i in narrowed] == ["尚未截止乙今天"]
    # open=false is no filter at all.
    assert (await client.get("/api/v1/opportunities", params={"open": "false"})).json()["total"] == 4


# ------------------------------------------------------------------ the round trip


async def _round_trip_listings(session):
    """Listings with every field the import layout carries filled in, as a matchmaker would see them."""
    bureau = await create_organisation(
        session, name="往返测试赣州市农业农村局", kind=OrganisationKind.city, region_code="360700"
    )
    company = await create_organisation(
        session, name="往返测试数字科技有限公司", kind=OrganisationKind.enterprise, credit_code=credit_code()
    )
    lab = await create_organisation(session, name="往返测试虚拟现实实验室", kind=OrganisationKind.lab)
    third = (await get_or_create_batch(session, number=3)).id
    second = (await get_or_create_batch(session, number=2)).id
    orchard = await create_opportunity(
        session,
        bureau,
        title="赣州脐橙果园<智慧>监测",
        description="果园墒情与虫情监测。\n第二段：建设数据平台。",
        region_code="360702",
        place="赣州市章贡区",
        tags=["脐橙", "果园监测"],
        tracks=["smart_agriculture", "iot"],
        budget_text="50-100万元",
        budget_min=Decimal(50),
        budget_max=Decimal(100),
        deadline=date(2099, 12, 31),
        contact="李工 0797-1234567",
        requirements="具备农业物联网案例\n提供三年运维",
        batch_id=third,
        status=PUBLISHED,
    )
    session.add(OpportunityDomain(listing_id=orchard.id, domain_code="modern_agriculture"))
    negotiable = await create_opportunity(
        session,
        bureau,
        title="鄱阳湖水位预警",
        external_id="GZ-2026-007",
        region_code="360000",
        place="全省",
        budget_text="面议",
        deadline=None,
        contact="",
        requirements="",
        status=ListingStatus.draft,
    )
    museum = await create_offering(
        session,
        company,
        title="沉浸式数字展厅",
        description="VR 与数字孪生结合的展陈方案",
        region_code=None,
        place="全国",
        tags=["沉浸式展陈"],
        tracks=["vr"],
        maturity="pilot",
        reference_cases="景德镇陶瓷博物馆\n滕王阁数字展",
        certifications="ISO 27001",
        contact="王经理 13800000000",
        batch_id=second,
        status=PUBLISHED,
    )
    session.add(OfferingDomain(listing_id=museum.id, domain_code="culture_tourism"))
    session.add(OfferingDomain(listing_id=museum.id, domain_code="healthcare"))
    prototype = await create_offering(
        session,
        lab,
        title="实验室原型：电子元器件检测",
        region_code="360100",
        place="南昌市",
        tracks=["electronic_components"],
        maturity=None,
        reference_cases="",
        certifications="",
        contact="",
        status=PUBLISHED,
    )
    await session.flush()
    return [orchard, negotiable], [museum, prototype]


_OPPORTUNITY_FIELDS = (
    "title",
    "organisation_id",
    "region_code",
    "place",
    "description",
    "tags",
    "budget_text",
    "budget_min",
    "budget_max",
    "deadline",
    "contact",
    "requirements",
    "batch_id",
    "external_id",
    "status",
)
_OFFERING_FIELDS = (
    "title",
    "organisation_id",
    "region_code",
    "place",
    "description",
    "tags",
    "maturity",
    "reference_cases",
    "certifications",
    "contact",
    "batch_id",
    "external_id",
    "status",
)


async def _snapshot(session, kind, listings, fields):
    tracks, domains = await load_classification(session, kind, [x.id for x in listings])
    return {
        x.id: {**{f: getattr(x, f) for f in fields}, "tracks": set(tracks[x.id]), "domains": set(domains[x.id])}
        for x in listings
    }


async def _scramble(session, listings, decoy_organisation_id):
    """Wipe every field the file carries, so that only the import can bring them back."""
    for x in listings:
        x.title, x.description, x.place, x.region_code, x.tags, x.contact = "已清空", "", "", None, [], ""
        x.organisation_id, x.batch_id = decoy_organisation_id, None
        if isinstance(x, Opportunity):
            x.budget_text, x.budget_min, x.budget_max, x.deadline, x.requirements = "", None, None, None, ""
        else:
            x.maturity, x.reference_cases, x.certifications = None, "", ""
        session.add(x)
    for link in (OpportunityTrack, OpportunityDomain, OfferingTrack, OfferingDomain):
        await session.exec(delete(link))
    await session.flush()


async def test_xlsx_round_trip_keeps_every_field(client, session):
    opportunities, offerings = await _round_trip_listings(session)
    staff = await create_user(session, role=Role.matchmaker)
    await login(client, staff)
    before = {
        ListingKind.opportunity: await _snapshot(session, ListingKind.opportunity, opportunities, _OPPORTUNITY_FIELDS),
        ListingKind.offering: await _snapshot(session, ListingKind.offering, offerings, _OFFERING_FIELDS),
    }
    files = {}
    for slug in ("opportunities", "offerings"):
        response = await client.get(f"/api/v1/exports/{slug}.xlsx")
        assert response.status_code == 200, response.text
        files[slug] = response.content
    exported = _sheet(files["opportunities"])
    assert {r["external_id"] for r in exported} == {f"opportunity-{opportunities[0].id}", "GZ-2026-007"}

    decoy = await create_organisation(session, name="往返测试占位单位")
    await _scramble(session, [*opportunities, *offerings], decoy.id)

    for slug, count in (("opportunities", 2), ("offerings", 2)):
        rows, errors = parse_listing_file(files[slug], f"{slug}.xlsx")
        assert errors == []
        report = await import_rows(session, actor=Actor(user=staff), rows=rows, parse_errors=[])
        assert report.errors == []
        # The same listings are updated: nothing is created twice, no organisation is invented.
        assert (report.created, report.updated, report.organisations_created) == (0, count, 0)

    for kind, listings, fields in (
        (ListingKind.opportunity, opportunities, _OPPORTUNITY_FIELDS),
        (ListingKind.offering, offerings, _OFFERING_FIELDS),
    ):
        for x in listings:
            await session.refresh(x)
        after = await _snapshot(session, kind, listings, fields)
        assert after == before[kind]
    assert (await session.exec(select(Opportunity).where(Opportunity.title == "已清空"))).first() is None
    assert before[ListingKind.opportunity][opportunities[0].id]["tags"] == ["脐橙", "果园监测"]
    assert before[ListingKind.offering][offerings[0].id]["domains"] == {"culture_tourism", "healthcare"}


async def test_re_importing_an_export_twice_never_duplicates(client, session):
    _opportunities, _ = await _round_trip_listings(session)
    staff = await create_user(session, role=Role.matchmaker)
    await login(client, staff)
    body = (await client.get("/api/v1/exports/opportunities.xlsx")).content
    for _ in range(2):
        rows, _errors = parse_listing_file(body, "opportunities.xlsx")
        report = await import_rows(session, actor=Actor(user=staff), rows=rows, parse_errors=[])
        assert (report.created, report.updated) == (0, 2)
    count = len((await session.exec(select(Opportunity.id))).all())
    assert count == 2
