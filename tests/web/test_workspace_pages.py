"""The issuer's and the enterprise's workspace: drafts, validation messages, submission, profile."""

from sqlmodel import select

from backend.auth.models import Role
from backend.listings.models import ListingStatus, Offering, Opportunity
from backend.organisations.models import Organisation, OrganisationKind
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user, credit_code
from tests.web.helpers import post_form, sign_in


async def _issuer(client, session):
    organisation = await create_organisation(session)
    user = await create_user(session, role=Role.issuer, organisation=organisation)
    await sign_in(client, user.email, PASSWORD)
    return organisation


async def _enterprise(client, session):
    organisation = await create_organisation(session, kind=OrganisationKind.enterprise)
    user = await create_user(session, role=Role.enterprise, organisation=organisation)
    await sign_in(client, user.email, PASSWORD)
    return organisation


async def test_the_workspace_sends_each_role_to_its_own_work(client, session):
    await _issuer(client, session)
    response = await client.get("/workspace")
    assert response.headers["location"] == "/workspace/opportunities"


async def test_a_visitor_is_asked_to_sign_in_for_the_workspace(client):
    response = await client.get("/workspace/opportunities/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/workspace/opportunities/new"


async def test_the_opportunity_form_has_the_fields_an_issuer_fills_in(client, session):
    await _issuer(client, session)
    html = (await client.get("/workspace/opportunities/new")).text
    for name in (
        "title",
        "description",
        "requirements",
        "budget_text",
        "budget_min",
        "budget_max",
        "deadline",
        "region_code",
        "place",
        "tracks",
        "domains",
        "tags",
        "contact",
        "csrf_token",
    ):
        assert f'name="{name}"' in html, name
    assert '<label for="f-title">标题' in html


async def test_an_issuer_creates_a_draft_and_submits_it_for_review(client, session):
    organisation = await _issuer(client, session)
    response = await post_form(
        client,
        "/workspace/opportunities/new",
        {
            "title": "抚州市智慧农业病虫害监测",
            "description": "建设田间物联网监测站",
            "region_code": "361000",
            "tracks": ["smart_agriculture", "iot"],
            "budget_text": "200万元",
            "budget_min": "200",
            "budget_max": "200",
            "deadline": "2099-06-30",
            "tags": "病虫害、物联网",
            "contact": "张工 0794-0000000",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/workspace/opportunities?done=created"
    listing = (await session.exec(select(Opportunity).where(Opportunity.organisation_id == organisation.id))).one()
    assert listing.status == ListingStatus.draft and listing.tags == ["病虫害", "物联网"]

    mine = (await client.get(response.headers["location"])).text
    assert "已保存为草稿" in mine and "抚州市智慧农业病虫害监测" in mine and "提交审核" in mine

    submitted = await post_form(
        client, f"/workspace/opportunities/{listing.id}/submit", {}, token_from="/workspace/opportunities"
    )
    assert submitted.status_code == 303
    await session.refresh(listing)
    assert listing.status == ListingStatus.pending_review
    assert "等待审核" in (await client.get("/workspace/opportunities")).text


async def test_validation_messages_appear_in_chinese_next_to_the_fields(client, session):
    await _issuer(client, session)
    response = await post_form(
        client,
        "/workspace/opportunities/new",
        {
            "title": "",
            "description": "x",
            "budget_min": "abc",
            "deadline": "2027-13-45",
            "contact": "保留我填的内容",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert '<p class="field-error" id="title-error">请填写标题</p>' in html
    assert '<p class="field-error" id="budget_min-error">应为数字</p>' in html
    assert 'id="deadline-error">日期格式应为 YYYY-MM-DD' in html
    assert 'value="保留我填的内容"' in html  # nothing typed is lost


async def test_a_budget_range_upside_down_is_explained_at_the_budget(client, session):
    await _issuer(client, session)
    response = await post_form(
        client, "/workspace/opportunities/new", {"title": "预算测试", "budget_min": "500", "budget_max": "100"}
    )
    assert response.status_code == 422
    assert 'id="budget_min-error">预算下限不能高于上限' in response.text


async def test_submitting_a_draft_without_description_says_why_not(client, session):
    organisation = await _issuer(client, session)
    draft = await create_opportunity(session, organisation, description="")
    response = await post_form(
        client, f"/workspace/opportunities/{draft.id}/submit", {}, token_from="/workspace/opportunities"
    )
    assert response.status_code == 422
    assert "提交审核前请填写描述" in response.text


async def test_an_issuer_edits_its_draft(client, session):
    organisation = await _issuer(client, session)
    draft = await create_opportunity(session, organisation, tracks=["iot"])
    form = (await client.get(f"/workspace/opportunities/{draft.id}/edit")).text
    assert f'value="{draft.title}"' in form and 'value="iot" checked' in form
    response = await post_form(
        client,
        f"/workspace/opportunities/{draft.id}/edit",
        {"title": "改过的标题", "description": "新描述"},
        token_from=f"/workspace/opportunities/{draft.id}/edit",
    )
    assert response.status_code == 303
    await session.refresh(draft)
    assert draft.title == "改过的标题"


async def test_another_organisations_draft_cannot_be_edited(client, session):
    await _issuer(client, session)
    other = await create_opportunity(session, await create_organisation(session))
    assert (await client.get(f"/workspace/opportunities/{other.id}/edit")).status_code == 404


async def test_an_enterprise_cannot_open_the_issuer_workspace(client, session):
    await _enterprise(client, session)
    response = await client.get("/workspace/opportunities/new")
    assert response.status_code == 403 and "没有权限" in response.text


async def test_an_enterprise_keeps_its_offerings(client, session):
    organisation = await _enterprise(client, session)
    html = (await client.get("/workspace/offerings/new")).text
    for name in ("title", "maturity", "reference_cases", "certifications"):
        assert f'name="{name}"' in html
    response = await post_form(
        client,
        "/workspace/offerings/new",
        {
            "title": "智慧果园物联网监测系统",
            "description": "墒情虫情一体化",
            "maturity": "mature",
            "reference_cases": "赣南脐橙基地",
        },
    )
    assert response.status_code == 303
    offering = (await session.exec(select(Offering).where(Offering.organisation_id == organisation.id))).one()
    assert offering.maturity == "mature"


async def test_an_enterprise_updates_its_profile_and_a_bad_credit_code_is_explained(client, session):
    organisation = await _enterprise(client, session)
    page = (await client.get("/workspace/organisation")).text
    assert 'name="credit_code"' in page and organisation.credit_code in page

    bad = await post_form(
        client, "/workspace/organisation", {"name": organisation.name, "credit_code": "91360100MA00000000"}
    )
    assert bad.status_code == 422
    assert 'id="credit_code-error">统一社会信用代码' in bad.text

    missing = await post_form(client, "/workspace/organisation", {"name": organisation.name, "credit_code": ""})
    assert 'id="credit_code-error">企业必须填写统一社会信用代码' in missing.text

    good_code = credit_code()
    ok = await post_form(
        client,
        "/workspace/organisation",
        {"name": "新名称科技有限公司", "credit_code": good_code, "website": "https://example.com"},
    )
    assert ok.status_code == 303
    refreshed = await session.get(Organisation, organisation.id)
    await session.refresh(refreshed)
    assert refreshed.name == "新名称科技有限公司" and refreshed.credit_code == good_code
