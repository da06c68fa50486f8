"""Pages of issue 12: changes after publication, confirmations before irreversible actions, event status buttons."""

import re
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from backend.answers.models import Answer
from backend.auth.models import Role
from backend.kit.china_time import china_today
from backend.listings.models import ListingStatus, Opportunity
from backend.taxonomy.models import Batch
from tests.factories import PASSWORD, create_offering, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def test_publishing_a_batch_needs_the_confirmation_box(make_client, session):
    staff = await _as(make_client, await create_user(session, role=Role.matchmaker))
    department = await create_organisation(session, name="抚州市数据局（确认测试）")
    pending = await create_opportunity(
        session, department, title="抚州智慧农业场景", status=ListingStatus.pending_review
    )
    queue = (await staff.get("/review")).text
    # The batch is chosen from a list; with no open batch the next new one is preselected.
    assert re.search(r'<option value="1" selected>新建第1批</option>', queue)
    await post_form(staff, f"/review/opportunities/{pending.id}/publish", {"batch_number": "1"}, token_from="/review")
    page = (await staff.get("/batches/1")).text
    assert 'name="confirm"' in page and "required" in page

    refused = await post_form(staff, "/batches/1/publish", {}, token_from="/batches/1")
    assert refused.status_code == 422 and "请勾选确认" in refused.text
    batch = (await session.exec(select(Batch).where(Batch.number == 1))).one()
    await session.refresh(batch)
    assert batch.published_at is None
    # The next open batch is now preselected in the review queue.
    other = await create_opportunity(session, department, title="抚州文旅场景", status=ListingStatus.pending_review)
    queue = (await staff.get("/review")).text
    assert "抚州文旅场景" in queue and re.search(r'<option value="1" selected>第1批（未发布）</option>', queue)
    assert other.id
    done = await post_form(staff, "/batches/1/publish", {"confirm": "yes"}, token_from="/batches/1")
    assert done.status_code == 303


async def test_dismissing_a_match_and_merging_need_the_confirmation_box(make_client, session):
    staff = await _as(make_client, await create_user(session, role=Role.matchmaker))
    department = await create_organisation(session, name="萍乡市数据局（确认测试）")
    a = await create_opportunity(session, department, title="萍乡城市生命线", status=ListingStatus.published)
    b = await create_opportunity(session, department, title="萍乡城市生命线监测", status=ListingStatus.published)
    enterprise = await create_organisation(session, kind="enterprise")
    offering = await create_offering(session, enterprise, status=ListingStatus.published)

    dismissed = await post_form(
        staff,
        "/review/matches/decide",
        {"opportunity_id": str(a.id), "offering_id": str(offering.id), "verdict": "dismissed"},
        token_from="/review",
    )
    assert dismissed.status_code == 422 and "确认忽略" in dismissed.text

    merge = {"kind": "opportunity", "first_id": str(a.id), "second_id": str(b.id), "keep_id": str(a.id)}
    refused = await post_form(staff, "/review/duplicates/merge", merge, token_from="/review/duplicates")
    assert refused.status_code == 422 and "确认合并" in refused.text
    await session.refresh(b)
    assert b.merged_into_id is None and b.status == ListingStatus.published


async def test_submitting_an_answer_needs_the_confirmation_box(make_client, session):
    department = await create_organisation(session, name="新余市数据局（确认测试）")
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=20)
    )
    company = await create_organisation(session, kind="enterprise", name="新余锂电数字科技有限公司")
    writer = await create_user(session, role=Role.enterprise, organisation=company, display_name="答题联系人丙")
    enterprise = await _as(make_client, writer)
    created = await post_form(
        enterprise,
        f"/opportunities/{opportunity.id}/answer",
        {
            "title": "锂电产线数字化方案",
            "summary": "产线数据采集与质量追溯",
            "solution": "分两期",
            "price_text": "面议",
        },
    )
    answer_id = int(re.match(r"/answers/(\d+)", created.headers["location"]).group(1))
    page = (await enterprise.get(f"/answers/{answer_id}")).text
    assert 'name="confirm"' in page and "提交后不能再修改" in page
    refused = await post_form(enterprise, f"/answers/{answer_id}/submit", {}, token_from=f"/answers/{answer_id}")
    assert refused.status_code == 422 and "请勾选确认" in refused.text
    assert (await session.get(Answer, answer_id)).status == "draft"
    submitted = await post_form(
        enterprise, f"/answers/{answer_id}/submit", {"confirm": "yes"}, token_from=f"/answers/{answer_id}"
    )
    assert submitted.status_code == 303
    # The answerer gets a receipt number: the China date of submission and the answer's number.
    receipt = f"DT-{china_today():%Y%m%d}-{answer_id:06d}"
    landed = (await enterprise.get(submitted.headers["location"])).text
    assert f"答题已提交，回执编号 {receipt}" in landed and f"回执编号 <strong>{receipt}</strong>" in landed
    assert (await enterprise.get(f"/api/v1/answers/{answer_id}")).json()["receipt_number"] == receipt
    # The issuer sees who to contact about the answer.
    issuer = await _as(make_client, await create_user(session, role=Role.issuer, organisation=department))
    seen = (await issuer.get(f"/answers/{answer_id}")).text
    assert "联系人：答题联系人丙" in seen and writer.email in seen


async def test_event_status_buttons_follow_the_real_state_and_closing_needs_confirmation(make_client, session):
    staff = await _as(make_client, await create_user(session, role=Role.matchmaker))
    department = await create_organisation(session, name="宜春市数据局（活动状态）")
    host = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(session, department, status=ListingStatus.published, created_by_id=host.id)
    starts = datetime.now(UTC) + timedelta(days=7)
    created = await staff.post(
        "/api/v1/events",
        json={
            "title": "宜春对接会",
            "kind": "matchmaking",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "place": "宜春市",
            "capacity": 5,
            "slot_minutes": 30,
            "meeting_limit": 2,
        },
    )
    event_id = created.json()["id"]
    manage = f"/review/events/{event_id}"
    page = (await staff.get(manage)).text
    assert "请先选择推介机会，再开放报名" in page and 'value="open"' not in page
    refused = await post_form(staff, f"{manage}/status", {"status": "open"}, token_from=manage)
    assert refused.status_code == 409 and "请先选择推介机会" in refused.text

    await staff.put(f"/api/v1/events/{event_id}/opportunities", json={"opportunity_ids": [opportunity.id]})
    assert (await post_form(staff, f"{manage}/status", {"status": "open"}, token_from=manage)).status_code == 303
    page = (await staff.get(manage)).text
    assert 'value="closed"' in page and 'value="finished"' not in page and "活动尚未开始，不能标记为已结束" in page

    unconfirmed = await post_form(staff, f"{manage}/status", {"status": "closed"}, token_from=manage)
    assert unconfirmed.status_code == 422 and "请勾选确认" in unconfirmed.text
    assert (await staff.get(f"/api/v1/events/{event_id}")).json()["status"] == "open"
    closed = await post_form(staff, f"{manage}/status", {"status": "closed", "confirm": "yes"}, token_from=manage)
    assert closed.status_code == 303


async def test_owner_requests_an_edit_and_withdraws_through_the_pages(make_client, session):
    department = await create_organisation(session, name="景德镇市数据局（变更页面）")
    owner = await _as(make_client, await create_user(session, role=Role.issuer, organisation=department))
    listing = await create_opportunity(session, department, title="陶瓷窑炉监测", status=ListingStatus.published)
    edit_path = f"/workspace/opportunities/{listing.id}/edit"
    form_page = (await owner.get(edit_path)).text
    assert "修改申请" in form_page and 'name="revision_note"' in form_page
    requested = await post_form(
        owner,
        edit_path,
        {"title": "陶瓷窑炉智能监测（扩容）", "description": listing.description, "revision_note": "扩大到三个窑区"},
    )
    assert requested.status_code == 303 and "done=requested" in requested.headers["location"]
    visitor = make_client()
    public = (await visitor.get(f"/opportunities/{listing.id}")).text
    assert "陶瓷窑炉监测" in public and "扩容" not in public
    changes_page = (await owner.get(f"/workspace/opportunities/{listing.id}/changes")).text
    assert "待审核的修改申请" in changes_page and "陶瓷窑炉智能监测（扩容）" in changes_page

    staff = await _as(make_client, await create_user(session, role=Role.matchmaker))
    queue = (await staff.get("/review")).text
    assert "已发布内容的修改申请" in queue and "陶瓷窑炉智能监测（扩容）" in queue and "扩大到三个窑区" in queue
    revision_id = int(re.search(r"/review/revisions/(\d+)/approve", queue).group(1))
    approved = await post_form(staff, f"/review/revisions/{revision_id}/approve", {}, token_from="/review")
    assert approved.status_code == 303
    assert "陶瓷窑炉智能监测（扩容）" in (await visitor.get(f"/opportunities/{listing.id}")).text

    withdraw_path = f"/workspace/opportunities/{listing.id}/withdraw"
    changes_path = f"/workspace/opportunities/{listing.id}/changes"
    unconfirmed = await post_form(owner, withdraw_path, {"reason": "场景已由其他项目覆盖"}, token_from=changes_path)
    assert unconfirmed.status_code == 422
    withdrawn = await post_form(
        owner, withdraw_path, {"reason": "场景已由其他项目覆盖", "confirm": "yes"}, token_from=changes_path
    )
    assert withdrawn.status_code == 303
    public = (await visitor.get(f"/opportunities/{listing.id}")).text
    assert "已撤回" in public and "场景已由其他项目覆盖" in public
    assert (await session.get(Opportunity, listing.id, populate_existing=True)).status == ListingStatus.withdrawn
