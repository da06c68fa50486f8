"""Event pages: a matchmaker sets up an event and its schedule; an enterprise registers, picks slots and answers meetings."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import select

from backend.auth.models import Role
from backend.events.models import Event, Meeting
from backend.listings.models import ListingStatus
from tests.factories import PASSWORD, create_offering, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in

# Ten days ahead, 14:00 Beijing time, as a datetime-local input carries it.
LOCAL = (
    (datetime.now(UTC) + timedelta(days=10))
    .astimezone(ZoneInfo("Asia/Shanghai"))
    .replace(hour=14, minute=0, second=0, microsecond=0)
)

# What the registration form asks for (issue 12): who attends, how many, whom to meet.
ATTENDING = {"attendee_name": "周工", "attendee_phone": "13907910000", "head_count": "2"}


async def _signed_in(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def _event_with_people(session, make_client, sync_index):
    staff_user = await create_user(session, role=Role.matchmaker)
    staff = await _signed_in(make_client, staff_user)
    department = await create_organisation(session, name="九江市工业和信息化局（活动页面）")
    host = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session, department, title="长江岸线智慧巡检", status=ListingStatus.published, created_by_id=host.id
    )
    company = await create_organisation(session, kind="enterprise", name="浔阳无人机巡检科技有限公司")
    enterprise_user = await create_user(session, role=Role.enterprise, organisation=company)
    await create_offering(session, company, title="无人机岸线巡检系统", status=ListingStatus.published)
    await sync_index()

    created = await post_form(
        staff,
        "/review/events/new",
        {
            "title": "九江场景沙龙·智慧巡检专场",
            "kind": "salon",
            "description": "长江岸线巡检场景推介",
            "starts_at": LOCAL.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (LOCAL + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "place": "九江市八里湖新区会议中心",
            "online_link": "",
            "capacity": "10",
            "slot_minutes": "20",
            "meeting_limit": "2",
        },
    )
    assert created.status_code == 303, created.text
    manage_path = created.headers["location"].split("?")[0]
    event_id = int(manage_path.rsplit("/", 1)[1])
    featured = await post_form(
        staff, f"{manage_path}/opportunities", {"opportunity_ids": [str(opportunity.id)]}, token_from=manage_path
    )
    assert featured.status_code == 303
    opened = await post_form(staff, f"{manage_path}/status", {"status": "open"}, token_from=manage_path)
    assert opened.status_code == 303
    return staff, event_id, manage_path, host, await _signed_in(make_client, enterprise_user)


async def test_an_enterprise_registers_picks_slots_and_accepts_its_meeting(make_client, session, sync_index):
    staff, event_id, manage_path, host, enterprise = await _event_with_people(session, make_client, sync_index)
    listing = (await make_client().get("/events")).text
    assert "九江场景沙龙·智慧巡检专场" in listing and "场景沙龙" in listing and "报名中" in listing

    detail = (await enterprise.get(f"/events/{event_id}")).text
    assert "长江岸线智慧巡检" in detail and "14:00" in detail and "报名参加" in detail
    registered = await post_form(
        enterprise, f"/events/{event_id}/register", ATTENDING, token_from=f"/events/{event_id}"
    )
    assert registered.status_code == 303
    page = (await enterprise.get(registered.headers["location"])).text
    assert "报名成功" in page and 'name="slots"' in page and "14:20–14:40" in page

    saved = await post_form(
        enterprise, f"/events/{event_id}/availability", {"slots": ["1", "2"]}, token_from=f"/events/{event_id}"
    )
    assert saved.status_code == 303
    page = (await enterprise.get(f"/events/{event_id}")).text
    assert re.search(r'value="0"\s*>', page) and re.search(r'value="1" checked', page)

    proposed = await post_form(staff, f"{manage_path}/propose", {}, token_from=manage_path)
    assert proposed.status_code == 303
    schedule = (await staff.get(manage_path)).text
    assert "浔阳无人机巡检科技有限公司" in schedule and "schedule-grid" in schedule and "待确认" in schedule

    mine = (await enterprise.get("/workspace/events")).text
    assert "长江岸线智慧巡检" in mine and "14:20–14:40" in mine and "calendar.ics" in mine
    meeting_id = re.search(r"/meetings/(\d+)/reply", mine).group(1)
    accepted = await post_form(
        enterprise,
        f"/events/{event_id}/meetings/{meeting_id}/reply",
        {"reply": "accepted"},
        token_from="/workspace/events",
    )
    assert accepted.status_code == 303
    assert "我：接受；对方：未答复" in (await enterprise.get("/workspace/events")).text
    host_client = await _signed_in(make_client, host)
    assert "浔阳无人机巡检科技有限公司" in (await host_client.get("/workspace/events")).text


async def test_after_the_event_the_matchmaker_records_an_outcome_that_opens_a_pairing(make_client, session, sync_index):
    staff, event_id, manage_path, host, enterprise = await _event_with_people(session, make_client, sync_index)
    await post_form(enterprise, f"/events/{event_id}/register", ATTENDING, token_from=f"/events/{event_id}")
    await post_form(staff, f"{manage_path}/propose", {}, token_from=manage_path)
    host_client = await _signed_in(make_client, host)
    for side in (enterprise, host_client):
        mine = (await side.get("/workspace/events")).text
        meeting_id = re.search(r"/meetings/(\d+)/reply", mine).group(1)
        await post_form(
            side,
            f"/events/{event_id}/meetings/{meeting_id}/reply",
            {"reply": "accepted"},
            token_from="/workspace/events",
        )
    await session.exec(
        update(Event)
        .where(Event.id == event_id)
        .values(starts_at=datetime.now(UTC) - timedelta(hours=2), ends_at=datetime.now(UTC) - timedelta(hours=1))
    )
    finished = await post_form(
        staff, f"{manage_path}/status", {"status": "finished", "confirm": "yes"}, token_from=manage_path
    )
    assert finished.status_code == 303

    page = (await staff.get(manage_path)).text
    assert "洽谈成效" in page and "创建对接" in page
    recorded = await post_form(
        staff,
        f"{manage_path}/meetings/{meeting_id}/outcome",
        {"result": "intent", "note": "约定现场踏勘", "create_pairing": "on"},
        token_from=manage_path,
    )
    assert recorded.status_code == 303
    page = (await staff.get(manage_path)).text
    assert "已记录：有合作意向" in page and re.search(r'href="/pairings/\d+"', page)


async def test_late_registration_shows_a_message_and_strangers_cannot_manage(make_client, session, sync_index):
    staff, event_id, manage_path, _, enterprise = await _event_with_people(session, make_client, sync_index)
    await post_form(staff, f"{manage_path}/status", {"status": "closed", "confirm": "yes"}, token_from=manage_path)
    page = (await enterprise.get(f"/events/{event_id}")).text
    assert "报名参加" not in page and "报名已截止" in page
    assert (await enterprise.get(manage_path)).status_code == 403
    assert (await enterprise.get("/review/events/new")).status_code == 403


async def test_a_refused_proposal_keeps_the_existing_schedule(app, make_client, session, sync_index):
    """Proposing again drops the unanswered meetings before asking the search engine; when the engine is down
    the page explains it, and the dropped meetings must not be committed as gone."""
    from search import SearchUnavailable

    staff, event_id, manage_path, _, enterprise = await _event_with_people(session, make_client, sync_index)
    await post_form(enterprise, f"/events/{event_id}/register", ATTENDING, token_from=f"/events/{event_id}")
    assert (await post_form(staff, f"{manage_path}/propose", {}, token_from=manage_path)).status_code == 303
    schedule = (await session.exec(select(Meeting.id, Meeting.status).where(Meeting.event_id == event_id))).all()
    assert schedule and all(status == "proposed" for _, status in schedule)

    class StoppedEngine:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise SearchUnavailable("engine stopped by the test")

            return fail

    app.state.search_engine = StoppedEngine()
    refused = await post_form(staff, f"{manage_path}/propose", {}, token_from=manage_path)
    assert refused.status_code == 503
    assert "搜索服务暂时不可用，暂时无法生成对接安排，请稍后再试" in refused.text
    assert 'class="meeting meeting-proposed"' in refused.text  # the page shows the schedule as it still is
    assert (
        await session.exec(select(Meeting.id, Meeting.status).where(Meeting.event_id == event_id))
    ).all() == schedule


async def test_refused_registrations_show_the_reason_or_the_permission_error_page(make_client, session, sync_index):
    _staff, event_id, _, host, enterprise = await _event_with_people(session, make_client, sync_index)
    detail = f"/events/{event_id}"
    assert (await post_form(enterprise, f"{detail}/register", ATTENDING, token_from=detail)).status_code == 303
    # The registration form is gone once registered; a second post (an old tab) is refused on the page.
    again = await post_form(enterprise, f"{detail}/register", ATTENDING, token_from=detail)
    assert again.status_code == 409 and "本企业已报名该活动" in again.text and "九江场景沙龙·智慧巡检专场" in again.text
    # A refused permission stays an error page, not a message on the event page.
    issuer = await _signed_in(make_client, host)
    forbidden = await post_form(issuer, f"{detail}/register", ATTENDING, token_from=detail)
    assert forbidden.status_code == 403 and "只有企业账号可以报名活动" in forbidden.text
    assert "九江场景沙龙·智慧巡检专场" not in forbidden.text


async def test_the_event_form_explains_bad_input(make_client, session):
    staff = await _signed_in(make_client, await create_user(session, role=Role.matchmaker))
    response = await post_form(
        staff,
        "/review/events/new",
        {
            "title": "",
            "kind": "salon",
            "starts_at": "明天上午",
            "ends_at": "",
            "place": "",
            "capacity": "十",
            "slot_minutes": "20",
            "meeting_limit": "2",
        },
    )
    assert response.status_code == 422
    assert "请填写活动名称" in response.text and "时间格式无法识别" in response.text and "应为正整数" in response.text
    assert "活动管理" in (await staff.get("/review/events")).text


async def test_event_text_is_escaped(make_client, session):
    staff = await _signed_in(make_client, await create_user(session, role=Role.matchmaker))
    response = await post_form(
        staff,
        "/review/events/new",
        {
            "title": "<script>alert(1)</script>沙龙",
            "kind": "salon",
            "starts_at": LOCAL.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (LOCAL + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "place": "南昌",
            "capacity": "5",
            "slot_minutes": "20",
            "meeting_limit": "2",
        },
    )
    page = (await staff.get(response.headers["location"])).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
