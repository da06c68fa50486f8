"""Accounts for real people, through the API: registration and its approval, every refusal,
password reset and change, throttling that never locks the owner out, invitations, joins."""

import re
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from backend.accounts.models import Invitation, Registration
from backend.answers.models import AnswerMember
from backend.auth import throttle
from backend.auth.models import AccountToken, AuthSession, Role, User
from backend.kit.db import utcnow
from backend.listings.models import ListingStatus
from backend.notifications.models import EmailMessage, Notification
from backend.organisations.models import Organisation, OrganisationStatus
from tests.factories import (
    PASSWORD,
    create_opportunity,
    create_organisation,
    create_user,
    credit_code,
    login,
)

NEW_PASSWORD = "赣江边的一棵老樟树-2026"


@pytest.fixture(autouse=True)
def _long_first_delay(monkeypatch):
    """A first throttle delay far longer than any test, so a slow machine cannot outwait it."""
    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 600)


def application(**overrides):
    data = {
        "organisation_name": "赣州稀土智造科技有限公司",
        "credit_code": credit_code(),
        "region_code": "360700",
        "contact_name": "刘工",
        "phone": "0797-1234567",
        "email": "liu@ganzhou-rare.example.cn",
        "password": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


async def last_link(session, to: str, path: str) -> str:
    """The token of the newest link to `path` mailed to `to`, read from the email outbox."""
    rows = await session.exec(
        select(EmailMessage).where(EmailMessage.to_address == to).order_by(col(EmailMessage.id).desc())
    )
    for message in rows.all():
        found = re.search(rf"{re.escape(path)}([A-Za-z0-9_-]+)", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {path} link mailed to {to}")


async def registered(client, session, **overrides):
    data = application(**overrides)
    response = await client.post("/api/v1/registrations", json=data)
    assert response.status_code == 201, response.text
    return response.json(), data


async def test_an_enterprise_registers_confirms_is_approved_and_is_told(client, make_client, session):
    body, data = await registered(client, session)
    assert body["status"] == "unconfirmed"
    matchmaker = await create_user(session, role=Role.matchmaker)
    desk = await login(make_client(), matchmaker)
    assert (await desk.get("/api/v1/registrations")).json()["total"] == 0  # not before the email is confirmed

    token = await last_link(session, data["email"], "/register/confirm/")
    confirmed = await make_client().post("/api/v1/registrations/confirm", json={"token": token})
    assert confirmed.status_code == 200
    queue = (await desk.get("/api/v1/registrations")).json()
    assert [r["organisation_name"] for r in queue["items"]] == ["赣州稀土智造科技有限公司"]
    assert (await session.exec(select(Notification).where(Notification.user_id == matchmaker.id))).first()

    decided = await desk.post(f"/api/v1/registrations/{body['id']}/decision", json={"approve": True})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    organisation = await session.get(Organisation, body["organisation_id"])
    assert organisation.status == OrganisationStatus.active
    note = (await session.exec(select(Notification).where(Notification.user_id == body["user_id"]))).one()
    assert "已通过" in note.title
    mails = (await session.exec(select(EmailMessage).where(EmailMessage.to_address == data["email"]))).all()
    assert any("已通过" in m.subject for m in mails)
    assert (await desk.post(f"/api/v1/registrations/{body['id']}/decision", json={"approve": True})).status_code == 409


async def test_a_refusal_needs_a_reason_and_the_applicant_reads_it(client, make_client, session):
    body, data = await registered(client, session)
    await client.post(
        "/api/v1/registrations/confirm", json={"token": await last_link(session, data["email"], "/register/confirm/")}
    )
    desk = await login(make_client(), await create_user(session, role=Role.matchmaker))
    no_reason = await desk.post(f"/api/v1/registrations/{body['id']}/decision", json={"approve": False})
    assert no_reason.status_code == 422 and "原因" in no_reason.json()["detail"]
    refused = await desk.post(
        f"/api/v1/registrations/{body['id']}/decision", json={"approve": False, "reason": "营业执照信息与名称不符"}
    )
    assert refused.status_code == 200
    note = (await session.exec(select(Notification).where(Notification.user_id == body["user_id"]))).one()
    assert "未通过" in note.title and "营业执照信息与名称不符" in note.body


async def test_a_bad_credit_code_is_refused_in_chinese(client):
    code = credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = await client.post("/api/v1/registrations", json=application(credit_code=wrong))
    assert response.status_code == 422
    assert "校验位不正确" in response.json()["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_credit_code_or_name_already_on_the_platform_is_refused(client, session):
    existing = await create_organisation(session, kind="enterprise", name="南昌已入驻科技有限公司")
    response = await client.post("/api/v1/registrations", json=application(credit_code=existing.credit_code))
    assert response.status_code == 409
    assert "南昌已入驻科技有限公司" in response.json()["detail"] and response.json()["field"] == "credit_code"
    same_name = await client.post("/api/v1/registrations", json=application(organisation_name="南昌已入驻科技有限公司"))
    assert same_name.status_code == 409 and same_name.json()["field"] == "organisation_name"
    user = await create_user(session, role=Role.matchmaker)
    taken = await client.post("/api/v1/registrations", json=application(email=user.email))
    assert taken.status_code == 409 and taken.json()["field"] == "email"


async def test_a_common_or_short_password_is_refused(client):
    for password in ("password1234", "short-1", "123456789012"):
        response = await client.post("/api/v1/registrations", json=application(password=password))
        assert response.status_code == 422, password
        assert response.json()["field"] == "password"


async def test_a_near_duplicate_is_flagged_to_the_matchmaker(client, make_client, session):
    close = await create_organisation(session, kind="enterprise", name="江西省赣州稀土智造科技有限公司")
    body, data = await registered(client, session)
    await client.post(
        "/api/v1/registrations/confirm", json={"token": await last_link(session, data["email"], "/register/confirm/")}
    )
    desk = await login(make_client(), await create_user(session, role=Role.matchmaker))
    detail = (await desk.get(f"/api/v1/registrations/{body['id']}")).json()
    assert close.id in detail["similar"]
    assert [o["name"] for o in detail["similar_organisations"]] == ["江西省赣州稀土智造科技有限公司"]


async def test_a_confirmation_link_works_once_and_expires(client, session):
    _body, data = await registered(client, session)
    token = await last_link(session, data["email"], "/register/confirm/")
    assert (await client.post("/api/v1/registrations/confirm", json={"token": token})).status_code == 200
    again = await client.post("/api/v1/registrations/confirm", json={"token": token})
    assert again.status_code == 400 and "已经使用过" in again.json()["detail"]

    _, other = await registered(
        client, session, email="second@example.cn", credit_code=credit_code(), organisation_name="第二家科技有限公司"
    )
    late = await last_link(session, other["email"], "/register/confirm/")
    for row in (await session.exec(select(AccountToken))).all():
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
    await session.flush()
    expired = await client.post("/api/v1/registrations/confirm", json={"token": late})
    assert expired.status_code == 400 and "已过期" in expired.json()["detail"]
    assert (await client.post("/api/v1/registrations/confirm", json={"token": "x" * 43})).status_code == 400


async def test_an_unapproved_enterprise_keeps_drafts_but_cannot_submit_or_answer(client, session):
    department = await create_organisation(session, name="赣州市工信局（入驻测试）")
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=20)
    )
    _, data = await registered(client, session)
    signed_in = await client.post("/api/v1/auth/login", json={"email": data["email"], "password": data["password"]})
    assert signed_in.status_code == 200
    draft = await client.post(
        "/api/v1/offerings", json={"title": "稀土永磁电机能效监测", "description": "电机能效在线监测与诊断"}
    )
    assert draft.status_code == 201, draft.text
    submit = await client.post(f"/api/v1/offerings/{draft.json()['id']}/submit")
    assert submit.status_code == 403 and "尚未通过审核" in submit.json()["detail"]
    answer = await client.post(
        f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "方案", "summary": "摘要"}
    )
    assert answer.status_code == 403 and "尚未通过审核" in answer.json()["detail"]
    me = (await client.get("/api/v1/users/me")).json()
    profile = await client.patch(
        f"/api/v1/organisations/{me['organisation_id']}", json={"description": "专注稀土永磁电机"}
    )
    assert profile.status_code == 200


async def test_only_matchmakers_see_the_queue_and_decide(client, make_client, session):
    body, data = await registered(client, session)
    await client.post(
        "/api/v1/registrations/confirm", json={"token": await last_link(session, data["email"], "/register/confirm/")}
    )
    enterprise = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    other = await login(make_client(), enterprise)
    assert (await other.get("/api/v1/registrations")).status_code == 403
    assert (await other.post(f"/api/v1/registrations/{body['id']}/decision", json={"approve": True})).status_code == 404
    assert (await make_client().get("/api/v1/registrations")).status_code == 401


async def test_forgot_password_reveals_nothing_and_the_link_ends_every_session(client, make_client, session):
    user = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    laptop, phone = await login(make_client(), user), await login(make_client(), user)
    known = await client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    unknown = await client.post("/api/v1/auth/password/forgot", json={"email": "nobody-here@example.com"})
    assert known.status_code == unknown.status_code == 200 and known.json() == unknown.json()
    assert (
        await session.exec(select(EmailMessage).where(EmailMessage.to_address == "nobody-here@example.com"))
    ).first() is None

    token = await last_link(session, user.email, "/password/reset/")
    weak = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": "qwerty123456"})
    assert weak.status_code == 422
    done = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200
    assert (await laptop.get("/api/v1/users/me")).status_code == 401
    assert (await phone.get("/api/v1/users/me")).status_code == 401
    reused = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD + "x"})
    assert reused.status_code == 400 and "已经使用过" in reused.json()["detail"]
    assert (
        await make_client().post("/api/v1/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    ).status_code == 200


async def test_an_expired_reset_link_is_refused(client, session):
    user = await create_user(session, role=Role.matchmaker)
    await client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    token = await last_link(session, user.email, "/password/reset/")
    row = (await session.exec(select(AccountToken).where(AccountToken.user_id == user.id))).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    await session.flush()
    response = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400 and "已过期" in response.json()["detail"]


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(make_client, session):
    user = await create_user(session, role=Role.matchmaker)
    here, elsewhere = await login(make_client(), user), await login(make_client(), user)
    wrong = await here.post(
        "/api/v1/auth/password/change", json={"current_password": "not-it-at-all", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    changed = await here.post(
        "/api/v1/auth/password/change", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200
    assert (await here.get("/api/v1/users/me")).status_code == 200
    assert (await elsewhere.get("/api/v1/users/me")).status_code == 401
    sessions = (await session.exec(select(AuthSession).where(AuthSession.user_id == user.id))).all()
    assert len(sessions) == 1


async def test_the_right_password_still_works_for_its_owner_while_an_attacker_keeps_failing(make_client, session):
    admin = await create_user(session, role=Role.admin)
    owner = await login(make_client(), admin)  # the owner's browser has signed in before
    await owner.post("/api/v1/auth/logout")
    attacker = make_client()
    statuses = set()
    for _ in range(30):
        response = await attacker.post("/api/v1/auth/login", json={"email": admin.email, "password": "guess-guess"})
        statuses.add(response.status_code)
    assert statuses == {401, 429}  # slowed down, never let through
    assert (
        await attacker.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    ).status_code == 429
    again = await owner.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert again.status_code == 200, again.text

    # On a browser it never used, the owner gets in through the one-time link sent by email.
    new_laptop = make_client()
    assert (
        await new_laptop.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    ).status_code == 429
    assert (await new_laptop.post("/api/v1/auth/sign-in-link", json={"email": admin.email})).status_code == 200
    token = await last_link(session, admin.email, "/login/link/")
    used = await new_laptop.post("/api/v1/auth/sign-in-link/use", json={"token": token})
    assert used.status_code == 200 and (await new_laptop.get("/api/v1/users/me")).json()["id"] == admin.id
    assert (await make_client().post("/api/v1/auth/sign-in-link/use", json={"token": token})).status_code == 400


async def test_forwarded_addresses_are_believed_only_from_configured_proxies(app, make_client, session):
    user = await create_user(session, role=Role.matchmaker)
    # Not configured: X-Forwarded-For changes nothing, the peer's address is counted.
    for n in range(20):
        await make_client().post(
            "/api/v1/auth/login",
            json={"email": f"nobody{n}@example.com", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
    fresh = await make_client().post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert fresh.status_code == 429
    # Behind a configured proxy the client's own address is counted, so another client gets in.
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    app.state.settings.__dict__.pop("trusted_proxy_networks", None)
    behind = await make_client().post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert behind.status_code == 200, behind.text


async def test_registration_and_reset_requests_are_throttled(client, session):
    for _ in range(5):
        assert (
            await client.post("/api/v1/auth/password/forgot", json={"email": "busy@example.com"})
        ).status_code == 200
    slowed = await client.post("/api/v1/auth/password/forgot", json={"email": "busy@example.com"})
    assert slowed.status_code == 429 and "请求过于频繁" in slowed.json()["detail"]
    existing = await create_organisation(session, kind="enterprise")
    for n in range(10):  # probing which credit codes are on the platform is counted too
        response = await client.post(
            "/api/v1/registrations", json=application(email=f"r{n}@example.cn", credit_code=existing.credit_code)
        )
        assert response.status_code == 409
    assert (await client.post("/api/v1/registrations", json=application())).status_code == 429


async def test_staff_invite_department_staff_once(client, make_client, session):
    department = await create_organisation(session, name="萍乡市大数据中心")
    desk = await login(make_client(), await create_user(session, role=Role.matchmaker))
    invited = await desk.post(
        "/api/v1/invitations/staff",
        json={"email": "staff@pingxiang.example.cn", "display_name": "周科长", "organisation_id": department.id},
    )
    assert invited.status_code == 201
    token = await last_link(session, "staff@pingxiang.example.cn", "/invitations/")
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": token, "display_name": "周科长", "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 201 and accepted.json()["role"] == "issuer"
    assert accepted.json()["organisation_id"] == department.id
    reused = await client.post(
        "/api/v1/invitations/accept", json={"token": token, "display_name": "别人", "password": NEW_PASSWORD}
    )
    assert reused.status_code == 400 and "已经使用过" in reused.json()["detail"]
    enterprise = await login(
        make_client(),
        await create_user(
            session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
        ),
    )
    refused = await enterprise.post(
        "/api/v1/invitations/staff",
        json={"email": "x@example.cn", "display_name": "x", "organisation_id": department.id},
    )
    assert refused.status_code == 403


async def test_an_expired_invitation_is_refused(client, make_client, session):
    department = await create_organisation(session, name="新余市数据局（邀请测试）")
    desk = await login(make_client(), await create_user(session, role=Role.admin))
    await desk.post(
        "/api/v1/invitations/staff",
        json={"email": "late@xinyu.example.cn", "display_name": "晚到", "organisation_id": department.id},
    )
    token = await last_link(session, "late@xinyu.example.cn", "/invitations/")
    invitation = (await session.exec(select(Invitation).where(Invitation.email == "late@xinyu.example.cn"))).one()
    invitation.expires_at = utcnow() - timedelta(hours=1)
    session.add(invitation)
    await session.flush()
    response = await client.post(
        "/api/v1/invitations/accept", json={"token": token, "display_name": "晚到", "password": NEW_PASSWORD}
    )
    assert response.status_code == 400 and "已过期" in response.json()["detail"]


async def test_an_invited_consortium_member_registers_is_approved_and_confirms(client, make_client, session):
    department = await create_organisation(session, name="九江市水务局（联合体测试）")
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=20)
    )
    lead_org = await create_organisation(session, kind="enterprise", name="九江智水科技有限公司")
    lead = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=lead_org))
    answer = await lead.post(
        f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "九江智慧水务联合方案", "summary": "联合体"}
    )
    assert answer.status_code == 201, answer.text
    answer_id = answer.json()["id"]
    member_code = credit_code()
    invited = await lead.post(
        f"/api/v1/answers/{answer_id}/invitations",
        json={"organisation_name": "庐山传感器有限公司", "credit_code": member_code, "email": "boss@lushan.example.cn"},
    )
    assert invited.status_code == 201, invited.text
    bad = await lead.post(
        f"/api/v1/answers/{answer_id}/invitations",
        json={"organisation_name": "坏代码公司", "credit_code": member_code[:17] + "?", "email": "bad@example.cn"},
    )
    assert bad.status_code == 422

    token = await last_link(session, "boss@lushan.example.cn", "/invitations/")
    accepted = await client.post(
        "/api/v1/invitations/accept",
        json={"token": token, "display_name": "庐山王总", "password": NEW_PASSWORD, "region_code": "360400"},
    )
    assert accepted.status_code == 201, accepted.text
    member_org = accepted.json()["organisation_id"]
    registration = (await session.exec(select(Registration).where(Registration.organisation_id == member_org))).one()
    assert registration.status == "pending" and registration.invitation_id is not None
    assert (await session.get(AnswerMember, (answer_id, member_org))).status == "pending"

    member = make_client()
    await member.post("/api/v1/auth/login", json={"email": "boss@lushan.example.cn", "password": NEW_PASSWORD})
    early = await member.post(f"/api/v1/answers/{answer_id}/membership", json={"accept": True})
    assert early.status_code == 403
    desk = await login(make_client(), await create_user(session, role=Role.matchmaker))
    assert (
        await desk.post(f"/api/v1/registrations/{registration.id}/decision", json={"approve": True})
    ).status_code == 200
    confirmed = await member.post(f"/api/v1/answers/{answer_id}/membership", json={"accept": True})
    assert confirmed.status_code == 200, confirmed.text
    assert (await session.get(AnswerMember, (answer_id, member_org))).status == "confirmed"


async def test_a_second_person_joins_an_approved_enterprise_when_its_admin_agrees(client, make_client, session):
    organisation = await create_organisation(session, kind="enterprise", name="宜春锂电材料有限公司")
    admin = await create_user(session, role=Role.enterprise, organisation=organisation, is_organisation_admin=True)
    joined = await client.post(
        "/api/v1/registrations/join",
        json={
            "credit_code": organisation.credit_code,
            "contact_name": "小张",
            "email": "zhang@yichun.example.cn",
            "password": NEW_PASSWORD,
        },
    )
    assert joined.status_code == 201, joined.text
    await client.post(
        "/api/v1/registrations/confirm",
        json={"token": await last_link(session, "zhang@yichun.example.cn", "/register/confirm/")},
    )
    newcomer = (await session.exec(select(User).where(User.email == "zhang@yichun.example.cn"))).one()
    assert newcomer.organisation_id is None
    boss = await login(make_client(), admin)
    queue = (await boss.get("/api/v1/registrations")).json()
    assert [r["contact_name"] for r in queue["items"]] == ["小张"]
    assert (
        await boss.post(f"/api/v1/registrations/{joined.json()['id']}/decision", json={"approve": True})
    ).status_code == 200
    await session.refresh(newcomer)
    assert newcomer.organisation_id == organisation.id
    unknown = await client.post(
        "/api/v1/registrations/join",
        json={"credit_code": credit_code(), "contact_name": "无", "email": "none@example.cn", "password": NEW_PASSWORD},
    )
    assert unknown.status_code == 404


async def test_a_cross_origin_form_post_to_the_api_is_refused(make_client, session):
    user = await create_user(session, role=Role.matchmaker)
    browser = await login(make_client(), user)
    forged = await browser.post("/api/v1/notifications/read-all", data={"x": "1"})
    assert forged.status_code == 403 and "跨站请求被拒绝" in forged.json()["detail"]
    elsewhere = await browser.post(
        "/api/v1/notifications/read-all", json={}, headers={"Origin": "https://evil.example.gov.cn"}
    )
    assert elsewhere.status_code == 403
    sibling = await browser.post("/api/v1/notifications/read-all", json={}, headers={"Sec-Fetch-Site": "same-site"})
    assert sibling.status_code == 403
    assert (await browser.post("/api/v1/notifications/read-all", json={})).status_code == 200
    assert (await browser.post("/api/v1/notifications/read-all")).status_code == 200  # no body: a program, not a form
    assert (
        await browser.post("/api/v1/notifications/read-all", data={"x": "1"}, headers={"X-Requested-With": "fetch"})
    ).status_code == 200


async def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(make_client, session):
    attacker_account = await create_user(session, role=Role.matchmaker)
    victim = await create_user(session, role=Role.matchmaker)
    attacker = make_client()
    for n in range(20):
        await attacker.post("/api/v1/auth/login", json={"email": f"guess{n}@example.com", "password": "wrong-password"})
    fresh = make_client()  # a browser without a device cookie, from the same address
    assert (
        await fresh.post("/api/v1/auth/login", json={"email": attacker_account.email, "password": PASSWORD})
    ).status_code == 429
    assert (
        await make_client().post("/api/v1/auth/login", json={"email": victim.email, "password": "still-guessing"})
    ).status_code == 429
