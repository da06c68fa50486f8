from datetime import date, timedelta

from sqlmodel import col, select

from backend.auth.models import Role
from backend.listings.models import ListingStatus, Opportunity
from backend.outbox.models import OutboxEvent
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

NEW_OPPORTUNITY = {
    "title": "鄱阳湖智慧水利监测场景",
    "description": "需要对鄱阳湖重点水域的水位、水质进行实时监测与预警",
    "place": "江西省九江市",
    "tracks": ["iot"],
    "domains": ["smart_water"],
    "budget_text": "200-500万元",
    "budget_min": "200",
    "budget_max": "500",
    "deadline": (date.today() + timedelta(days=60)).isoformat(),
    "contact": "水利厅 张工 0791-00000001",
}


async def _issuer(session, **organisation_overrides):
    organisation = await create_organisation(session, **organisation_overrides)
    return organisation, await create_user(session, role=Role.issuer, organisation=organisation)


async def test_issuer_drafts_submits_and_matchmaker_publishes_an_opportunity(client, make_client, session):
    _, issuer = await _issuer(session)
    matchmaker = await create_user(session, role=Role.matchmaker)
    issuer_client = await login(client, issuer)
    visitor = make_client()

    created = await issuer_client.post("/api/v1/opportunities", json=NEW_OPPORTUNITY)
    assert created.status_code == 201, created.text
    body = created.json()
    opportunity_id = body["id"]
    assert body["status"] == "draft"
    assert body["region"] == {"code": "360400", "name": "九江市"}
    assert [t["name"] for t in body["tracks"]] == ["物联网"]
    assert (await visitor.get(f"/api/v1/opportunities/{opportunity_id}")).status_code == 404

    submitted = await issuer_client.post(f"/api/v1/opportunities/{opportunity_id}/submit")
    assert submitted.json()["status"] == "pending_review"
    assert (await issuer_client.post(f"/api/v1/opportunities/{opportunity_id}/publish")).status_code == 403

    staff = await login(make_client(), matchmaker)
    published = await staff.post(f"/api/v1/opportunities/{opportunity_id}/publish", json={"batch_number": 3})
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["batch"] == 3

    # Public by batch only once 第3批 itself is published (issue 12).
    assert (await visitor.get("/api/v1/opportunities", params={"batch": 3})).json()["items"] == []
    assert (await visitor.get(f"/api/v1/opportunities/{opportunity_id}")).json()["batch"] is None
    assert (await staff.post("/api/v1/batches/3/publish")).status_code == 200
    public = await visitor.get("/api/v1/opportunities", params={"batch": 3})
    assert [item["title"] for item in public.json()["items"]] == ["鄱阳湖智慧水利监测场景"]


async def test_visitor_never_sees_contact_details(client, session):
    organisation, _ = await _issuer(session)
    opportunity = await create_opportunity(session, organisation, status=ListingStatus.published)

    detail = await client.get(f"/api/v1/opportunities/{opportunity.id}")
    listed = await client.get("/api/v1/opportunities", params={"organisation_id": organisation.id})

    assert detail.status_code == 200
    assert detail.json()["contact"] is None
    assert listed.json()["items"][0]["contact"] is None
    assert "0791" not in detail.text and "0791" not in listed.text


async def test_other_organisation_sees_neither_draft_nor_contact(client, session):
    organisation, _ = await _issuer(session)
    _, outsider = await _issuer(session)
    draft = await create_opportunity(session, organisation, title="内部草稿")
    published = await create_opportunity(session, organisation, status=ListingStatus.published)
    await login(client, outsider)

    assert (await client.get(f"/api/v1/opportunities/{draft.id}")).status_code == 404
    listed = await client.get("/api/v1/opportunities", params={"organisation_id": organisation.id})
    assert [item["id"] for item in listed.json()["items"]] == [published.id]
    assert (await client.get(f"/api/v1/opportunities/{published.id}")).json()["contact"] is None
    assert (await client.patch(f"/api/v1/opportunities/{draft.id}", json={"title": "改掉"})).status_code == 404


async def test_owner_sees_its_drafts_with_contact(client, session):
    organisation, issuer = await _issuer(session)
    draft = await create_opportunity(session, organisation)
    await login(client, issuer)

    mine = await client.get("/api/v1/opportunities", params={"mine": True})
    assert [item["id"] for item in mine.json()["items"]] == [draft.id]
    assert mine.json()["items"][0]["contact"] == "李工 0791-00000000"


async def test_issuer_cannot_edit_after_submitting(client, session):
    organisation, issuer = await _issuer(session)
    opportunity = await create_opportunity(session, organisation, status=ListingStatus.pending_review)
    await login(client, issuer)
    response = await client.patch(f"/api/v1/opportunities/{opportunity.id}", json={"title": "新标题"})
    assert response.status_code == 409
    await session.refresh(opportunity)
    assert opportunity.title == "智慧交通信号优化场景"


async def test_matchmaker_sends_back_with_a_reason_the_issuer_can_read(client, make_client, session):
    organisation, issuer = await _issuer(session)
    opportunity = await create_opportunity(session, organisation, status=ListingStatus.pending_review)
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))

    returned = await staff.post(f"/api/v1/opportunities/{opportunity.id}/return", json={"reason": "请补充预算范围"})
    assert returned.json()["status"] == "draft"

    await login(client, issuer)
    mine = await client.get(f"/api/v1/opportunities/{opportunity.id}")
    assert mine.json()["review_note"] == "请补充预算范围"
    edited = await client.patch(f"/api/v1/opportunities/{opportunity.id}", json={"budget_text": "100万元"})
    assert edited.status_code == 200


async def test_send_back_needs_a_reason(client, session):
    organisation, _ = await _issuer(session)
    opportunity = await create_opportunity(session, organisation, status=ListingStatus.pending_review)
    await login(client, await create_user(session, role=Role.matchmaker))
    response = await client.post(f"/api/v1/opportunities/{opportunity.id}/return", json={"reason": ""})
    assert response.status_code == 422
    assert response.json()["field"] == "reason"


async def test_published_opportunity_can_be_closed_by_its_issuer(client, session):
    organisation, issuer = await _issuer(session)
    opportunity = await create_opportunity(session, organisation, status=ListingStatus.published)
    await login(client, issuer)
    closed = await client.post(f"/api/v1/opportunities/{opportunity.id}/close")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert (await client.post(f"/api/v1/opportunities/{opportunity.id}/close")).status_code == 409


async def test_enterprise_keeps_offerings_and_withdraws_one(client, make_client, session):
    enterprise = await create_organisation(session, kind="enterprise")
    user = await create_user(session, role=Role.enterprise, organisation=enterprise)
    await login(client, user)

    created = await client.post(
        "/api/v1/offerings",
        json={
            "title": "农业物联网墒情监测终端",
            "description": "适用于赣南脐橙果园的土壤墒情监测",
            "place": "赣州市",
            "tracks": ["iot", "smart_agriculture"],
            "maturity": "pilot",
            "reference_cases": "信丰县脐橙基地",
        },
    )
    assert created.status_code == 201, created.text
    offering_id = created.json()["id"]
    assert created.json()["organisation"]["id"] == enterprise.id

    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    assert (await staff.post(f"/api/v1/offerings/{offering_id}/publish")).json()["status"] == "published"

    withdrawn = await client.post(f"/api/v1/offerings/{offering_id}/withdraw", json={"reason": "产品已停产"})
    assert withdrawn.json()["status"] == "withdrawn"
    # Off the list, but its page stays and says why (issue 12: the reason is shown publicly).
    visitor = make_client()
    public = (await visitor.get(f"/api/v1/offerings/{offering_id}")).json()
    assert public["status"] == "withdrawn" and public["withdrawal_reason"] == "产品已停产"
    assert public["contact"] is None
    listed = (await visitor.get("/api/v1/offerings")).json()["items"]
    assert offering_id not in [item["id"] for item in listed]


async def test_enterprise_cannot_post_an_opportunity_nor_issuer_an_offering(client, make_client, session):
    enterprise = await create_organisation(session, kind="enterprise")
    enterprise_client = await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    _, issuer = await _issuer(session)
    issuer_client = await login(make_client(), issuer)

    assert (await enterprise_client.post("/api/v1/opportunities", json={"title": "x"})).status_code == 403
    assert (await issuer_client.post("/api/v1/offerings", json={"title": "x"})).status_code == 403


async def test_issuer_cannot_post_in_another_organisations_name(client, session):
    _, issuer = await _issuer(session)
    other, _ = await _issuer(session)
    await login(client, issuer)
    response = await client.post("/api/v1/opportunities", json={"title": "冒名", "organisation_id": other.id})
    assert response.status_code == 403


async def test_matchmaker_posts_on_behalf_of_a_department(client, session):
    department, _ = await _issuer(session)
    await login(client, await create_user(session, role=Role.matchmaker))
    missing = await client.post("/api/v1/opportunities", json={"title": "代填"})
    assert missing.status_code == 422 and missing.json()["field"] == "organisation_id"
    created = await client.post("/api/v1/opportunities", json={"title": "代填", "organisation_id": department.id})
    assert created.status_code == 201 and created.json()["organisation"]["id"] == department.id


async def test_place_outside_the_province_is_kept_as_written(client, session):
    _, issuer = await _issuer(session)
    await login(client, issuer)
    outside = await client.post("/api/v1/opportunities", json={"title": "跨省协作", "place": "四川省成都市"})
    xinyu = await client.post("/api/v1/opportunities", json={"title": "新余安防", "place": "江西省新余市"})
    assert outside.json()["region"] is None and outside.json()["place"] == "四川省成都市"
    assert xinyu.json()["region"]["code"] == "360500"


async def test_traditional_text_is_stored_exactly_as_given(client, session):
    _, issuer = await _issuer(session)
    await login(client, issuer)
    text = "推動數(shù)字經濟與實體(tǐ)經濟深度融合"
    created = await client.post("/api/v1/opportunities", json={"title": "數字經濟場景", "description": text})
    fetched = await client.get(f"/api/v1/opportunities/{created.json()['id']}")
    assert fetched.json()["description"] == text and fetched.json()["title"] == "數字經濟場景"


async def test_filters_by_track_region_and_status(client, session):
    organisation, _ = await _issuer(session)
    in_county = await create_opportunity(
        session,
        organisation,
        title="章贡区物联网",
        region_code="360702",
        tracks=["iot"],
        status=ListingStatus.published,
    )
    await create_opportunity(
        session, organisation, title="南昌VR", region_code="360100", tracks=["vr"], status=ListingStatus.published
    )
    await create_opportunity(session, organisation, title="赣州草稿", region_code="360700", tracks=["iot"])

    by_city = await client.get("/api/v1/opportunities", params={"region": "360700", "organisation_id": organisation.id})
    by_track = await client.get("/api/v1/opportunities", params={"track": "iot", "organisation_id": organisation.id})
    assert [i["id"] for i in by_city.json()["items"]] == [in_county.id]
    assert [i["id"] for i in by_track.json()["items"]] == [in_county.id]


async def test_deadline_sort_puts_the_soonest_first(client, session):
    organisation, _ = await _issuer(session)
    later = await create_opportunity(
        session, organisation, title="晚", deadline=date.today() + timedelta(days=90), status=ListingStatus.published
    )
    sooner = await create_opportunity(
        session, organisation, title="早", deadline=date.today() + timedelta(days=5), status=ListingStatus.published
    )
    response = await client.get(
        "/api/v1/opportunities", params={"organisation_id": organisation.id, "sort": "deadline"}
    )
    assert [i["id"] for i in response.json()["items"]] == [sooner.id, later.id]


async def test_unknown_track_code_is_rejected_and_nothing_is_saved(client, session):
    _, issuer = await _issuer(session)
    await login(client, issuer)
    response = await client.post("/api/v1/opportunities", json={"title": "未知赛道", "tracks": ["no-such-track"]})
    assert response.status_code == 422 and response.json()["field"] == "tracks"
    saved = (await session.exec(select(Opportunity).where(Opportunity.title == "未知赛道"))).all()
    assert saved == []


async def test_budget_minimum_above_maximum_is_rejected(client, session):
    _, issuer = await _issuer(session)
    await login(client, issuer)
    response = await client.post("/api/v1/opportunities", json={"title": "预算", "budget_min": 500, "budget_max": 100})
    assert response.status_code == 422
    assert "预算下限" in response.json()["detail"]


async def test_publishing_past_its_deadline_is_refused(client, session):
    organisation, _ = await _issuer(session)
    stale = await create_opportunity(
        session, organisation, status=ListingStatus.pending_review, deadline=date.today() - timedelta(days=1)
    )
    await login(client, await create_user(session, role=Role.matchmaker))
    response = await client.post(f"/api/v1/opportunities/{stale.id}/publish")
    assert response.status_code == 422 and response.json()["field"] == "deadline"


async def test_every_change_writes_an_outbox_row_for_the_search_index(client, session):
    _, issuer = await _issuer(session)
    await login(client, issuer)
    created = await client.post("/api/v1/opportunities", json={"title": "索引", "description": "描述"})
    listing_id = created.json()["id"]
    await client.patch(f"/api/v1/opportunities/{listing_id}", json={"title": "索引2"})
    await client.post(f"/api/v1/opportunities/{listing_id}/submit")

    events = (
        await session.exec(
            select(OutboxEvent).where(OutboxEvent.entity_kind == "opportunity", OutboxEvent.entity_id == listing_id)
        )
    ).all()
    assert len(events) == 3


async def test_offering_visible_to_visitor_only_once_published(client, session):
    enterprise = await create_organisation(session, kind="enterprise")
    draft = await create_offering(session, enterprise)
    published = await create_offering(session, enterprise, title="已发布产品", status=ListingStatus.published)
    listed = await client.get("/api/v1/offerings", params={"organisation_id": enterprise.id})
    assert [i["id"] for i in listed.json()["items"]] == [published.id]
    assert (await client.get(f"/api/v1/offerings/{draft.id}")).status_code == 404
    assert listed.json()["items"][0]["contact"] is None


async def test_list_pages(client, session):
    organisation, _ = await _issuer(session)
    for n in range(5):
        await create_opportunity(session, organisation, title=f"分页{n}", status=ListingStatus.published)
    page = await client.get(
        "/api/v1/opportunities", params={"organisation_id": organisation.id, "page_size": 2, "page": 3}
    )
    assert page.json()["total"] == 5 and len(page.json()["items"]) == 1
    ids = (
        await session.exec(
            select(Opportunity.id).where(Opportunity.organisation_id == organisation.id).order_by(col(Opportunity.id))
        )
    ).all()
    assert page.json()["items"][0]["id"] == ids[0]
