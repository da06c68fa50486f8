"""The matchmakers' desk: review queue, send back with a reason, bulk import report."""

import json
from datetime import date

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in


async def _matchmaker(client, session):
    user = await create_user(session, role=Role.matchmaker)
    await sign_in(client, user.email, PASSWORD)
    return user


async def test_the_queue_lists_submissions_and_publishing_makes_them_public(client, make_client, session):
    await _matchmaker(client, session)
    pending = await create_opportunity(
        session, await create_organisation(session), title="待审核的鹰潭物联网场景", status=ListingStatus.pending_review
    )
    queue = (await client.get("/review")).text
    assert "待审核的鹰潭物联网场景" in queue and 'name="reason"' in queue and 'name="batch_number"' in queue

    response = await post_form(
        client, f"/review/opportunities/{pending.id}/publish", {"batch_number": "3"}, token_from="/review"
    )
    assert response.status_code == 303
    assert "已发布" in (await client.get(response.headers["location"])).text
    visitor = make_client()
    assert "待审核的鹰潭物联网场景" in (await visitor.get("/opportunities")).text
    # Its batch becomes public only with the batch (issue 12: no "第3批" while /batches says it is unpublished).
    assert "待审核的鹰潭物联网场景" not in (await visitor.get("/opportunities", params={"batch": 3})).text
    assert (await client.post("/api/v1/batches/3/publish")).status_code == 200
    public = (await visitor.get("/opportunities", params={"batch": 3})).text
    assert "待审核的鹰潭物联网场景" in public


async def test_sending_back_needs_a_reason_and_the_issuer_sees_it(client, make_client, session):
    await _matchmaker(client, session)
    organisation = await create_organisation(session)
    pending = await create_opportunity(session, organisation, status=ListingStatus.pending_review)
    refused = await post_form(
        client, f"/review/opportunities/{pending.id}/return", {"reason": ""}, token_from="/review"
    )
    assert refused.status_code == 422 and "退回时请填写原因" in refused.text

    response = await post_form(
        client, f"/review/opportunities/{pending.id}/return", {"reason": "请补充预算"}, token_from="/review"
    )
    assert response.status_code == 303
    issuer = make_client()
    await sign_in(issuer, (await create_user(session, role=Role.issuer, organisation=organisation)).email, PASSWORD)
    assert "退回原因：请补充预算" in (await issuer.get("/workspace/opportunities")).text


async def test_publishing_twice_is_explained_not_an_error_page(client, session):
    await _matchmaker(client, session)
    published = await create_opportunity(session, await create_organisation(session), status=ListingStatus.published)
    response = await post_form(client, f"/review/opportunities/{published.id}/publish", {}, token_from="/review")
    assert response.status_code == 409 and "只有草稿或待审核的内容可以发布" in response.text


async def test_an_issuer_cannot_open_the_review_queue(client, session):
    organisation = await create_organisation(session)
    await sign_in(client, (await create_user(session, role=Role.issuer, organisation=organisation)).email, PASSWORD)
    assert (await client.get("/review")).status_code == 403
    assert (await client.get("/review/import")).status_code == 403


async def test_bulk_import_reports_each_bad_row_and_keeps_the_good_ones(client, session):
    await _matchmaker(client, session)
    lines = [
        {
            "kind": "opportunity",
            "title": "导入测试场景一",
            "organisation": "导入测试单位",
            "region": "上饶市",
            "description": "一",
        },
        {"kind": "opportunity", "title": "", "organisation": "导入测试单位"},
        {"kind": "offering", "title": "导入测试产品", "organisation": "导入测试企业", "credit_code": "123"},
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    page = (await client.get("/review/import")).text
    assert 'name="file"' in page and 'enctype="multipart/form-data"' in page
    response = await post_form(
        client,
        "/review/import",
        {"publish": "on"},
        token_from="/review/import",
        files={"file": ("listings.jsonl", data, "application/jsonl")},
    )
    assert response.status_code == 200
    html = response.text
    assert "导入结果：listings.jsonl" in html
    assert "第 2 行" in html and "第 3 行" in html
    assert "统一社会信用代码" in html
    assert "<strong>1</strong><span>新增</span>" in html


async def test_an_unreadable_import_file_is_explained(client, session):
    await _matchmaker(client, session)
    response = await post_form(
        client,
        "/review/import",
        {},
        token_from="/review/import",
        files={"file": ("listings.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert response.status_code == 422
    assert 'class="notice notice-error"' in response.text


async def test_matchmaker_accepts_one_suggestion_and_dismisses_another(client, session, sync_index):
    from sqlmodel import select

    from backend.pairings.models import Pairing
    from tests.factories import create_offering

    await _matchmaker(client, session)
    bureau = await create_organisation(session, name="赣州市农业农村局（推荐测试）")
    opportunity = await create_opportunity(
        session,
        bureau,
        title="赣南脐橙果园物联网墒情监测",
        description="果园土壤墒情与虫情监测",
        region_code="360700",
        tracks=["smart_agriculture", "iot"],
        status=ListingStatus.published,
    )
    enterprise = await create_organisation(session, kind="enterprise")
    sensor = await create_offering(
        session,
        enterprise,
        title="果园物联网墒情监测终端",
        description="土壤墒情与虫情一体化监测",
        region_code="360700",
        tracks=["smart_agriculture", "iot"],
        status=ListingStatus.published,
    )
    drone = await create_offering(
        session,
        enterprise,
        title="果园植保无人机",
        description="脐橙果园病虫害飞防",
        region_code="360700",
        tracks=["smart_agriculture", "drones"],
        status=ListingStatus.published,
    )
    await sync_index()
    page = (await client.get("/review/matches")).text
    assert 'data-matches="on"' in page and "果园物联网墒情监测终端" in page and "赣南脐橙果园物联网墒情监测" in page

    accepted = await post_form(
        client,
        "/review/matches/decide",
        {
            "opportunity_id": opportunity.id,
            "offering_id": sensor.id,
            "verdict": "accepted",
            "next": f"/opportunities/{opportunity.id}",
        },
        token_from="/review/matches",
    )
    assert accepted.status_code == 303
    assert (
        accepted.headers["location"]
        == f"/opportunities/{opportunity.id}?done=accepted&opportunity_id={opportunity.id}&offering_id={sensor.id}"
    )
    pairing = (await session.exec(select(Pairing).where(Pairing.opportunity_id == opportunity.id))).one()
    assert pairing.offering_id == sensor.id and pairing.stage == "recommended"
    # Back on the opportunity the matchmaker is told it worked, and the accepted suggestion no longer
    # offers 采纳 again (a second click was refused on a bare error page): it links to the pairing.
    back = (await client.get(accepted.headers["location"])).text
    assert "已采纳，已创建“推荐”阶段的对接。" in back
    cards = [chunk.split("</ol>")[0] for chunk in back.split('<li class="card">')[1:]]
    accepted_card = next(card for card in cards if "果园物联网墒情监测终端" in card)
    assert "采纳并创建对接" not in accepted_card and f"/pairings?opportunity={opportunity.id}" in accepted_card

    dismissed = await post_form(
        client,
        "/review/matches/decide",
        {
            "opportunity_id": opportunity.id,
            "offering_id": drone.id,
            "verdict": "dismissed",
            "confirm": "yes",
            "next": "https://evil.example/",
        },
        token_from="/review/matches",
    )
    assert (
        dismissed.headers["location"]
        == f"/review/matches?done=dismissed&opportunity_id={opportunity.id}&offering_id={drone.id}"
    )
    detail = (await client.get(f"/opportunities/{opportunity.id}")).text
    assert "果园植保无人机" not in detail and "撮合专员已采纳" in detail
    # The dismissal can be taken back: the suggestion comes back.
    undone = await post_form(
        client,
        "/review/matches/undo",
        {"opportunity_id": opportunity.id, "offering_id": drone.id, "next": f"/opportunities/{opportunity.id}#x"},
        token_from="/review/matches",
    )
    assert (
        undone.headers["location"] == f"/opportunities/{opportunity.id}?done=restored&opportunity_id={opportunity.id}#x"
    )
    assert "果园植保无人机" in (await client.get(f"/opportunities/{opportunity.id}")).text


async def test_deciding_a_suggestion_needs_the_form_token(client, session):
    await _matchmaker(client, session)
    response = await client.post(
        "/review/matches/decide", data={"opportunity_id": 1, "offering_id": 1, "verdict": "dismissed"}
    )
    assert response.status_code == 403


async def test_queue_cards_carry_what_the_reviewer_checks(client, session):
    await _matchmaker(client, session)
    await create_opportunity(
        session,
        await create_organisation(session),
        title="待审的预算场景",
        budget_text="300-500万元",
        deadline=date(2027, 3, 1),
        tracks=["iot"],
        contact="王工 0791-12345678",
        status=ListingStatus.pending_review,
    )
    queue = (await client.get("/review")).text
    card = queue[queue.index("待审的预算场景") :][:3000]
    for shown in ("300-500万元", "2027年3月1日", "南昌市", "物联网", "王工 0791-12345678"):
        assert shown in card, shown
