from datetime import date, timedelta

from sqlalchemy import event
from sqlmodel import col, select

from backend.audit.models import AuditEntry
from backend.auth.models import Role
from backend.interests import service as interests_service
from backend.interests.models import Interest, InterestStatus
from backend.kit.db import utcnow
from backend.listings.models import ListingStatus
from backend.notifications.models import EmailMessage, Notification
from tests.factories import create_opportunity, create_organisation, create_user, login

PROBLEM = "application/problem+json"
CONTACT = "李工 0791-00000000"


async def _issuer(session):
    organisation = await create_organisation(session)
    return organisation, await create_user(session, role=Role.issuer, organisation=organisation)


async def _enterprise(session):
    organisation = await create_organisation(session, kind="enterprise")
    return organisation, await create_user(session, role=Role.enterprise, organisation=organisation)


async def _published(session, organisation, **overrides):
    return await create_opportunity(session, organisation, status=ListingStatus.published, **overrides)


async def _interest_count(session, opportunity_id):
    return len((await session.exec(select(Interest.id).where(Interest.opportunity_id == opportunity_id))).all())


async def test_approved_introduction_releases_the_contact_to_that_enterprise_only(client, make_client, session):
    issuer_org, issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    _, bystander = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    enterprise = await login(client, enterprise_user)

    expressed = await enterprise.post(
        "/api/v1/interests", json={"opportunity_id": opportunity.id, "message": "我们有成熟的信号配时优化方案"}
    )
    assert expressed.status_code == 201, expressed.text
    interest = expressed.json()
    assert interest["status"] == "pending" and interest["status_label"] == "待审批"
    assert interest["contact"] is None
    assert (await enterprise.get(f"/api/v1/opportunities/{opportunity.id}")).json()["contact"] is None

    issuer_client = await login(make_client(), issuer)
    waiting = await issuer_client.get("/api/v1/interests", params={"status": "pending"})
    assert [i["id"] for i in waiting.json()["items"]] == [interest["id"]]
    approved = await issuer_client.post(f"/api/v1/interests/{interest['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    detail = (await enterprise.get(f"/api/v1/opportunities/{opportunity.id}")).json()
    assert detail["contact"] == CONTACT
    assert detail["review_note"] is None  # the contact, nothing else private
    listed = await enterprise.get("/api/v1/opportunities", params={"organisation_id": issuer_org.id})
    assert listed.json()["items"][0]["contact"] == CONTACT
    assert (await enterprise.get(f"/api/v1/interests/{interest['id']}")).json()["contact"] == CONTACT

    other = await login(make_client(), bystander)
    assert (await other.get(f"/api/v1/opportunities/{opportunity.id}")).json()["contact"] is None
    assert (await make_client().get(f"/api/v1/opportunities/{opportunity.id}")).json()["contact"] is None

    told = (await session.exec(select(Notification).where(Notification.user_id == enterprise_user.id))).all()
    assert [n.kind for n in told] == ["interest_approved"] and CONTACT in told[0].body
    actions = (
        await session.exec(
            select(AuditEntry.action)
            .where(AuditEntry.entity_kind == "interest", AuditEntry.entity_id == interest["id"])
            .order_by(col(AuditEntry.id))
        )
    ).all()
    assert actions == ["created", "status:approved"]


async def test_issuer_is_told_in_app_when_an_enterprise_expresses_interest(client, session):
    issuer_org, issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)

    await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})

    told = (await session.exec(select(Notification).where(Notification.user_id == issuer.id))).all()
    assert [n.kind for n in told] == ["interest_received"]
    assert told[0].link == f"/opportunities/{opportunity.id}"


async def test_second_open_expression_is_a_conflict_but_after_a_decline_one_may_try_again(client, make_client, session):
    issuer_org, _ = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)

    first = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})
    second = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id, "message": "再提交一次"})

    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM)
    assert "已对该机会表达过意向" in second.json()["detail"]
    assert await _interest_count(session, opportunity.id) == 1

    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    declined = await staff.post(f"/api/v1/interests/{first.json()['id']}/decline", json={"reason": "需求方向不一致"})
    assert declined.json()["status"] == "declined" and declined.json()["decision_reason"] == "需求方向不一致"
    again = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})
    assert again.status_code == 201


async def test_declined_introduction_keeps_the_contact_hidden_and_tells_the_reason(client, make_client, session):
    issuer_org, issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)
    interest_id = (await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})).json()["id"]

    issuer_client = await login(make_client(), issuer)
    assert (
        await issuer_client.post(f"/api/v1/interests/{interest_id}/decline", json={"reason": ""})
    ).status_code == 422
    declined = await issuer_client.post(f"/api/v1/interests/{interest_id}/decline", json={"reason": "已有合作单位"})
    assert declined.status_code == 200

    assert (await client.get(f"/api/v1/opportunities/{opportunity.id}")).json()["contact"] is None
    mine = (await client.get("/api/v1/interests")).json()["items"]
    assert mine[0]["status_label"] == "已婉拒" and mine[0]["decision_reason"] == "已有合作单位"
    assert mine[0]["contact"] is None
    emails = (await session.exec(select(EmailMessage).where(EmailMessage.to_address == enterprise_user.email))).all()
    assert len(emails) == 1 and "已有合作单位" in emails[0].body
    # A decision is final: deciding again is a conflict.
    assert (await issuer_client.post(f"/api/v1/interests/{interest_id}/approve")).status_code == 409


async def test_interest_in_a_draft_is_not_found_and_in_a_closed_opportunity_is_a_conflict(client, session):
    issuer_org, _ = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    draft = await create_opportunity(session, issuer_org)
    closed = await create_opportunity(session, issuer_org, status=ListingStatus.closed, closed_at=utcnow())
    expired = await _published(session, issuer_org, deadline=date.today() - timedelta(days=1))
    await login(client, enterprise_user)

    on_draft = await client.post("/api/v1/interests", json={"opportunity_id": draft.id})
    on_closed = await client.post("/api/v1/interests", json={"opportunity_id": closed.id})
    on_expired = await client.post("/api/v1/interests", json={"opportunity_id": expired.id})
    on_missing = await client.post("/api/v1/interests", json={"opportunity_id": 2_000_000_000})

    assert on_draft.status_code == 404 and on_draft.json()["detail"] == "机会不存在或尚未发布"
    assert on_closed.status_code == 409 and "已截止" in on_closed.json()["detail"]
    assert on_expired.status_code == 409 and "截止日期已过" in on_expired.json()["detail"]
    assert on_missing.status_code == 404
    for response in (on_draft, on_closed, on_expired, on_missing):
        assert response.headers["content-type"].startswith(PROBLEM)
    assert sum([await _interest_count(session, o.id) for o in (draft, closed, expired)]) == 0


async def test_only_enterprises_express_interest(client, make_client, session):
    issuer_org, _issuer_user = await _issuer(session)
    opportunity = await _published(session, issuer_org)
    _other_issuer_org, other_issuer = await _issuer(session)

    anonymous = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})
    as_issuer = await (await login(make_client(), other_issuer)).post(
        "/api/v1/interests", json={"opportunity_id": opportunity.id}
    )
    as_staff = await (await login(make_client(), await create_user(session, role=Role.matchmaker))).post(
        "/api/v1/interests", json={"opportunity_id": opportunity.id}
    )

    assert anonymous.status_code == 401
    assert as_issuer.status_code == 403 and as_issuer.json()["detail"] == "只有企业账号可以表达合作意向"
    assert as_staff.status_code == 403
    assert await _interest_count(session, opportunity.id) == 0


async def test_message_is_limited_to_1000_characters(client, session):
    issuer_org, _ = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)

    too_long = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id, "message": "长" * 1001})
    just_right = await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id, "message": "长" * 1000})

    assert too_long.status_code == 422 and too_long.json()["field"] == "message"
    assert "最多 1000" in too_long.json()["detail"]
    assert just_right.status_code == 201


async def test_nobody_but_the_issuer_or_a_matchmaker_decides(client, make_client, session):
    issuer_org, _ = await _issuer(session)
    _, other_issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)
    interest_id = (await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})).json()["id"]

    by_itself = await client.post(f"/api/v1/interests/{interest_id}/approve")
    by_stranger = await (await login(make_client(), other_issuer)).post(f"/api/v1/interests/{interest_id}/approve")

    assert by_itself.status_code == 403 and "发布该机会的单位或撮合专员" in by_itself.json()["detail"]
    assert by_stranger.status_code == 404 and by_stranger.headers["content-type"].startswith(PROBLEM)
    interest = await session.get(Interest, interest_id)
    await session.refresh(interest)
    assert interest.status == InterestStatus.pending
    assert (await client.get(f"/api/v1/opportunities/{opportunity.id}")).json()["contact"] is None


async def test_interests_are_seen_by_the_enterprise_the_issuer_and_matchmakers_only(client, make_client, session):
    issuer_org, issuer = await _issuer(session)
    _, other_issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    _, other_enterprise = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)
    interest_id = (await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})).json()["id"]

    async def seen_by(user):
        c = await login(make_client(), user)
        listed = [i["id"] for i in (await c.get("/api/v1/interests")).json()["items"]]
        return listed, (await c.get(f"/api/v1/interests/{interest_id}")).status_code

    assert await seen_by(issuer) == ([interest_id], 200)
    assert await seen_by(await create_user(session, role=Role.matchmaker)) == ([interest_id], 200)
    assert await seen_by(other_issuer) == ([], 404)
    assert await seen_by(other_enterprise) == ([], 404)
    assert (await make_client().get("/api/v1/interests")).status_code == 401
    assert [i["id"] for i in (await client.get("/api/v1/interests")).json()["items"]] == [interest_id]


async def test_enterprise_withdraws_a_pending_interest(client, session):
    issuer_org, _ = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunity = await _published(session, issuer_org)
    await login(client, enterprise_user)
    interest_id = (await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})).json()["id"]

    withdrawn = await client.post(f"/api/v1/interests/{interest_id}/withdraw")

    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.post(f"/api/v1/interests/{interest_id}/withdraw")).status_code == 409
    assert (await client.post("/api/v1/interests", json={"opportunity_id": opportunity.id})).status_code == 201


async def test_contact_release_costs_one_query_per_page_of_listings(client, make_client, session, engine):
    issuer_org, issuer = await _issuer(session)
    _, enterprise_user = await _enterprise(session)
    opportunities = [await _published(session, issuer_org, title=f"机会{n}") for n in range(5)]
    await login(client, enterprise_user)
    interest_id = (await client.post("/api/v1/interests", json={"opportunity_id": opportunities[2].id})).json()["id"]
    await (await login(make_client(), issuer)).post(f"/api/v1/interests/{interest_id}/approve")

    statements: list[str] = []

    def _count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _count)
    try:
        listed = await client.get("/api/v1/opportunities", params={"organisation_id": issuer_org.id})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _count)

    contacts = {item["id"]: item["contact"] for item in listed.json()["items"]}
    assert contacts[opportunities[2].id] == CONTACT
    assert all(contact is None for oid, contact in contacts.items() if oid != opportunities[2].id)
    assert len([s for s in statements if "FROM interest" in s]) == 1


async def test_issuer_is_reminded_once_per_period_about_a_waiting_interest(session):
    issuer_org, issuer = await _issuer(session)
    colleague = await create_user(session, role=Role.issuer, organisation=issuer_org)
    enterprise_org, _ = await _enterprise(session)
    opportunity = await _published(session, issuer_org, title="赣州脐橙溯源场景")
    now = utcnow()
    waiting = Interest(
        opportunity_id=opportunity.id, organisation_id=enterprise_org.id, created_at=now - timedelta(days=4)
    )
    fresh_org, _ = await _enterprise(session)
    fresh = Interest(opportunity_id=opportunity.id, organisation_id=fresh_org.id, created_at=now - timedelta(days=1))
    session.add_all([waiting, fresh])
    await session.flush()

    assert await interests_service.send_reminders(session, days=3, now=now) == 1
    assert await interests_service.send_reminders(session, days=3, now=now + timedelta(hours=1)) == 0

    reminders = (
        await session.exec(
            select(Notification).where(Notification.kind == "interest_reminder").order_by(col(Notification.user_id))
        )
    ).all()
    assert [n.user_id for n in reminders] == [issuer.id, colleague.id]
    assert "赣州脐橙溯源场景" in reminders[0].title and "等待 4 天" in reminders[0].body
    emails = (
        await session.exec(select(EmailMessage.to_address).where(col(EmailMessage.subject).contains("待审批")))
    ).all()
    assert sorted(emails) == sorted([issuer.email, colleague.email])
    await session.refresh(waiting)
    assert waiting.reminded_at == now

    # The next period reminds again; a decided interest never is.
    waiting.status = InterestStatus.declined
    session.add(waiting)
    await session.flush()
    assert await interests_service.send_reminders(session, days=3, now=now + timedelta(days=4)) == 1  # the fresh one
