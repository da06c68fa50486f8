"""The account pages: login links, 企业入驻申请 and its confirmation, the matchmakers' queue,
forgotten and changed passwords, the one-time sign-in link, invitations, and the admin desk."""

import re

import pytest
from sqlmodel import col, select

from backend.audit.models import AuditEntry
from backend.auth import throttle
from backend.auth.models import Role, User
from backend.notifications.models import EmailMessage
from backend.organisations.models import Organisation
from tests.factories import PASSWORD, create_organisation, create_user, credit_code
from tests.web.helpers import post_form, sign_in

NEW_PASSWORD = "鄱阳湖的候鸟年年回来-9"


@pytest.fixture(autouse=True)
def _long_first_delay(monkeypatch):
    """A first throttle delay far longer than any test, so a slow machine cannot outwait it."""
    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 600)


async def mailed_link(session, to: str, path: str) -> str:
    rows = await session.exec(
        select(EmailMessage).where(EmailMessage.to_address == to).order_by(col(EmailMessage.id).desc())
    )
    for message in rows.all():
        found = re.search(rf"({re.escape(path)}[A-Za-z0-9_-]+)", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {path} link mailed to {to}")


async def test_the_login_page_links_to_registration_and_forgotten_password(client):
    html = (await client.get("/login")).text
    assert 'href="/register"' in html and 'href="/password/forgot"' in html
    assert "请使用平台分配的账号登录" not in html


async def test_an_enterprise_registers_on_the_page_confirms_and_a_matchmaker_approves(client, make_client, session):
    form = {
        "organisation_name": "抚州数智农业科技有限公司",
        "credit_code": credit_code(),
        "region_code": "361000",
        "contact_name": "黄经理",
        "phone": "0794-7654321",
        "email": "huang@fuzhou-agri.example.cn",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
    }
    bad = await post_form(client, "/register", {**form, "credit_code": form["credit_code"][:17] + "Z"})
    assert bad.status_code == 422 and "不允许的字符" in bad.text and 'value="抚州数智农业科技有限公司"' in bad.text
    done = await post_form(client, "/register", form)
    assert done.status_code == 200 and "请确认邮箱" in done.text

    link = await mailed_link(session, form["email"], "/register/confirm/")
    assert (await client.get(link)).status_code == 200
    confirmed = await post_form(client, link, {})
    assert confirmed.status_code == 200 and "邮箱已确认" in confirmed.text

    desk = make_client()
    await sign_in(desk, (await create_user(session, role=Role.matchmaker)).email, PASSWORD)
    queue = await desk.get("/registrations")
    assert queue.status_code == 200 and "抚州数智农业科技有限公司" in queue.text
    detail_path = re.search(r'href="(/registrations/\d+)"', queue.text).group(1)
    refused = await post_form(
        desk, f"{detail_path}/decision", {"decision": "refuse", "reason": ""}, token_from=detail_path
    )
    assert refused.status_code == 422 and "请填写原因" in refused.text
    approved = await post_form(desk, f"{detail_path}/decision", {"decision": "approve"}, token_from=detail_path)
    assert approved.status_code == 303
    assert "已通过" in (await desk.get(approved.headers["location"])).text

    applicant = make_client()
    assert (await sign_in(applicant, form["email"], NEW_PASSWORD)).status_code == 303
    page = await applicant.get("/workspace/organisation")
    assert "抚州数智农业科技有限公司" in page.text and 'id="signed-in-user"' in page.text


async def test_the_queue_is_not_for_enterprises(make_client, session):
    enterprise = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    browser = make_client()
    await sign_in(browser, enterprise.email, PASSWORD)
    assert (await browser.get("/registrations")).status_code == 403
    assert (await browser.get("/admin/organisations")).status_code == 403
    assert (await browser.get("/admin/users")).status_code == 403


async def test_forgot_password_on_the_pages_ends_the_other_session(client, make_client, session):
    user = await create_user(session, role=Role.matchmaker)
    other = make_client()
    await sign_in(other, user.email, PASSWORD)
    answer = await post_form(client, "/password/forgot", {"email": user.email})
    unknown = await post_form(make_client(), "/password/forgot", {"email": "nobody@example.org"})
    assert answer.status_code == unknown.status_code == 200
    assert re.search(r'id="account-message">([^<]+)<', answer.text).group(1) == re.search(
        r'id="account-message">([^<]+)<', unknown.text
    ).group(1)
    link = await mailed_link(session, user.email, "/password/reset/")
    mismatch = await post_form(client, link, {"new_password": NEW_PASSWORD, "new_password_again": "different"})
    assert mismatch.status_code == 422
    done = await post_form(client, link, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    assert (await other.get("/workspace/organisation")).status_code in (303, 307)  # signed out
    again = await client.get(link)
    assert again.status_code == 400 and "已经使用过" in again.text
    assert (await sign_in(make_client(), user.email, NEW_PASSWORD)).status_code == 303


async def test_changing_the_password_on_the_page_keeps_this_session_only(make_client, session):
    user = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    here, there = make_client(), make_client()
    await sign_in(here, user.email, PASSWORD)
    await sign_in(there, user.email, PASSWORD)
    wrong = await post_form(
        here,
        "/account/password",
        {"current_password": "wrong-wrong", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    common = await post_form(
        here,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "iloveyou1314", "new_password_again": "iloveyou1314"},
    )
    assert common.status_code == 422 and "过于常见" in common.text
    done = await post_form(
        here,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert "其他设备上的登录已退出" in (await here.get(done.headers["location"])).text
    assert (await there.get("/account/password")).status_code == 303


async def test_a_slowed_owner_signs_in_with_the_emailed_link(client, make_client, session):
    user = await create_user(session, role=Role.admin)
    for _ in range(6):
        await sign_in(client, user.email, "guess-guess-guess")
    owner = make_client()
    slowed = await sign_in(owner, user.email, PASSWORD)
    assert slowed.status_code == 429 and "/login/link?email=" in slowed.text
    asked = await post_form(owner, "/login/link", {"email": user.email})
    assert asked.status_code == 200
    link = await mailed_link(session, user.email, "/login/link/")
    signed_in = await post_form(owner, link, {})
    assert signed_in.status_code == 303
    assert (
        user.display_name
        in (await owner.get("/workspace/organisation" if user.organisation_id else "/admin/users")).text
    )
    assert (await post_form(make_client(), link, {})).status_code == 400


async def test_the_admin_desk_finds_edits_merges_and_deactivates_with_an_audit_trail(make_client, session):
    admin_user = await create_user(session, role=Role.admin)
    desk = make_client()
    await sign_in(desk, admin_user.email, PASSWORD)
    keep = await create_organisation(session, name="江西省人民政府试点事务管理委员会")
    duplicate = await create_organisation(session, name="江西省试点事务管理委员会")
    staff = await create_user(session, role=Role.issuer, organisation=duplicate, display_name="国资委小李")
    found = await desk.get("/admin/organisations?q=试点事务")
    assert "江西省试点事务管理委员会" in found.text and "江西省人民政府试点事务管理委员会" in found.text
    detail = await desk.get(f"/admin/organisations/{duplicate.id}")
    assert f"{keep.id} · 江西省人民政府试点事务管理委员会" in detail.text  # offered as the likely original
    merged = await post_form(
        desk,
        f"/admin/organisations/{duplicate.id}/merge",
        {"keep_id": str(keep.id)},
        token_from=f"/admin/organisations/{duplicate.id}",
    )
    assert merged.status_code == 303
    await session.refresh(staff)
    assert staff.organisation_id == keep.id
    assert (await session.get(Organisation, duplicate.id, populate_existing=True)).status == "withdrawn"

    users = await desk.get("/admin/users?q=小李")
    assert "国资委小李" in users.text and "从未登录" in users.text
    deactivated = await post_form(
        desk, f"/admin/users/{staff.id}", {"action": "deactivate"}, token_from=f"/admin/users/{staff.id}"
    )
    assert deactivated.status_code == 303
    await session.refresh(staff)
    assert staff.is_active is False
    sent = await post_form(desk, f"/admin/users/{staff.id}/reset-link", {}, token_from=f"/admin/users/{staff.id}")
    assert sent.status_code == 303
    page = (await desk.get(f"/admin/users/{staff.id}")).text
    assert "停用" in page and "发送重置密码链接" in page
    actions = (
        await session.exec(select(AuditEntry.action).where(AuditEntry.entity_kind.in_(["organisation", "user"])))  # type: ignore[attr-defined]
    ).all()
    assert {"merged", "merged-in", "deactivated", "reset-link-sent"} <= set(actions)

    created = await post_form(
        desk,
        "/admin/users",
        {
            "email": "new.issuer@example.cn",
            "display_name": "新同事",
            "role": "issuer",
            "organisation": keep.name,
            "password": NEW_PASSWORD,
        },
    )
    assert created.status_code == 303
    assert (
        await session.exec(select(User).where(User.email == "new.issuer@example.cn"))
    ).one().organisation_id == keep.id


async def test_an_invitation_page_creates_the_staff_account_once(client, make_client, session):
    department = await create_organisation(session, name="上饶市数据局（邀请页面）")
    desk = make_client()
    await sign_in(desk, (await create_user(session, role=Role.matchmaker)).email, PASSWORD)
    invited = await desk.post(
        "/api/v1/invitations/staff",
        json={"email": "wu@shangrao.example.cn", "display_name": "吴科员", "organisation_id": department.id},
    )
    assert invited.status_code == 201
    link = await mailed_link(session, "wu@shangrao.example.cn", "/invitations/")
    page = await client.get(link)
    assert page.status_code == 200 and "上饶市数据局（邀请页面）" in page.text
    made = await post_form(
        client, link, {"display_name": "吴科员", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert made.status_code == 200 and "账号已创建" in made.text
    assert (await client.get(link)).status_code == 400
    assert (await sign_in(make_client(), "wu@shangrao.example.cn", NEW_PASSWORD)).status_code == 303


async def test_the_admin_invites_department_staff_from_the_desk(make_client, session):
    department = await create_organisation(session, name="吉安市数据局（管理台邀请）")
    desk = make_client()
    await sign_in(desk, (await create_user(session, role=Role.admin)).email, PASSWORD)
    path = f"/admin/organisations/{department.id}"
    missing = await post_form(desk, f"{path}/invite", {"email": "", "display_name": ""}, token_from=path)
    assert missing.status_code == 422 and "请填写邮箱" in missing.text
    sent = await post_form(
        desk, f"{path}/invite", {"email": "li@jian.example.cn", "display_name": "李科长"}, token_from=path
    )
    assert sent.status_code == 303
    assert await mailed_link(session, "li@jian.example.cn", "/invitations/")


async def test_the_lead_enterprise_invites_a_consortium_member_from_the_answer_page(make_client, session):
    from datetime import date, timedelta

    from backend.listings.models import ListingStatus
    from tests.factories import create_opportunity

    department = await create_organisation(session, name="景德镇市工信局（邀请成员）")
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=10)
    )
    lead_org = await create_organisation(session, kind="enterprise", name="瓷都智能装备有限公司")
    lead = make_client()
    await sign_in(lead, (await create_user(session, role=Role.enterprise, organisation=lead_org)).email, PASSWORD)
    made = await lead.post(
        f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "窑炉联合方案", "summary": "联合"}
    )
    answer_path = f"/answers/{made.json()['id']}"
    page = await lead.get(answer_path)
    assert 'id="invite-member"' in page.text
    bad = await post_form(
        lead,
        f"{answer_path}/invite-member",
        {"organisation_name": "某公司", "credit_code": "123", "email": "a@b.cn"},
        token_from=answer_path,
    )
    assert bad.status_code == 422 and "统一社会信用代码" in bad.text
    sent = await post_form(
        lead,
        f"{answer_path}/invite-member",
        {"organisation_name": "浮梁传感有限公司", "credit_code": credit_code(), "email": "fu@fuliang.example.cn"},
        token_from=answer_path,
    )
    assert sent.status_code == 303 and "done=invited" in sent.headers["location"]
    assert await mailed_link(session, "fu@fuliang.example.cn", "/invitations/")


async def test_an_enterprise_awaiting_approval_is_told_before_it_types_an_answer(make_client, session):
    """The server refuses even a draft answer until approval; the pages say so before anything is typed."""
    from datetime import date, timedelta

    from backend.listings.models import ListingStatus
    from backend.organisations.models import OrganisationStatus
    from tests.factories import create_opportunity

    opportunity = await create_opportunity(
        session,
        await create_organisation(session),
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=30),
    )
    waiting = await create_organisation(session, kind="enterprise", status=OrganisationStatus.pending)
    newcomer = make_client()
    await sign_in(newcomer, (await create_user(session, role=Role.enterprise, organisation=waiting)).email, PASSWORD)

    detail = (await newcomer.get(f"/opportunities/{opportunity.id}")).text
    assert "审核通过后才能答题" in detail and f'href="/opportunities/{opportunity.id}/answer"' not in detail
    form = (await newcomer.get(f"/opportunities/{opportunity.id}/answer")).text
    assert "暂不能答题" in form and "answer-form" not in form  # no form to fill in vain

    approved = await create_organisation(session, kind="enterprise")
    member = make_client()
    await sign_in(member, (await create_user(session, role=Role.enterprise, organisation=approved)).email, PASSWORD)
    assert (
        f'href="/opportunities/{opportunity.id}/answer"' in (await member.get(f"/opportunities/{opportunity.id}")).text
    )
    form = (await member.get(f"/opportunities/{opportunity.id}/answer")).text
    assert "answer-form" in form and "暂不能答题" not in form


async def test_a_short_initial_password_on_the_admin_desk_is_explained(make_client, session):
    desk = make_client()
    await sign_in(desk, (await create_user(session, role=Role.admin)).email, PASSWORD)
    organisation = await create_organisation(session, kind="enterprise")
    refused = await post_form(
        desk,
        "/admin/users",
        {
            "email": "kiln@yaozhi.example.cn",
            "display_name": "李工",
            "role": "enterprise",
            "organisation": organisation.name,
            "password": "窑火千年不熄-2026",  # 11 characters
        },
        token_from="/admin/users",
    )
    assert refused.status_code == 422
    assert "密码至少需要 12 个字符" in refused.text and "内容太短" not in refused.text
