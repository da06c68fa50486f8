"""The site's own pages: help, contact, privacy, footer record numbers, robots.txt, sitemap.xml, import template."""

import io

import pytest
from openpyxl import load_workbook

from backend.auth.models import Role
from backend.imports.parsing import FIELD_LABELS, FIELDS, parse_listing_file
from backend.listings.models import ListingStatus
from backend.settings import Settings
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The deployment's own details, as an operator sets them in the environment.
    return settings.model_copy(
        update={
            "site_url": "https://scenes.example.gov.cn",
            "site_operator": "江西省信息中心",
            "contact_phone": "0791-88880000",
            "icp_record": "赣ICP备12345678号",
            "police_record": "赣公网安备36010002000001号",
            "site_code": "3600000012",
        }
    )


async def test_every_page_footer_names_the_organisers_and_carries_the_record_numbers(client):
    for path in ("/", "/opportunities", "/help", "/no-such-page"):
        html = (await client.get(path)).text
        assert "主办单位：江西省发展数字经济领导小组办公室" in html and "承办单位：江西省信息中心" in html, path
        assert 'href="https://beian.miit.gov.cn/"' in html and "赣ICP备12345678号" in html
        assert "code=36010002000001" in html and "网站标识码：3600000012" in html
        assert 'href="/contact"' in html and 'href="/privacy"' in html and 'href="/help"' in html


async def test_help_contact_and_privacy_pages_answer_what_people_ask(client):
    help_page = (await client.get("/help")).text
    for words in ("如何注册入驻", "如何答题", "如何组成联合体答题", "中选以后会发生什么", "公示"):
        assert words in help_page
    contact = (await client.get("/contact")).text
    assert "0791-88880000" in contact and 'href="tel:0791-88880000"' in contact and "江西省信息中心" in contact
    privacy = (await client.get("/privacy")).text
    assert "答题方案及附件只对答题企业" in privacy


async def test_robots_txt_points_at_the_sitemap_on_the_public_address(client):
    response = await client.get("/robots.txt", headers={"Host": "evil.example"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "Sitemap: https://scenes.example.gov.cn/sitemap.xml" in response.text
    assert "Disallow: /workspace" in response.text and "Disallow: /api/" in response.text


async def test_the_sitemap_lists_published_listings_only(client, session):
    organisation = await create_organisation(session)
    shown = await create_opportunity(session, organisation, title="公开的场景", status=ListingStatus.published)
    draft = await create_opportunity(session, organisation, title="草稿场景", status=ListingStatus.draft)
    response = await client.get("/sitemap.xml")
    assert response.status_code == 200 and "xml" in response.headers["content-type"]
    body = response.text
    assert f"<loc>https://scenes.example.gov.cn/opportunities/{shown.id}</loc><lastmod>" in body
    assert f"/opportunities/{draft.id}<" not in body
    assert "<loc>https://scenes.example.gov.cn/help</loc>" in body


async def test_without_record_numbers_the_footer_shows_none(make_client, app):
    app.state.settings = app.state.settings.model_copy(
        update={"icp_record": None, "police_record": None, "site_code": None}
    )
    html = (await make_client().get("/")).text
    assert "ICP" not in html and "公网安备" not in html and "网站标识码" not in html


async def test_the_import_page_offers_a_template_in_the_export_layout_that_imports_cleanly(client, session):
    await sign_in(client, (await create_user(session, role=Role.matchmaker)).email, PASSWORD)
    page = (await client.get("/review/import")).text
    assert 'href="/review/import/template.xlsx"' in page and "……" not in page
    for label in FIELD_LABELS.values():
        assert f'<th scope="row">{label}</th>' in page
    assert "南昌县水稻种植智慧农业示范" in page  # an example for each column, not "……"

    response = await client.get("/review/import/template.xlsx")
    assert response.status_code == 200 and "import-template.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header == [FIELD_LABELS[f] for f in FIELDS]
    rows, errors = parse_listing_file(response.content, "import-template.xlsx")
    assert errors == [] and [r.kind for r in rows] == ["opportunity", "offering"]
    assert rows[0].credit_code and rows[0].deadline is not None

    # Uploaded back as it is, both example rows are imported.
    imported = await post_form(
        client,
        "/review/import",
        {},
        token_from="/review/import",
        files={"file": ("import-template.xlsx", response.content, "application/octet-stream")},
    )
    assert "<strong>2</strong><span>新增</span>" in imported.text


async def test_only_staff_download_the_import_template(client, session):
    organisation = await create_organisation(session)
    await sign_in(client, (await create_user(session, role=Role.issuer, organisation=organisation)).email, PASSWORD)
    assert (await client.get("/review/import/template.xlsx")).status_code == 403
