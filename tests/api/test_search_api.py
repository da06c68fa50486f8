from datetime import date, timedelta

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login


async def _publish_listings(session):
    department = await create_organisation(session, name="江西省农业农村厅（搜索测试）")
    enterprise = await create_organisation(session, kind="enterprise", name="赣南果业物联网科技有限公司")
    farm = await create_opportunity(
        session,
        department,
        title="赣南脐橙智慧农业物联网监测",
        description="在贛州建設果園墒情与病虫害監測網絡，推動數(shù)字農業",
        region_code="360702",
        tracks=["smart_agriculture", "iot"],
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=30),
    )
    vr = await create_opportunity(
        session,
        department,
        title="VR+教育 实训教室建设",
        description="职业院校虚拟现实实训",
        region_code="360100",
        tracks=["vr"],
        status=ListingStatus.published,
    )
    draft = await create_opportunity(session, department, title="智慧农业内部草稿", tracks=["smart_agriculture"])
    offering = await create_offering(
        session,
        enterprise,
        title="果园物联网墒情监测终端",
        description="土壤墒情、气象与虫情一体化监测，适用于脐橙果园",
        region_code="360700",
        tracks=["smart_agriculture", "iot"],
        status=ListingStatus.published,
    )
    unrelated = await create_offering(
        session,
        enterprise,
        title="企业财务共享云平台",
        description="集团财务报销与核算",
        region_code="360100",
        tracks=["software_it_services"],
        status=ListingStatus.published,
    )
    return department, enterprise, farm, vr, draft, offering, unrelated


async def test_search_finds_traditional_text_with_a_simplified_query(client, session, sync_index):
    _, _, farm, *_ = await _publish_listings(session)
    await sync_index()
    response = await client.get("/api/v1/search", params={"q": "数字农业", "kind": "opportunity"})
    assert response.status_code == 200, response.text
    assert [h["id"] for h in response.json()["hits"]] == [farm.id]


async def test_search_highlights_and_counts_facets(client, session, sync_index):
    await _publish_listings(session)
    await sync_index()
    body = (await client.get("/api/v1/search", params={"q": "智慧农业"})).json()
    assert body["total"] >= 2
    assert any("<mark>" in h["title_html"] for h in body["hits"])
    tracks = {f["value"]: f["count"] for f in body["facets"]["track"]}
    assert tracks.get("smart_agriculture") == body["total"]
    regions = {f["value"]: f["label"] for f in body["facets"]["region"]}
    assert regions.get("360700") == "赣州市"


async def test_visitor_search_never_returns_drafts_or_contact(client, session, sync_index):
    *_, draft, _, _ = await _publish_listings(session)
    await sync_index()
    body = (await client.get("/api/v1/search", params={"q": "智慧农业", "status": "draft"})).json()
    assert draft.id not in [h["id"] for h in body["hits"] if h["kind"] == "opportunity"]
    assert all(h["listing"]["contact"] is None for h in body["hits"])
    assert "内部草稿" not in str(body)


async def test_matchmaker_can_search_drafts(client, session, sync_index):
    *_, draft, _, _ = await _publish_listings(session)
    await sync_index()
    await login(client, await create_user(session, role=Role.matchmaker))
    body = (await client.get("/api/v1/search", params={"q": "内部草稿", "status": "draft"})).json()
    assert [h["id"] for h in body["hits"]] == [draft.id]


async def test_city_filter_covers_its_counties(client, session, sync_index):
    _, _, farm, *_ = await _publish_listings(session)
    await sync_index()
    body = (await client.get("/api/v1/search", params={"kind": "opportunity", "region": "360700"})).json()
    assert [h["id"] for h in body["hits"]] == [farm.id]


async def test_empty_query_lists_newest_and_stop_words_give_nothing(client, session, sync_index):
    await _publish_listings(session)
    await sync_index()
    listed = (await client.get("/api/v1/search", params={"kind": "offering"})).json()
    assert listed["total"] == 2
    nothing = await client.get("/api/v1/search", params={"q": "的 了 ，。！"})
    assert nothing.status_code == 200 and nothing.json()["total"] == 0


async def test_pinyin_and_synonym_queries(client, session, sync_index):
    _, _, farm, vr, *_ = await _publish_listings(session)
    await sync_index()
    pinyin = (await client.get("/api/v1/search", params={"q": "zhihuinongye", "kind": "opportunity"})).json()
    synonym = (await client.get("/api/v1/search", params={"q": "虚拟现实", "kind": "opportunity"})).json()
    assert farm.id in [h["id"] for h in pinyin["hits"]]
    assert vr.id in [h["id"] for h in synonym["hits"]]


async def test_bad_search_parameters_are_4xx(client):
    for params in ({"kind": "product"}, {"sort": "best"}, {"page_size": 500}, {"q": "x" * 201}):
        response = await client.get("/api/v1/search", params=params)
        assert response.status_code == 422, params


async def test_issuer_sees_ranked_matching_offerings_with_reasons(client, session, sync_index):
    department, _, farm, _, _, offering, unrelated = await _publish_listings(session)
    await sync_index()
    await login(client, await create_user(session, role=Role.issuer, organisation=department))
    response = await client.get(f"/api/v1/opportunities/{farm.id}/matches")
    assert response.status_code == 200, response.text
    matches = response.json()
    ids = [m["listing"]["id"] for m in matches]
    assert ids[0] == offering.id
    assert unrelated.id not in ids[:1]
    top = matches[0]["reasons"]
    assert set(top["shared_tracks"]) >= {"智慧农业", "物联网"}
    assert top["same_region"] is True and top["matched_terms"]


async def test_enterprise_sees_open_opportunities_for_its_offering(client, session, sync_index):
    _, enterprise, farm, _, draft, offering, _ = await _publish_listings(session)
    await sync_index()
    await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    matches = (await client.get(f"/api/v1/offerings/{offering.id}/matches")).json()
    ids = [m["listing"]["id"] for m in matches]
    assert ids[0] == farm.id and draft.id not in ids


async def test_matches_are_private_to_the_owner_and_staff(client, make_client, session, sync_index):
    _, _, farm, *_ = await _publish_listings(session)
    await sync_index()
    assert (await client.get(f"/api/v1/opportunities/{farm.id}/matches")).status_code == 401
    outsider = await create_organisation(session)
    other = await login(make_client(), await create_user(session, role=Role.issuer, organisation=outsider))
    assert (await other.get(f"/api/v1/opportunities/{farm.id}/matches")).status_code == 403


async def test_dismissed_suggestion_does_not_come_back(client, session, sync_index):
    _, _, farm, _, _, offering, _ = await _publish_listings(session)
    await sync_index()
    await login(client, await create_user(session, role=Role.matchmaker))
    before = [m["listing"]["id"] for m in (await client.get(f"/api/v1/opportunities/{farm.id}/matches")).json()]
    assert offering.id in before

    decided = await client.post(
        "/api/v1/matches/decisions",
        json={"opportunity_id": farm.id, "offering_id": offering.id, "verdict": "dismissed", "reason": "已有合作"},
    )
    assert decided.status_code == 200

    after = [m["listing"]["id"] for m in (await client.get(f"/api/v1/opportunities/{farm.id}/matches")).json()]
    reverse = [m["listing"]["id"] for m in (await client.get(f"/api/v1/offerings/{offering.id}/matches")).json()]
    assert offering.id not in after and farm.id not in reverse


async def test_accepted_suggestion_is_marked(client, session, sync_index):
    _, _, farm, _, _, offering, _ = await _publish_listings(session)
    await sync_index()
    await login(client, await create_user(session, role=Role.matchmaker))
    await client.post(
        "/api/v1/matches/decisions", json={"opportunity_id": farm.id, "offering_id": offering.id, "verdict": "accepted"}
    )
    matches = (await client.get(f"/api/v1/opportunities/{farm.id}/matches")).json()
    assert [m["accepted"] for m in matches if m["listing"]["id"] == offering.id] == [True]


async def test_only_matchmakers_decide_on_suggestions(client, session):
    department = await create_organisation(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=department))
    response = await client.post(
        "/api/v1/matches/decisions", json={"opportunity_id": 1, "offering_id": 1, "verdict": "dismissed"}
    )
    assert response.status_code == 403


async def test_a_visitor_sees_a_listing_as_it_is_now_though_the_process_keeps_visitors_hits(
    make_client, session, connection, sync_index
):
    """Visitors' hits are kept by the process (backend/listings/public_cache.py): a repeat search
    loads and presents nothing again, and a change to a listing shows at the visitor's next search."""
    from sqlalchemy import event

    _, _, farm, *_ = await _publish_listings(session)
    await sync_index()
    visitor, staff = make_client(), make_client()
    await login(staff, await create_user(session, role=Role.matchmaker))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        first = await visitor.get("/api/v1/search", params={"q": "脐橙", "kind": "opportunity"})
        on_first = len(statements)
        again = await visitor.get("/api/v1/search", params={"q": "脐橙", "kind": "opportunity"})
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)
    assert first.json()["hits"] == again.json()["hits"]
    assert first.json()["hits"][0]["listing"]["id"] == farm.id
    # The repeat reads only the outbox's change stamp: no rows, organisations, tracks or domains.
    assert [q for q in statements[:on_first] if q.startswith("SELECT") and "FROM opportunity" in q]
    repeat = [q for q in statements[on_first:] if q.startswith("SELECT")]
    assert repeat and all("FROM outbox_event" in q for q in repeat)

    edited = await staff.patch(f"/api/v1/opportunities/{farm.id}", json={"description": "脐橙果园黄龙病早期识别"})
    assert edited.status_code == 200, edited.text
    await sync_index()
    now = (await visitor.get("/api/v1/search", params={"q": "脐橙", "kind": "opportunity"})).json()
    assert now["hits"][0]["listing"]["description"] == "脐橙果园黄龙病早期识别"
    # Signed-in people are never served from it: the matchmaker sees the draft-only fields too.
    mine = (await staff.get("/api/v1/search", params={"q": "脐橙", "kind": "opportunity"})).json()
    assert mine["hits"][0]["listing"]["contact"] is not None
