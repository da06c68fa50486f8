"""Open data: published lists as CSV and JSON without contacts, and an Atom feed of new items."""

import csv
import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from backend.listings.models import ListingKind, ListingStatus, OpportunityDomain
from backend.opendata.service import OPEN_FIELDS
from tests.factories import create_offering, create_opportunity, create_organisation

PUBLISHED = ListingStatus.published
ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


async def _lists(session):
    bureau = await create_organisation(session, name="开放数据测试交通局")
    company = await create_organisation(session, name="开放数据测试科技公司", kind="enterprise")
    road = await create_opportunity(
        session,
        bureau,
        title="城市路口信号优化",
        tracks=["iot"],
        status=PUBLISHED,
        published_at=T0,
        budget_text="50-100万元",
        budget_min=50,
        budget_max=100,
        contact="秘密联系人 0791-1234567",
        region_code="360121",
        place="南昌县",
    )
    session.add(OpportunityDomain(listing_id=road.id, domain_code="transport"))
    await create_opportunity(session, bureau, title="交通局草稿", status=ListingStatus.draft, contact="草稿联系人")
    await create_offering(
        session,
        company,
        title="信号自适应控制系统",
        tracks=["iot"],
        status=PUBLISHED,
        published_at=T0 + timedelta(hours=1),
        maturity="mature",
        contact="王经理 13800000000",
        tags=["车路协同"],
    )
    await create_offering(session, company, title="已撤回的产品", status=ListingStatus.withdrawn, contact="撤回联系人")
    await session.flush()
    return road


async def test_published_opportunities_download_as_csv_for_excel_without_contacts(client, session):
    road = await _lists(session)
    response = await client.get("/opendata/opportunities.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [f.name for f in OPEN_FIELDS[ListingKind.opportunity]]
    assert [r["title"] for r in rows] == ["城市路口信号优化"]
    row = rows[0]
    assert row["id"] == str(road.id) and row["url"].endswith(f"/opportunities/{road.id}")
    assert (row["region_code"], row["region"], row["place"]) == ("360121", "南昌县", "南昌县")
    assert (row["tracks"], row["track_codes"], row["domains"]) == ("物联网", "iot", "交通出行")
    assert (row["budget_text"], row["budget_min"], row["budget_max"]) == ("50-100万元", "50.0", "100.0")
    assert row["published_at"].startswith("2026-05-01T09:00:00")
    assert "contact" not in row
    assert "秘密联系人" not in text and "草稿" not in text


async def test_published_offerings_download_as_json_with_field_descriptions(client, session):
    await _lists(session)
    response = await client.get("/opendata/offerings.json")
    assert response.status_code == 200
    data = response.json()
    assert data["list"] == "产品清单" and data["count"] == 1
    assert {f["name"] for f in data["fields"]} == {f.name for f in OPEN_FIELDS[ListingKind.offering]}
    assert all(f["description"] for f in data["fields"])
    item = data["items"][0]
    assert item["title"] == "信号自适应控制系统"
    assert (item["maturity"], item["maturity_label"]) == ("mature", "成熟产品")
    assert item["tracks"] == ["物联网"] and item["tags"] == ["车路协同"]
    assert "contact" not in item and "王经理" not in response.text and "已撤回" not in response.text


async def test_atom_feed_lists_newest_published_items_of_both_lists(client, session):
    road = await _lists(session)
    response = await client.get("/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text.endswith("/feed.atom")
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/feed.atom")
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert titles == [
        "【产品】信号自适应控制系统",
        "【机会】城市路口信号优化",
    ]  # newest first; no drafts or withdrawn items
    opportunity = entries[1]
    link = opportunity.find(f"{ATOM}link").get("href")
    assert link.endswith(f"/opportunities/{road.id}") and opportunity.find(f"{ATOM}id").text == link
    assert opportunity.find(f"{ATOM}published").text == "2026-05-01T09:00:00Z"
    assert opportunity.find(f"{ATOM}updated").text.endswith("Z")
    assert opportunity.find(f"{ATOM}author/{ATOM}name").text == "开放数据测试交通局"
    assert {c.get("term") for c in opportunity.findall(f"{ATOM}category")} == {"iot", "transport"}
    assert feed.find(f"{ATOM}updated").text == entries[0].find(f"{ATOM}updated").text
    assert "秘密联系人" not in response.text


async def test_atom_feed_escapes_markup_in_titles(client, session):
    bureau = await create_organisation(session)
    await create_opportunity(
        session, bureau, title="<script>alert('x')</script> & 智慧\x07水利", description="<b>描述</b>", status=PUBLISHED
    )
    response = await client.get("/feed.atom")
    assert b"<script>" not in response.content and b"<b>" not in response.content
    assert b"&lt;script&gt;" in response.content
    entry = ET.fromstring(response.content).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "【机会】<script>alert('x')</script> & 智慧水利"
    assert entry.find(f"{ATOM}summary").text == "<b>描述</b>"


async def test_atom_feed_keeps_the_newest_fifty(client, session):
    bureau = await create_organisation(session)
    for n in range(52):
        await create_opportunity(
            session, bureau, title=f"机会{n}", status=PUBLISHED, published_at=T0 + timedelta(minutes=n)
        )
    entries = ET.fromstring((await client.get("/feed.atom")).content).findall(f"{ATOM}entry")
    assert len(entries) == 50
    assert entries[0].find(f"{ATOM}title").text == "【机会】机会51"
    assert entries[-1].find(f"{ATOM}title").text == "【机会】机会2"


async def test_empty_platform_still_has_a_valid_feed_and_empty_downloads(client):
    feed = ET.fromstring((await client.get("/feed.atom")).content)
    assert feed.findall(f"{ATOM}entry") == [] and feed.find(f"{ATOM}updated").text
    assert (await client.get("/opendata/opportunities.json")).json()["items"] == []
    text = (await client.get("/opendata/offerings.csv")).content.decode("utf-8-sig")
    assert text.strip().split(",")[0] == "id"
