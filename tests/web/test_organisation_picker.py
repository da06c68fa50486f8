"""The organisation picker: part of a name (or the credit code) finds the organisation, on every form that uses it.

Without JavaScript the typed text is posted and resolved on the server; an unknown or ambiguous
text is a form message in Chinese that says what to do (never the schema's "应为整数").
"""

from datetime import date, timedelta

from sqlmodel import select

from backend.answers.models import Answer, AnswerMember
from backend.auth.models import Role, User
from backend.demonstration.models import DemoProject, DemoProjectEnterprise, GrowthEnterprise
from backend.listings.models import ListingStatus
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in

ANSWER = {
    "title": "宜春储能联合体方案",
    "summary": "牵头企业与储能企业联合建设",
    "solution": "分三期建设",
    "price_text": "约 90 万元",
    "price_amount": "90",
    "delivery_plan": "六个月交付",
}


async def _signed_in(client, session, role=Role.matchmaker, organisation=None):
    user = await create_user(session, role=role, organisation=organisation)
    await sign_in(client, user.email, PASSWORD)
    return user


async def test_suggestions_offer_active_organisations_matching_part_of_the_name(client, make_client, session):
    company = await create_organisation(session, kind="enterprise", name="赣州拾光稀土新材料有限公司")
    await create_organisation(session, kind="enterprise", name="赣州拾光旧名称有限公司", status="withdrawn")
    assert (await make_client().get("/workspace/organisations/suggest?q=拾光")).status_code in (303, 401)
    await _signed_in(client, session, Role.enterprise, await create_organisation(session, kind="enterprise"))
    found = (await client.get("/workspace/organisations/suggest", params={"q": "拾光稀土"})).json()
    assert [item["name"] for item in found] == ["赣州拾光稀土新材料有限公司"]
    assert "企业" in found[0]["detail"]
    by_code = (await client.get("/workspace/organisations/suggest", params={"q": company.credit_code[:10]})).json()
    assert "赣州拾光稀土新材料有限公司" in [item["name"] for item in by_code]
    withdrawn = (await client.get("/workspace/organisations/suggest", params={"q": "拾光"})).json()
    assert "赣州拾光旧名称有限公司" not in [item["name"] for item in withdrawn]


async def test_the_enterprise_form_takes_part_of_a_name_and_explains_unknown_and_ambiguous_ones(client, session):
    await _signed_in(client, session)
    company = await create_organisation(session, kind="enterprise", name="吉安鹭洲光电科技有限公司")
    await create_organisation(session, kind="enterprise", name="吉安井冈电子有限公司")
    await create_organisation(session, kind="enterprise", name="吉安井冈云计算有限公司")
    form = (await client.get("/demonstration/enterprises/new")).text
    assert 'data-org-picker="/workspace/organisations/suggest"' in form and 'role="combobox"' in form

    unknown = await post_form(
        client, "/demonstration/enterprises/new", {"organisation": "不存在的公司", "year_recognised": "2026"}
    )
    assert unknown.status_code == 422
    assert 'id="organisation-error">找不到组织「不存在的公司」' in unknown.text
    assert "应为整数" not in unknown.text

    several = await post_form(
        client, "/demonstration/enterprises/new", {"organisation": "吉安井冈", "year_recognised": "2026"}
    )
    assert several.status_code == 422
    assert "「吉安井冈」对应多个组织" in several.text
    assert "吉安井冈电子有限公司" in several.text and "吉安井冈云计算有限公司" in several.text
    assert "应为整数" not in several.text

    saved = await post_form(
        client, "/demonstration/enterprises/new", {"organisation": "鹭洲光电", "year_recognised": "2026"}
    )
    assert saved.status_code == 303, saved.text
    registered = (
        await session.exec(select(GrowthEnterprise).where(GrowthEnterprise.organisation_id == company.id))
    ).one()
    assert registered.year_recognised == 2026


async def test_project_enterprises_are_one_per_line_by_part_of_the_name(client, session):
    await _signed_in(client, session)
    first = await create_organisation(session, kind="enterprise", name="抚州临川数智农业有限公司")
    second = await create_organisation(session, kind="enterprise", name="抚州东乡冷链物流有限公司")
    saved = await post_form(
        client,
        "/demonstration/projects/new",
        {"title": "临川数智农业示范项目", "region_code": "361000", "enterprises": "临川数智\n" + second.credit_code},
    )
    assert saved.status_code == 303, saved.text
    project = (await session.exec(select(DemoProject).where(DemoProject.title == "临川数智农业示范项目"))).one()
    taking_part = await session.exec(
        select(DemoProjectEnterprise.organisation_id)
        .where(DemoProjectEnterprise.project_id == project.id)
        .order_by(DemoProjectEnterprise.position)
    )
    assert taking_part.all() == [first.id, second.id]


async def test_consortium_members_are_found_by_part_of_the_name(client, session):
    lead = await create_organisation(session, kind="enterprise", name="宜春锂电池牵头有限公司")
    member = await create_organisation(session, kind="enterprise", name="宜春袁州储能系统有限公司")
    await _signed_in(client, session, Role.enterprise, lead)
    department = await create_organisation(session, name="宜春市数据局（组织选择）")
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=30)
    )
    path = f"/opportunities/{opportunity.id}/answer"
    unknown = await post_form(client, path, {**ANSWER, "members": "袁州不存在储能"})
    assert unknown.status_code == 422 and 'id="members-error">找不到组织「袁州不存在储能」' in unknown.text
    saved = await post_form(client, path, {**ANSWER, "members": "袁州储能"})
    assert saved.status_code == 303, saved.text
    answer = (await session.exec(select(Answer).where(Answer.opportunity_id == opportunity.id))).one()
    members = (
        await session.exec(select(AnswerMember.organisation_id).where(AnswerMember.answer_id == answer.id))
    ).all()
    assert member.id in members


async def test_the_admin_desk_chooses_a_users_organisation_by_name(client, session):
    await _signed_in(client, session, Role.admin)
    company = await create_organisation(session, kind="enterprise", name="景德镇瓷都窑炉数字科技有限公司")
    page = (await client.get("/admin/users")).text
    assert "所属组织编号" not in page and 'name="organisation"' in page
    unknown = await post_form(
        client,
        "/admin/users",
        {
            "email": "kiln.a@example.cn",
            "display_name": "李工",
            "role": "enterprise",
            "organisation": "不存在的窑炉公司",
            "password": "窑火千年不熄-2026-春",
        },
    )
    assert unknown.status_code == 422
    assert 'id="organisation-error">找不到组织「不存在的窑炉公司」' in unknown.text and "应为整数" not in unknown.text
    created = await post_form(
        client,
        "/admin/users",
        {
            "email": "kiln.b@example.cn",
            "display_name": "李工",
            "role": "enterprise",
            "organisation": "瓷都窑炉",
            "password": "窑火千年不熄-2026-春",
        },
    )
    assert created.status_code == 303, created.text
    user = (await session.exec(select(User).where(User.email == "kiln.b@example.cn"))).one()
    assert user.organisation_id == company.id
    detail = (await client.get(created.headers["location"])).text
    assert 'value="景德镇瓷都窑炉数字科技有限公司"' in detail  # the edit form shows the name, not a number
