"""The 结果公示 pages (public list and notice, objections by form, the issuer's written answer) and the
email preferences page, as server-rendered HTML."""

from datetime import date, timedelta

from sqlmodel import select

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from backend.notifications.models import NotificationPreference
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user, login
from tests.web.helpers import post_form, sign_in

REASON = "中选企业并未提供所称的三个同类项目案例，请核实。"


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def _published_notice(make_client, session):
    department = await create_organisation(session, name="宜春市数据局（公示页面测试）")
    issuer_user = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session,
        department,
        title="宜春锂电产业大脑",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=9),
    )
    enterprise = await create_organisation(session, kind="enterprise", name="宜春锂智科技有限公司")
    answerer = await create_user(session, role=Role.enterprise, organisation=enterprise)
    api = await login(make_client(), answerer)
    answer = (
        await api.post(
            f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "锂电大脑方案", "summary": "摘要"}
        )
    ).json()
    await api.post(f"/api/v1/answers/{answer['id']}/submit")
    issuer_api = await login(make_client(), issuer_user)
    criteria = await issuer_api.put(
        f"/api/v1/opportunities/{opportunity.id}/criteria", json={"criteria": [{"name": "方案", "weight": 1}]}
    )
    await issuer_api.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": issuer_user.id})
    await issuer_api.put(
        f"/api/v1/answers/{answer['id']}/review", json={"scores": {str(criteria.json()[0]["id"]): 70}, "comment": "可"}
    )
    for status in ("shortlisted", "selected"):
        await issuer_api.post(f"/api/v1/answers/{answer['id']}/decision", json={"status": status})
    issuer = await _as(make_client, issuer_user)
    judging = f"/opportunities/{opportunity.id}/answers"
    assert "公示中选结果" in (await issuer.get(judging)).text
    too_long = await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/winners/publish",
        {"working_days": "99", "confirm": "yes"},
        token_from=judging,
    )
    assert too_long.status_code == 422 and "公示期应为 1 到 30 个工作日" in too_long.text
    unticked = await post_form(
        issuer, f"/opportunities/{opportunity.id}/winners/publish", {"working_days": "3"}, token_from=judging
    )
    assert unticked.status_code == 422 and "请先勾选确认" in unticked.text and "公示期 3 个工作日" not in unticked.text
    published = await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/winners/publish",
        {"working_days": "3", "confirm": "yes"},
        token_from=judging,
    )
    assert published.status_code == 303, published.text
    page = (await issuer.get(judging)).text
    assert "公示中" in page and "公示期 3 个工作日" in page
    notice_path = page.split('href="/results/')[1].split('"')[0]
    return issuer, f"/results/{notice_path}"


async def test_a_visitor_reads_the_notice_and_a_signed_in_person_objects_by_form(make_client, session):
    issuer, notice = await _published_notice(make_client, session)
    visitor = make_client()
    listing = (await visitor.get("/results")).text
    assert "宜春锂电产业大脑" in listing and "锂电大脑方案（宜春锂智科技有限公司）" in listing
    public = (await visitor.get(notice)).text
    assert "公示中" in public and "提交异议" not in public and "请先" in public

    objector_user = await create_user(session, role=Role.enterprise, display_name="赵六")
    objector = await _as(make_client, objector_user)
    form = (await objector.get(notice)).text
    assert 'value="赵六"' in form  # the real name is proposed from the account
    short = await post_form(
        objector, f"{notice}/objections", {"real_name": "赵六", "reason": "不服"}, token_from=notice
    )
    assert short.status_code == 422 and "至少 10 字" in short.text
    filed = await post_form(
        objector,
        f"{notice}/objections",
        {"real_name": "赵六", "phone": "0795-1234567", "reason": REASON},
        token_from=notice,
    )
    assert filed.status_code == 303
    mine = (await objector.get(notice)).text
    assert "我的异议（1）" in mine and REASON in mine and "待答复" in mine
    assert REASON not in (await visitor.get(notice)).text  # the objection itself is not public
    assert "待答复 1 条" in (await visitor.get(notice)).text

    issuer_page = (await issuer.get(notice)).text
    assert "全部异议（1）" in issuer_page and "0795-1234567" in issuer_page
    objection_id = issuer_page.split("/results/objections/")[1].split("/")[0]
    blank = await post_form(
        issuer,
        f"/results/objections/{objection_id}/response",
        {"verdict": "rejected", "response": "", "confirm": "yes"},
        token_from=notice,
    )
    assert blank.status_code == 422
    unticked = await post_form(
        issuer,
        f"/results/objections/{objection_id}/response",
        {"verdict": "rejected", "response": "已核实三个案例的合同，异议不成立。"},
        token_from=notice,
    )
    assert unticked.status_code == 422 and "答复提交后不能修改" in unticked.text  # final: asks first
    assert "待答复 1 条" in (await visitor.get(notice)).text
    answered = await post_form(
        issuer,
        f"/results/objections/{objection_id}/response",
        {"verdict": "rejected", "response": "已核实三个案例的合同，异议不成立。", "confirm": "yes"},
        token_from=notice,
    )
    assert answered.status_code == 303
    assert (
        "异议不成立" in (await objector.get(notice)).text
        and "已核实三个案例的合同" in (await objector.get(notice)).text
    )


async def test_preferences_page_saves_a_choice_per_kind(make_client, session):
    user = await create_user(session, role=Role.enterprise)
    client = await _as(make_client, user)
    page = (await client.get("/inbox/preferences")).text
    assert "答题中选" in page and "每日汇总邮件" in page and 'name="delivery_answer_selected"' in page
    saved = await post_form(
        client,
        "/inbox/preferences",
        {"delivery_answer_selected": "digest", "delivery_result_final": "off"},
        token_from="/inbox/preferences",
    )
    assert saved.status_code == 303
    rows = (await session.exec(select(NotificationPreference).where(NotificationPreference.user_id == user.id))).all()
    assert {(p.kind, p.delivery) for p in rows} == {("answer_selected", "digest"), ("result_final", "off")}
    again = (await client.get("/inbox/preferences?done=saved")).text
    assert "设置已保存" in again
    assert '<option value="digest" selected>' in again.split('name="delivery_answer_selected"')[1].split("</select>")[0]
