"""Likely duplicates (避免重复建设): similar opportunities while typing, the pair list, merge and dismiss."""

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.auth.models import Role
from backend.listings.models import ListingStatus, OpportunityTrack
from backend.organisations.models import OrganisationKind
from backend.outbox.models import OutboxEvent
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

LIFELINE = "面向燃气、供水、桥梁的城市生命线安全监测，需提供感知终端、监测预警平台与应急联动。"


async def _scene(session):
    """The same lifeline-monitoring scenario posted by two departments, and an unrelated one."""
    city = await create_organisation(session, name="南昌市城市管理局（查重测试）")
    province = await create_organisation(session, name="江西省住房和城乡建设厅（查重测试）")
    farming = await create_organisation(session, name="赣州市农业农村局（查重测试）")
    a = await create_opportunity(
        session,
        city,
        title="南昌市城市生命线安全监测场景",
        description=LIFELINE,
        tracks=["iot"],
        status=ListingStatus.published,
        tags=["城市安全"],
    )
    b = await create_opportunity(
        session,
        province,
        title="南昌城市生命線安全監測平台",
        tracks=["iot", "infosec_data_services"],
        description="面向燃气、供水管网和桥梁的城市生命线安全监测，提供感知终端与监测预警平台。",
        status=ListingStatus.pending_review,
        tags=["生命线"],
    )
    other = await create_opportunity(
        session,
        farming,
        title="赣南脐橙果园病虫害智能识别",
        tracks=["smart_agriculture"],
        region_code="360700",
        description="利用无人机和图像识别发现脐橙黄龙病，指导果农精准施药。",
        status=ListingStatus.published,
    )
    return a, b, other


async def _staff(session, client):
    return await login(client, await create_user(session, role=Role.matchmaker))


def _pair_ids(pairs: list[dict]) -> set[frozenset[int]]:
    return {frozenset((p["first"]["id"], p["second"]["id"])) for p in pairs}


async def test_near_identical_opportunities_of_two_departments_are_listed_as_a_pair(client, session, sync_index):
    a, b, other = await _scene(session)
    await sync_index()
    staff = await _staff(session, client)

    response = await staff.get("/api/v1/duplicates")
    assert response.status_code == 200, response.text
    pairs = response.json()
    assert frozenset((a.id, b.id)) in _pair_ids(pairs)
    assert not any(other.id in ids for ids in _pair_ids(pairs))
    pair = next(p for p in pairs if frozenset((p["first"]["id"], p["second"]["id"])) == frozenset((a.id, b.id)))
    assert pair["similarity"]["likely_duplicate"] and "生命线" in pair["similarity"]["shared_words"]
    assert {pair["first"]["organisation"], pair["second"]["organisation"]} == {
        "南昌市城市管理局（查重测试）",
        "江西省住房和城乡建设厅（查重测试）",
    }


async def test_merging_closes_b_unions_its_tracks_and_tags_and_b_points_to_a(client, session, sync_index):
    a, b, _ = await _scene(session)
    staff = await _staff(session, client)

    merged = await staff.post("/api/v1/duplicates/merge", json={"keep_id": a.id, "merge_id": b.id})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged"]["status"] == "closed" and merged.json()["merged"]["merged_into_id"] == a.id

    kept = (await staff.get(f"/api/v1/opportunities/{a.id}")).json()
    assert {t["code"] for t in kept["tracks"]} == {"iot", "infosec_data_services"}
    assert kept["tags"] == ["城市安全", "生命线"]
    closed = (await staff.get(f"/api/v1/opportunities/{b.id}")).json()
    assert closed["status"] == "closed" and closed["merged_into_id"] == a.id

    entries = (await session.exec(select(AuditEntry).where(AuditEntry.entity_kind == "opportunity"))).all()
    on_b = [e for e in entries if e.entity_id == b.id and e.action == "status:closed"]
    on_a = [e for e in entries if e.entity_id == a.id and e.action == "merged"]
    assert on_b and on_b[-1].note == f"已合并到 #{a.id}" and on_b[-1].from_state == "pending_review"
    assert on_a and f"#{b.id}" in on_a[-1].note
    queued = (await session.exec(select(OutboxEvent.entity_id).where(OutboxEvent.processed_at.is_(None)))).all()
    assert {a.id, b.id} <= set(queued)

    # Merged listings never come back as duplicates, and cannot be merged twice.
    await sync_index()
    assert frozenset((a.id, b.id)) not in _pair_ids((await staff.get("/api/v1/duplicates")).json())
    again = await staff.post("/api/v1/duplicates/merge", json={"keep_id": a.id, "merge_id": b.id})
    assert again.status_code == 409


async def test_a_merged_listing_keeps_its_answers_and_tracks_rows(client, session):
    a, b, _ = await _scene(session)
    staff = await _staff(session, client)
    assert (await staff.post("/api/v1/duplicates/merge", json={"keep_id": a.id, "merge_id": b.id})).status_code == 200
    # B's own classification stays as it was; only A gained.
    own = (await session.exec(select(OpportunityTrack.track_code).where(OpportunityTrack.listing_id == b.id))).all()
    assert set(own) == {"iot", "infosec_data_services"}


async def test_a_dismissed_pair_does_not_come_back(client, session, sync_index):
    a, b, _ = await _scene(session)
    await sync_index()
    staff = await _staff(session, client)
    dismissed = await staff.post(
        "/api/v1/duplicates/dismiss", json={"first_id": b.id, "second_id": a.id, "reason": "两个项目分属省市两级"}
    )
    assert dismissed.status_code == 201, dismissed.text
    assert (dismissed.json()["first_id"], dismissed.json()["second_id"]) == (min(a.id, b.id), max(a.id, b.id))
    assert frozenset((a.id, b.id)) not in _pair_ids((await staff.get("/api/v1/duplicates")).json())
    # Saying it twice is harmless.
    assert (
        await staff.post("/api/v1/duplicates/dismiss", json={"first_id": a.id, "second_id": b.id})
    ).status_code == 201


async def test_only_staff_may_list_merge_or_dismiss(client, make_client, session):
    a, b, _ = await _scene(session)
    issuer = await login(make_client(), await create_user(session, role=Role.issuer, organisation_id=a.organisation_id))
    visitor = make_client()
    body = {"keep_id": a.id, "merge_id": b.id}
    assert (await visitor.post("/api/v1/duplicates/merge", json=body)).status_code == 401
    assert (await issuer.post("/api/v1/duplicates/merge", json=body)).status_code == 403
    assert (
        await issuer.post("/api/v1/duplicates/dismiss", json={"first_id": a.id, "second_id": b.id})
    ).status_code == 403
    assert (await issuer.get("/api/v1/duplicates")).status_code == 403
    # Nothing changed.
    await session.refresh(b)
    assert b.status == ListingStatus.pending_review and b.merged_into_id is None


async def test_bad_merges_are_refused_with_a_reason(client, session):
    a, b, _ = await _scene(session)
    staff = await _staff(session, client)
    itself = await staff.post("/api/v1/duplicates/merge", json={"keep_id": a.id, "merge_id": a.id})
    missing = await staff.post("/api/v1/duplicates/merge", json={"keep_id": a.id, "merge_id": 2_000_000_000})
    bad_kind = await staff.post("/api/v1/duplicates/merge", json={"kind": "answer", "keep_id": a.id, "merge_id": b.id})
    assert itself.status_code == 422 and "它自己" in itself.json()["detail"]
    assert missing.status_code == 404 and bad_kind.status_code == 422


async def test_similar_opportunities_rank_the_near_duplicate_first(client, make_client, session, sync_index):
    a, b, other = await _scene(session)
    related = await create_opportunity(
        session,
        await create_organisation(session),
        title="南昌市燃气管网泄漏安全监测",
        status=ListingStatus.published,
        description="针对城市燃气管网开展泄漏监测，提供感知终端与监测预警平台。",
        tracks=["iot"],
    )
    await sync_index()
    issuer = await login(client, await create_user(session, role=Role.issuer, organisation_id=other.organisation_id))

    response = await issuer.get(
        "/api/v1/opportunities/similar", params={"title": "城市生命线安全监测", "description": LIFELINE}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found[0]["listing"]["id"] == a.id and found[0]["similarity"]["likely_duplicate"]
    ids = [f["listing"]["id"] for f in found]
    # B is pending review in another department: not for this issuer's eyes. The orchard is unrelated.
    assert b.id not in ids and other.id not in ids
    # A related but different scenario comes after the near-duplicate, and is not called a duplicate.
    assert ids.index(related.id) > 0 and not found[ids.index(related.id)]["similarity"]["likely_duplicate"]

    enterprise = await login(
        make_client(),
        await create_user(
            session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
        ),
    )
    assert (await enterprise.get("/api/v1/opportunities/similar", params={"title": "城市生命线"})).status_code == 403
    assert (await make_client().get("/api/v1/opportunities/similar", params={"title": "城市生命线"})).status_code == 401
    empty = await issuer.get("/api/v1/opportunities/similar", params={"title": " "})
    assert empty.status_code == 422 and empty.json()["detail"] == "请先填写标题或描述"


# Old links to a merged listing: visitors are sent on to the listing it became.


async def _merged(session, client, *, kind="opportunity", keep_status=ListingStatus.published):
    """B merged into A by a matchmaker (who stays signed in on `client`); A has `keep_status`."""
    make = create_opportunity if kind == "opportunity" else create_offering
    org_kind = OrganisationKind.government if kind == "opportunity" else OrganisationKind.enterprise
    first, second = [await create_organisation(session, kind=org_kind) for _ in range(2)]
    a = await make(session, first, title="保留的条目（合并跳转）", status=keep_status)
    b = await make(session, second, title="并入的条目（合并跳转）", status=ListingStatus.published)
    await _staff(session, client)
    response = await client.post("/api/v1/duplicates/merge", json={"kind": kind, "keep_id": a.id, "merge_id": b.id})
    assert response.status_code == 200, response.text
    return a, b


async def test_visitors_asking_for_a_merged_listing_are_redirected_to_the_kept_one(client, make_client, session):
    for kind, path in (("opportunity", "opportunities"), ("offering", "offerings")):
        a, b = await _merged(session, client, kind=kind)
        other_organisation = await login(
            make_client(),
            await create_user(session, role=Role.enterprise, organisation=await create_organisation(session)),
        )
        for caller in (make_client(), other_organisation):
            response = await caller.get(f"/api/v1/{path}/{b.id}")
            assert response.status_code == 301, response.text
            assert response.headers["location"] == f"/api/v1/{path}/{a.id}"
            assert response.headers["cache-control"] == "no-store"
            assert response.json()["merged_into_id"] == a.id
            followed = await caller.get(f"/api/v1/{path}/{b.id}", follow_redirects=True)
            assert followed.status_code == 200 and followed.json()["id"] == a.id


async def test_the_owner_and_matchmakers_still_get_the_merged_listing_itself(client, make_client, session):
    a, b = await _merged(session, client)
    owner = await login(make_client(), await create_user(session, role=Role.issuer, organisation_id=b.organisation_id))
    for caller in (client, owner):
        response = await caller.get(f"/api/v1/opportunities/{b.id}")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == b.id and response.json()["merged_into_id"] == a.id
    # The same address sends a visitor on: the answer depends on who asks.
    assert (await make_client().get(f"/api/v1/opportunities/{b.id}")).status_code == 301


async def test_a_merge_into_an_unpublished_listing_stays_a_plain_404(client, make_client, session):
    visitor = make_client()
    missing = (await visitor.get("/api/v1/opportunities/2147483000")).json()

    async def assert_plain_404(target, merged):
        response = await visitor.get(f"/api/v1/opportunities/{merged.id}")
        assert response.status_code == 404 and "location" not in response.headers
        # Word for word what a listing that never existed answers: nothing points at A.
        assert response.json() == missing
        assert str(target.id) not in response.text

    # Into a draft: nothing until the draft is published.
    draft_target, into_draft = await _merged(session, client, keep_status=ListingStatus.draft)
    await assert_plain_404(draft_target, into_draft)
    assert (await client.post(f"/api/v1/opportunities/{draft_target.id}/publish")).status_code == 200
    assert (await visitor.get(f"/api/v1/opportunities/{into_draft.id}")).status_code == 301

    # Into a published listing that is later closed: the redirect stops with it.
    closed_target, into_closed = await _merged(session, client)
    assert (await visitor.get(f"/api/v1/opportunities/{into_closed.id}")).status_code == 301
    assert (await client.post(f"/api/v1/opportunities/{closed_target.id}/close")).status_code == 200
    await assert_plain_404(closed_target, into_closed)


async def test_a_chain_of_merges_leads_to_the_last_listing_and_a_loop_is_a_404(client, make_client, session):
    a, b = await _merged(session, client)
    c = await create_opportunity(session, await create_organisation(session), status=ListingStatus.published)
    assert (await client.post("/api/v1/duplicates/merge", json={"keep_id": c.id, "merge_id": a.id})).status_code == 200
    visitor = make_client()
    response = await visitor.get(f"/api/v1/opportunities/{b.id}")
    assert response.status_code == 301 and response.headers["location"] == f"/api/v1/opportunities/{c.id}"

    # A loop can only be written by hand, but must not hang the request.
    c.merged_into_id, c.status = b.id, ListingStatus.closed
    session.add(c)
    await session.flush()
    assert (await visitor.get(f"/api/v1/opportunities/{b.id}")).status_code == 404
