"""The batch pages (第N批 with 新增 / 变更 / 撤回), the similar-opportunities box and /review/duplicates."""

import re

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from backend.organisations.models import OrganisationKind
from tests.factories import PASSWORD, create_offering, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in

LIFELINE = "面向燃气、供水、桥梁的城市生命线安全监测，需提供感知终端、监测预警平台与应急联动。"


def _section(html: str, anchor: str) -> str:
    """The HTML of one section of a batch page."""
    match = re.search(rf'<section[^>]*id="{anchor}">(.*?)</section>', html, re.S)
    assert match, anchor
    return match.group(1)


async def _matchmaker(client, session):
    user = await create_user(session, role=Role.matchmaker)
    await sign_in(client, user.email, PASSWORD)
    return user


async def _two_batches(client, session):
    """Batch 1: 甲 and 乙; then 乙 is edited, 丙 is published into batch 2 and 甲 is closed."""
    department = await create_organisation(session, name="江西省数据局（批次页面）")
    a, b, c = [
        await create_opportunity(session, department, title=title, status=ListingStatus.pending_review)
        for title in ("甲：赣州脐橙溯源场景", "乙：九江港口数字孪生场景", "丙：景德镇陶瓷窑炉智能监测")
    ]
    for listing, batch in ((a, 1), (b, 1)):
        await post_form(
            client, f"/review/opportunities/{listing.id}/publish", {"batch_number": str(batch)}, token_from="/review"
        )
    published = await post_form(client, "/batches/1/publish", {"confirm": "yes"}, token_from="/batches/1")
    assert published.status_code == 303
    await client.patch(f"/api/v1/opportunities/{b.id}", json={"title": "乙：九江港口数字孪生场景（修订）"})
    await post_form(client, f"/review/opportunities/{c.id}/publish", {"batch_number": "2"}, token_from="/review")
    await client.post(f"/api/v1/opportunities/{a.id}/close")
    return a, b, c


async def test_the_batch_page_shows_added_changed_and_withdrawn_with_links(client, make_client, session):
    await _matchmaker(client, session)
    a, b, c = await _two_batches(client, session)
    visitor = make_client()

    page = await visitor.get("/batches/2")
    assert page.status_code == 200
    added, changed, withdrawn = (_section(page.text, s) for s in ("added", "changed", "withdrawn"))
    assert f'href="/opportunities/{c.id}"' in added and "丙：景德镇陶瓷窑炉智能监测" in added
    assert f'href="/opportunities/{b.id}"' in changed and "变更：标题" in changed
    # Withdrawn items are listed by title only: their pages are no longer public.
    assert "甲：赣州脐橙溯源场景" in withdrawn and f"/opportunities/{a.id}" not in withdrawn
    assert '与<a href="/batches/1">第1批</a>相比' in page.text and "发布第2批" not in page.text

    listing = (await visitor.get("/batches")).text
    assert 'href="/batches/2"' in listing and "尚未发布" in listing


async def test_a_matchmaker_publishes_a_batch_from_its_page(client, session):
    await _matchmaker(client, session)
    await _two_batches(client, session)
    page = (await client.get("/batches/2")).text
    assert "发布第2批" in page
    response = await post_form(client, "/batches/2/publish", {"confirm": "yes"}, token_from="/batches/2")
    assert response.status_code == 303
    after = (await client.get(response.headers["location"])).text
    assert "本批已发布" in after and 'action="/batches/2/publish"' not in after


async def test_publishing_a_batch_twice_is_explained_on_its_page(client, session):
    await _matchmaker(client, session)
    await _two_batches(client, session)
    assert (
        await post_form(client, "/batches/2/publish", {"confirm": "yes"}, token_from="/batches/2")
    ).status_code == 303
    again = await post_form(client, "/batches/2/publish", {"confirm": "yes"}, token_from="/batches/2")
    assert again.status_code == 409 and "第2批已经发布过" in again.text and "丙：景德镇陶瓷窑炉智能监测" in again.text


async def test_an_unknown_batch_is_a_chinese_404_page(client):
    response = await client.get("/batches/404")
    assert response.status_code == 404 and "第404批不存在" in response.text


async def _lifeline_pair(session):
    city = await create_organisation(session, name="南昌市城市管理局（页面查重）")
    province = await create_organisation(session, name="江西省住建厅（页面查重）")
    a = await create_opportunity(
        session,
        city,
        title="南昌市城市生命线安全监测场景",
        description=LIFELINE,
        tracks=["iot"],
        status=ListingStatus.published,
    )
    b = await create_opportunity(
        session,
        province,
        title="南昌城市生命線安全監測平台",
        tracks=["infosec_data_services"],
        description="面向燃气、供水管网和桥梁的城市生命线安全监测，提供感知终端与监测预警平台。",
        status=ListingStatus.published,
    )
    return city, a, b


async def test_the_new_opportunity_form_shows_similar_ones_above_it_without_javascript(client, session, sync_index):
    _city, a, _ = await _lifeline_pair(session)
    await sync_index()
    other = await create_organisation(session, name="九江市应急管理局（页面查重）")
    await sign_in(client, (await create_user(session, role=Role.issuer, organisation=other)).email, PASSWORD)

    blank = (await client.get("/workspace/opportunities/new")).text
    assert 'id="similar-box"' in blank and "查找相似机会" in blank and "相似的已有机会" not in blank

    response = await post_form(
        client,
        "/workspace/opportunities/similar",
        {"title": "城市生命线安全监测", "description": LIFELINE},
        token_from="/workspace/opportunities/new",
    )
    assert response.status_code == 200
    html = response.text
    assert "相似的已有机会" in html and f'href="/opportunities/{a.id}"' in html and "疑似重复" in html
    # The box is above the form, and what was typed is still in the form.
    assert html.index("相似的已有机会") < html.index('id="listing-form"')
    assert 'value="城市生命线安全监测"' in html


async def test_htmx_gets_only_the_box(client, session, sync_index):
    _, a, _ = await _lifeline_pair(session)
    await sync_index()
    other = await create_organisation(session)
    await sign_in(client, (await create_user(session, role=Role.issuer, organisation=other)).email, PASSWORD)
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', (await client.get("/workspace/opportunities/new")).text
    ).group(1)

    response = await client.post(
        "/workspace/opportunities/similar",
        data={"title": "南昌城市生命线监测", "description": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="listing-form"' not in response.text
    assert 'id="similar-box"' in response.text and f"/opportunities/{a.id}" in response.text

    empty = await client.post(
        "/workspace/opportunities/similar",
        data={"title": "", "description": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 200 and "请先填写标题或描述" in empty.text


async def test_matchmakers_merge_a_duplicate_pair_and_the_merged_page_points_to_the_kept_one(
    client, session, sync_index
):
    _, a, b = await _lifeline_pair(session)
    await sync_index()
    await _matchmaker(client, session)

    page = (await client.get("/review/duplicates")).text
    assert "南昌市城市生命线安全监测场景" in page and "南昌城市生命線安全監測平台" in page and "共同词语" in page
    assert f"保留 #{a.id}，把 #{b.id} 并入它" in page or f"保留 #{b.id}，把 #{a.id} 并入它" in page
    assert "不是重复" in page

    response = await post_form(
        client,
        "/review/duplicates/merge",
        {"first_id": str(a.id), "second_id": str(b.id), "keep_id": str(a.id), "confirm": "yes"},
        token_from="/review/duplicates",
    )
    assert response.status_code == 303
    assert "已合并" in (await client.get(response.headers["location"])).text

    merged_page = (await client.get(f"/opportunities/{b.id}")).text
    assert "已合并到" in merged_page and f'href="/opportunities/{a.id}"' in merged_page
    kept_page = (await client.get(f"/opportunities/{a.id}")).text
    assert "信息安全和数据服务" in kept_page  # B's track was added to A


async def test_merging_an_already_merged_pair_is_explained_on_the_duplicates_page(client, session, sync_index):
    _, a, b = await _lifeline_pair(session)
    await sync_index()
    await _matchmaker(client, session)
    form = {"first_id": str(a.id), "second_id": str(b.id), "keep_id": str(a.id), "confirm": "yes"}
    assert (
        await post_form(client, "/review/duplicates/merge", form, token_from="/review/duplicates")
    ).status_code == 303
    again = await post_form(client, "/review/duplicates/merge", form, token_from="/review/duplicates")
    assert again.status_code == 409 and f"#{b.id} 已经合并到 #{a.id}" in again.text
    same = await post_form(
        client,
        "/review/duplicates/dismiss",
        {"first_id": str(a.id), "second_id": str(a.id)},
        token_from="/review/duplicates",
    )
    assert same.status_code == 422 and "请选择两个不同的条目" in same.text


async def test_not_a_duplicate_removes_the_pair_from_the_page(client, session, sync_index):
    _, a, b = await _lifeline_pair(session)
    await sync_index()
    await _matchmaker(client, session)
    response = await post_form(
        client,
        "/review/duplicates/dismiss",
        {"first_id": str(a.id), "second_id": str(b.id)},
        token_from="/review/duplicates",
    )
    assert response.status_code == 303
    page = (await client.get(response.headers["location"])).text
    assert "不会再出现" in page and "南昌城市生命線安全監測平台" not in page


async def test_issuers_cannot_open_the_duplicates_desk(client, session):
    organisation = await create_organisation(session)
    await sign_in(client, (await create_user(session, role=Role.issuer, organisation=organisation)).email, PASSWORD)
    assert (await client.get("/review/duplicates")).status_code == 403
    forged = await client.post("/review/duplicates/merge", data={"first_id": "1", "second_id": "2", "keep_id": "1"})
    assert forged.status_code == 403


async def _merge(client, session, *, kind="opportunity", keep_status=ListingStatus.published):
    """B merged into A by the matchmaker signed in on `client`."""
    make = create_opportunity if kind == "opportunity" else create_offering
    org_kind = OrganisationKind.government if kind == "opportunity" else OrganisationKind.enterprise
    first, second = [await create_organisation(session, kind=org_kind) for _ in range(2)]
    a = await make(session, first, title="保留下来的条目（合并页面）", status=keep_status)
    b = await make(session, second, title="被并入的条目（合并页面）", status=ListingStatus.published)
    merged = await client.post("/api/v1/duplicates/merge", json={"kind": kind, "keep_id": a.id, "merge_id": b.id})
    assert merged.status_code == 200, merged.text
    return a, b


async def test_a_visitor_following_an_old_link_to_a_merged_listing_lands_on_the_kept_one(client, make_client, session):
    await _matchmaker(client, session)
    for kind, slug in (("opportunity", "opportunities"), ("offering", "offerings")):
        a, b = await _merge(client, session, kind=kind)
        visitor = make_client()
        response = await visitor.get(f"/{slug}/{b.id}")
        assert response.status_code == 301
        assert response.headers["location"] == f"/{slug}/{a.id}?merged_from={b.id}"
        assert response.headers["cache-control"] == "no-store"
        page = await visitor.get(f"/{slug}/{b.id}", follow_redirects=True)
        assert page.status_code == 200 and "保留下来的条目（合并页面）" in page.text
        assert f"您访问的条目 #{b.id} 已合并到本条目" in page.text


async def test_the_owner_and_matchmakers_still_see_the_merged_listing_with_its_note(client, make_client, session):
    await _matchmaker(client, session)
    a, b = await _merge(client, session)
    owner = make_client()
    await sign_in(
        owner, (await create_user(session, role=Role.issuer, organisation_id=b.organisation_id)).email, PASSWORD
    )
    for who in (client, owner):
        response = await who.get(f"/opportunities/{b.id}")
        assert response.status_code == 200
        assert "被并入的条目（合并页面）" in response.text and "已合并到" in response.text
        assert f'href="/opportunities/{a.id}"' in response.text and "您访问的条目" not in response.text
    # The same address sends a visitor on: the answer depends on who asks.
    assert (await make_client().get(f"/opportunities/{b.id}")).status_code == 301


async def test_a_listing_merged_into_an_unpublished_one_is_simply_not_found(client, make_client, session):
    await _matchmaker(client, session)
    visitor = make_client()

    async def assert_plain_404(target, merged):
        response = await visitor.get(f"/opportunities/{merged.id}")
        assert response.status_code == 404 and "location" not in response.headers
        assert "未找到" in response.text and "合并" not in response.text
        assert f"/opportunities/{target.id}" not in response.text and "保留下来的条目" not in response.text

    # Into a draft: nothing until the draft is published.
    draft_target, into_draft = await _merge(client, session, keep_status=ListingStatus.draft)
    await assert_plain_404(draft_target, into_draft)
    assert (await client.post(f"/api/v1/opportunities/{draft_target.id}/publish")).status_code == 200
    assert (await visitor.get(f"/opportunities/{into_draft.id}")).status_code == 301

    # Into a published listing that is later closed: the redirect stops with it.
    closed_target, into_closed = await _merge(client, session)
    assert (await visitor.get(f"/opportunities/{into_closed.id}")).status_code == 301
    assert (await client.post(f"/api/v1/opportunities/{closed_target.id}/close")).status_code == 200
    await assert_plain_404(closed_target, into_closed)


async def test_a_bad_or_forged_merged_from_parameter_shows_no_notice(client, make_client, session):
    await _matchmaker(client, session)
    a, b = await _merge(client, session)
    unrelated = await create_opportunity(session, await create_organisation(session), status=ListingStatus.published)
    visitor = make_client()
    genuine = await visitor.get(f"/opportunities/{a.id}", params={"merged_from": str(b.id)})
    assert genuine.status_code == 200 and f"您访问的条目 #{b.id} 已合并到本条目" in genuine.text
    for value in (
        "abc",
        "<script>",
        "0",
        "-3",
        "99999999999",
        f"{b.id}.5",
        f" {b.id}",
        "",
        str(unrelated.id),
        str(a.id),
    ):
        response = await visitor.get(f"/opportunities/{a.id}", params={"merged_from": value})
        assert response.status_code == 200, value
        assert "您访问的条目" not in response.text and "<script>" not in response.text, value
    # Pointing another listing at B shows nothing either: B was merged into A, not into it.
    response = await visitor.get(f"/opportunities/{unrelated.id}", params={"merged_from": str(b.id)})
    assert response.status_code == 200 and "您访问的条目" not in response.text


async def test_matchmakers_merge_duplicate_offerings_on_the_offerings_tab(client, session, sync_index):
    companies = [
        await create_organisation(session, name=name, kind=OrganisationKind.enterprise)
        for name in ("赣江感知科技有限公司", "洪城物联股份有限公司")
    ]
    a, b = [
        await create_offering(session, company, title=title, description=LIFELINE, status=ListingStatus.published)
        for company, title in zip(companies, ("城市生命线安全监测平台", "城市生命線安全監測系統"), strict=True)
    ]
    opportunity_side = await create_opportunity(
        session, await create_organisation(session), title="景德镇陶瓷窑炉智能监测"
    )
    await sync_index()
    await _matchmaker(client, session)

    page = await client.get("/review/duplicates?kind=offering")
    assert page.status_code == 200
    assert "疑似重复的产品" in page.text and "城市生命線安全監測系統" in page.text
    assert f'href="/offerings/{a.id}"' in page.text and opportunity_side.title not in page.text
    assert "暂无疑似重复的机会" in (await client.get("/review/duplicates")).text

    response = await post_form(
        client,
        "/review/duplicates/merge",
        {"kind": "offering", "first_id": str(a.id), "second_id": str(b.id), "keep_id": str(a.id), "confirm": "yes"},
        token_from="/review/duplicates?kind=offering",
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/review/duplicates?kind=offering")
    after = (await client.get(response.headers["location"])).text
    assert "已合并" in after and "城市生命線安全監測系統" not in after
    merged = (await client.get(f"/api/v1/offerings/{b.id}")).json()
    assert merged["status"] == "withdrawn" and merged["merged_into_id"] == a.id
