"""Changes after publication (issue 12): edit requests, deadline changes, close early, withdraw, take back,
imports landing in the review queue, and batches published in any order."""

import io
from datetime import date, timedelta

from sqlmodel import col, select

from backend.answers.models import Answer, AnswerStatus
from backend.audit.models import AuditEntry
from backend.auth.models import Role
from backend.listings.models import ListingStatus
from backend.notifications.models import Notification
from backend.outbox.models import OutboxEvent
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login


async def _issuer(session, client):
    department = await create_organisation(session, name="江西省交通运输厅（变更测试）")
    user = await create_user(session, role=Role.issuer, organisation=department)
    logged_in = await login(client, user)
    logged_in.user_id = user.id
    return department, logged_in


async def _staff(session, client):
    return await login(client, await create_user(session, role=Role.matchmaker))


async def _notices(session, user_id: int, kind: str) -> list[Notification]:
    rows = await session.exec(select(Notification).where(Notification.user_id == user_id, Notification.kind == kind))
    return list(rows.all())


async def test_edit_request_leaves_the_public_version_until_a_matchmaker_approves(client, make_client, session):
    department, issuer = await _issuer(session, client)
    owner_id = issuer.user_id
    listing = await create_opportunity(session, department, title="赣江航道智能监测", status=ListingStatus.published)
    visitor = make_client()

    # The plain edit is refused with a pointer to the request; nothing changes.
    refused = await issuer.patch(f"/api/v1/opportunities/{listing.id}", json={"title": "改过的标题"})
    assert refused.status_code == 409 and "修改申请" in refused.json()["detail"]

    requested = await issuer.post(
        f"/api/v1/opportunities/{listing.id}/revisions",
        json={"changes": {"title": "赣江航道智能监测（二期）", "description": "增加船闸调度"}, "note": "扩大范围"},
    )
    assert requested.status_code == 201, requested.text
    revision = requested.json()
    assert revision["status"] == "pending" and set(revision["changes"]) == {"title", "description"}

    public = (await visitor.get(f"/api/v1/opportunities/{listing.id}")).json()
    assert public["title"] == "赣江航道智能监测" and public["pending_revision_id"] is None
    own = (await issuer.get(f"/api/v1/opportunities/{listing.id}")).json()
    assert own["title"] == "赣江航道智能监测" and own["pending_revision_id"] == revision["id"]
    # Another organisation neither sees nor cancels the request.
    other = await login(
        make_client(), await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    )
    assert (await other.get(f"/api/v1/revisions/{revision['id']}")).status_code == 404
    assert (await other.post(f"/api/v1/revisions/{revision['id']}/cancel")).status_code == 404
    # Only a matchmaker approves.
    assert (await issuer.post(f"/api/v1/revisions/{revision['id']}/approve")).status_code == 403

    staff = await _staff(session, make_client())
    assert [r["id"] for r in (await staff.get("/api/v1/revisions")).json()] == [revision["id"]]
    before = (await session.exec(select(OutboxEvent.id).where(OutboxEvent.entity_id == listing.id))).all()
    approved = await staff.post(f"/api/v1/revisions/{revision['id']}/approve", json={"note": "同意"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    public = (await visitor.get(f"/api/v1/opportunities/{listing.id}")).json()
    assert public["title"] == "赣江航道智能监测（二期）" and public["description"] == "增加船闸调度"
    after = (await session.exec(select(OutboxEvent.id).where(OutboxEvent.entity_id == listing.id))).all()
    assert len(after) > len(before)  # search follows the approved version
    actions = (
        await session.exec(
            select(AuditEntry.action)
            .where(AuditEntry.entity_kind == "opportunity", AuditEntry.entity_id == listing.id)
            .order_by(col(AuditEntry.id))
        )
    ).all()
    assert actions[-3:] == ["revision_requested", "edited", "revision_approved"]
    assert len(await _notices(session, owner_id, "edit_request_decided")) == 1
    assert (await staff.post(f"/api/v1/revisions/{revision['id']}/approve")).status_code == 409


async def test_rejected_edit_request_keeps_the_published_version_and_says_why(client, make_client, session):
    department, issuer = await _issuer(session, client)
    listing = await create_opportunity(session, department, title="鄱阳湖水质监测", status=ListingStatus.published)
    revision = (
        await issuer.post(f"/api/v1/opportunities/{listing.id}/revisions", json={"changes": {"title": "改名"}})
    ).json()
    staff = await _staff(session, make_client())
    assert (await staff.post(f"/api/v1/revisions/{revision['id']}/reject", json={"note": ""})).status_code == 422
    rejected = await staff.post(f"/api/v1/revisions/{revision['id']}/reject", json={"note": "标题需与立项一致"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_note"] == "标题需与立项一致"
    assert (await make_client().get(f"/api/v1/opportunities/{listing.id}")).json()["title"] == "鄱阳湖水质监测"
    history = (await issuer.get(f"/api/v1/opportunities/{listing.id}/revisions")).json()
    assert [h["status"] for h in history] == ["rejected"]


async def test_an_edit_request_needs_a_published_listing_and_a_real_change(client, session):
    department, issuer = await _issuer(session, client)
    draft = await create_opportunity(session, department, title="草稿机会")
    published = await create_opportunity(session, department, title="已发布机会", status=ListingStatus.published)
    refused = await issuer.post(f"/api/v1/opportunities/{draft.id}/revisions", json={"changes": {"title": "x"}})
    assert refused.status_code == 409
    same = await issuer.post(
        f"/api/v1/opportunities/{published.id}/revisions", json={"changes": {"title": "已发布机会"}}
    )
    assert same.status_code == 422


async def _answer(session, opportunity, organisation, status: AnswerStatus) -> Answer:
    answer = Answer(opportunity_id=opportunity.id, lead_organisation_id=organisation.id, title="答题", status=status)
    session.add(answer)
    await session.flush()
    return answer


async def test_deadline_change_tells_enterprises_with_draft_or_submitted_answers(client, session):
    department, issuer = await _issuer(session, client)
    listing = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=10)
    )
    drafting, submitted, decided = [await create_organisation(session, kind="enterprise") for _ in range(3)]
    people = {}
    for organisation, status in (
        (drafting, AnswerStatus.draft),
        (submitted, AnswerStatus.submitted),
        (decided, AnswerStatus.not_selected),
    ):
        await _answer(session, listing, organisation, status)
        people[status] = await create_user(session, role=Role.enterprise, organisation=organisation)

    past = await issuer.post(f"/api/v1/opportunities/{listing.id}/deadline", json={"deadline": "2020-01-01"})
    assert past.status_code == 422
    new_deadline = date.today() + timedelta(days=30)
    changed = await issuer.post(
        f"/api/v1/opportunities/{listing.id}/deadline",
        json={"deadline": new_deadline.isoformat(), "note": "延期一个月"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["deadline"] == new_deadline.isoformat()

    for status in (AnswerStatus.draft, AnswerStatus.submitted):
        notices = await _notices(session, people[status].id, "deadline_changed")
        assert len(notices) == 1 and new_deadline.isoformat() in notices[0].body and "延长" in notices[0].body
        assert notices[0].link == f"/opportunities/{listing.id}"
    assert await _notices(session, people[AnswerStatus.not_selected].id, "deadline_changed") == []

    shorter = date.today() + timedelta(days=3)
    await issuer.post(f"/api/v1/opportunities/{listing.id}/deadline", json={"deadline": shorter.isoformat()})
    latest = await _notices(session, people[AnswerStatus.draft].id, "deadline_changed")
    assert len(latest) == 2 and any("提前" in n.body for n in latest)


async def test_close_early_and_withdraw_with_a_public_reason(client, make_client, session):
    department, issuer = await _issuer(session, client)
    closing = await create_opportunity(session, department, title="提前截止的机会", status=ListingStatus.published)
    withdrawing = await create_opportunity(session, department, title="要撤回的机会", status=ListingStatus.published)
    enterprise = await create_organisation(session, kind="enterprise")
    person = await create_user(session, role=Role.enterprise, organisation=enterprise)
    await _answer(session, closing, enterprise, AnswerStatus.draft)
    await _answer(session, withdrawing, enterprise, AnswerStatus.submitted)

    closed = await issuer.post(f"/api/v1/opportunities/{closing.id}/close", json={"note": "需求已满足"})
    assert closed.json()["status"] == "closed"
    assert (await issuer.post(f"/api/v1/opportunities/{withdrawing.id}/withdraw")).status_code == 422
    withdrawn = await issuer.post(
        f"/api/v1/opportunities/{withdrawing.id}/withdraw", json={"reason": "项目资金未到位，暂缓实施"}
    )
    assert withdrawn.json()["status"] == "withdrawn"
    notices = await _notices(session, person.id, "opportunity_closed")
    assert len(notices) == 2 and any("项目资金未到位" in n.body for n in notices)

    visitor = make_client()
    public = (await visitor.get(f"/api/v1/opportunities/{withdrawing.id}")).json()
    assert public["status"] == "withdrawn" and public["withdrawal_reason"] == "项目资金未到位，暂缓实施"
    assert public["contact"] is None
    ids = [i["id"] for i in (await visitor.get("/api/v1/opportunities")).json()["items"]]
    assert withdrawing.id not in ids
    page = await visitor.get(f"/opportunities/{withdrawing.id}")
    assert page.status_code == 200 and "项目资金未到位，暂缓实施" in page.text and "已撤回" in page.text
    # A stranger cannot withdraw someone else's listing: it is missing for them.
    stranger = await login(
        make_client(), await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    )
    other = await create_opportunity(session, department, status=ListingStatus.published)
    assert (await stranger.post(f"/api/v1/opportunities/{other.id}/withdraw", json={"reason": "x"})).status_code == 404


async def test_owner_takes_back_a_pending_submission(client, make_client, session):
    department, issuer = await _issuer(session, client)
    pending = await create_opportunity(session, department, status=ListingStatus.pending_review)
    taken = await issuer.post(f"/api/v1/opportunities/{pending.id}/take-back")
    assert taken.status_code == 200 and taken.json()["status"] == "draft"
    assert (await issuer.patch(f"/api/v1/opportunities/{pending.id}", json={"title": "改好了"})).status_code == 200
    assert (await issuer.post(f"/api/v1/opportunities/{pending.id}/take-back")).status_code == 409
    enterprise = await create_organisation(session, kind="enterprise")
    seller = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=enterprise))
    offering = await create_offering(session, enterprise, status=ListingStatus.pending_review)
    assert (await seller.post(f"/api/v1/offerings/{offering.id}/take-back")).json()["status"] == "draft"
    assert (await issuer.post(f"/api/v1/offerings/{offering.id}/take-back")).status_code == 404


async def test_enterprise_requests_an_offering_edit_and_withdraws_with_a_reason(client, make_client, session):
    enterprise = await create_organisation(session, kind="enterprise")
    seller = await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    offering = await create_offering(session, enterprise, title="边缘计算网关", status=ListingStatus.published)
    requested = await seller.post(
        f"/api/v1/offerings/{offering.id}/revisions", json={"changes": {"maturity": "pilot"}, "note": "改为试点"}
    )
    assert requested.status_code == 201, requested.text
    assert (await make_client().get(f"/api/v1/offerings/{offering.id}")).json()["maturity"] == "mature"
    staff = await _staff(session, make_client())
    await staff.post(f"/api/v1/revisions/{requested.json()['id']}/approve")
    assert (await make_client().get(f"/api/v1/offerings/{offering.id}")).json()["maturity"] == "pilot"
    withdrawn = await seller.post(f"/api/v1/offerings/{offering.id}/withdraw", json={"reason": "产品线调整"})
    assert withdrawn.json()["withdrawal_reason"] == "产品线调整"


async def test_imported_drafts_land_in_the_review_queue_marked_with_their_import(client, session):
    staff = await _staff(session, client)
    body = (
        '{"kind": "opportunity", "title": "导入的智慧园区场景", "issuer": "南昌市数据局（导入）", '
        '"region": "南昌市", "description": "园区能耗监测"}\n'
    )
    response = await staff.post(
        "/api/v1/imports", files={"file": ("第五批场景.jsonl", io.BytesIO(body.encode()), "application/json")}
    )
    assert response.status_code == 200, response.text
    import_id = response.json()["import_id"]
    assert import_id and response.json()["created"] == 1
    queue = (await staff.get("/api/v1/opportunities", params={"status": "pending_review"})).json()["items"]
    item = next(i for i in queue if i["title"] == "导入的智慧园区场景")
    assert item["imported_from"]["id"] == import_id and item["imported_from"]["filename"] == "第五批场景.jsonl"
    page = await staff.get("/review")
    assert "导入的智慧园区场景" in page.text and f"来自导入 #{import_id}" in page.text


async def test_batches_publish_in_any_order_and_cards_show_a_batch_only_once_published(client, make_client, session):
    staff = await _staff(session, client)
    department = await create_organisation(session, name="江西省数据局（批次顺序）")
    listings = {}
    for number in (1, 2, 3):
        listing = await create_opportunity(
            session, department, title=f"批次顺序场景{number}", status=ListingStatus.pending_review
        )
        published = await staff.post(f"/api/v1/opportunities/{listing.id}/publish", json={"batch_number": number})
        assert published.status_code == 200, published.text
        listings[number] = listing

    visitor = make_client()

    async def public_batch(number: int):
        return (await visitor.get(f"/api/v1/opportunities/{listings[number].id}")).json()["batch"]

    assert await public_batch(1) is None  # batch 1 not yet published: nothing public says 第1批
    cards = (await visitor.get("/opportunities")).text
    assert "批次顺序场景1" in cards and "第1批" not in cards
    assert (await visitor.get("/api/v1/opportunities", params={"batch": 1})).json()["total"] == 0

    assert (await staff.post("/api/v1/batches/3/publish")).status_code == 200
    assert await public_batch(3) == 3 and await public_batch(1) is None
    # Publishing 第3批 first leaves 第1批 and 第2批 publishable, and their pages offer the button.
    assert "发布第1批" in (await staff.get("/batches/1")).text
    assert (await staff.post("/api/v1/batches/1/publish")).status_code == 200
    assert (await staff.post("/api/v1/batches/2/publish")).status_code == 200
    assert await public_batch(1) == 1 and await public_batch(2) == 2
    assert "第1批" in (await visitor.get("/opportunities")).text
    assert (await staff.post("/api/v1/batches/1/publish")).status_code == 409


async def test_issuer_invites_a_recommended_enterprise_to_answer_once(client, make_client, session):
    department, issuer = await _issuer(session, client)
    opportunity = await create_opportunity(
        session, department, title="赣州稀土园区安全监测", status=ListingStatus.published
    )
    company = await create_organisation(session, kind="enterprise", name="赣州传感科技有限公司")
    person = await create_user(session, role=Role.enterprise, organisation=company)
    offering = await create_offering(session, company, status=ListingStatus.published)

    invited = await issuer.post(
        f"/api/v1/opportunities/{opportunity.id}/invitations", json={"offering_id": offering.id, "note": "欢迎答题"}
    )
    assert invited.status_code == 201 and invited.json()["notified"] == 1
    notices = await _notices(session, person.id, "answer_invitation")
    assert len(notices) == 1 and notices[0].link == f"/opportunities/{opportunity.id}" and "欢迎答题" in notices[0].body
    again = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/invitations", json={"offering_id": offering.id})
    assert again.status_code == 409
    # Another organisation cannot invite on this opportunity's behalf.
    stranger_org = await create_organisation(session)
    stranger = await login(make_client(), await create_user(session, role=Role.issuer, organisation=stranger_org))
    refused = await stranger.post(
        f"/api/v1/opportunities/{opportunity.id}/invitations", json={"offering_id": offering.id}
    )
    assert refused.status_code == 404
