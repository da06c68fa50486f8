"""Notifications (with the unread count in the navigation) and subscriptions: saving the current
search from either list (by who may follow it), following tracks and regions, choosing how often
to hear, deleting — each user's own only."""

import re

from sqlmodel import select

from backend.auth.models import Role
from backend.notifications import service as notifications
from backend.subscriptions.models import Subscription
from tests.factories import PASSWORD, create_organisation, create_user
from tests.web.helpers import post_form, sign_in


async def _enterprise_user(session, name="订阅测试科技有限公司"):
    organisation = await create_organisation(session, kind="enterprise", name=name)
    return await create_user(session, role=Role.enterprise, organisation=organisation)


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


def _badge(html: str) -> str | None:
    match = re.search(r'class="nav-inbox"[^>]*>通知(?:<span class="badge">(\d+)</span>)?', html)
    assert match, "no inbox link in the navigation"
    return match.group(1)


async def test_the_navigation_shows_the_unread_count_and_marking_read_lowers_it(make_client, session):
    user = await _enterprise_user(session)
    await notifications.notify(
        session,
        user_ids=[user.id],
        kind="subscription_match",
        title="新机会：南昌智慧停车",
        body="您订阅的条件有新发布的机会",
        link="/opportunities/1",
        email=False,
    )
    await notifications.notify(
        session,
        user_ids=[user.id],
        kind="interest_approved",
        title="合作意向已获同意：赣州园区",
        body="联系方式：张工",
        link="",
        email=False,
    )
    client = await _as(make_client, user)
    assert _badge((await client.get("/")).text) == "2"

    inbox = (await client.get("/inbox")).text
    assert "新机会：南昌智慧停车" in inbox and "合作意向已获同意：赣州园区" in inbox and "（2 条未读）" in inbox
    ids = re.findall(r'action="/inbox/(\d+)/read"', inbox)
    assert ids
    marked = await post_form(client, f"/inbox/{ids[-1]}/read", {}, token_from="/inbox")
    assert marked.status_code == 303 and marked.headers["location"] == "/inbox?done=read"
    assert _badge((await client.get("/inbox?done=read")).text) == "1"

    all_read = await post_form(client, "/inbox/read-all", {}, token_from="/inbox")
    assert all_read.status_code == 303
    page = (await client.get(all_read.headers["location"])).text
    assert "全部通知已标记为已读" in page and _badge(page) is None


async def test_opening_a_notification_marks_it_read_and_follows_its_link(make_client, session):
    user = await _enterprise_user(session)
    created = await notifications.notify(
        session,
        user_ids=[user.id],
        kind="subscription_match",
        title="新机会：抚州",
        body="……",
        link="/opportunities/12345",
        email=False,
    )
    client = await _as(make_client, user)
    opened = await post_form(client, f"/inbox/{created[0].id}/read", {"open": "1"}, token_from="/inbox")
    assert opened.status_code == 303 and opened.headers["location"] == "/opportunities/12345"
    await session.refresh(created[0])
    assert created[0].read_at is not None


async def test_nobody_reads_or_marks_another_users_notifications(make_client, session):
    owner = await _enterprise_user(session, "通知主人科技有限公司")
    created = await notifications.notify(
        session, user_ids=[owner.id], kind="interest_approved", title="私人通知", body="联系方式：王工 139", email=False
    )
    stranger = await _as(make_client, await _enterprise_user(session, "陌生人科技有限公司"))
    assert "私人通知" not in (await stranger.get("/inbox")).text
    refused = await post_form(stranger, f"/inbox/{created[0].id}/read", {}, token_from="/inbox")
    assert refused.status_code == 404
    await session.refresh(created[0])
    assert created[0].read_at is None
    visitor = make_client()
    assert (await visitor.get("/inbox")).headers["location"] == "/login?next=/inbox"


async def test_an_enterprise_saves_the_current_search_from_the_opportunity_list(make_client, session):
    user = await _enterprise_user(session)
    client = await _as(make_client, user)
    listing = (await client.get("/opportunities?q=智慧农业&track=iot&region=360100")).text
    assert "保存当前搜索" in listing
    assert (
        '<input type="hidden" name="q" value="智慧农业">' in listing
        and '<input type="hidden" name="track" value="iot">' in listing
    )
    assert "保存当前搜索" not in (await client.get("/opportunities")).text  # nothing to save yet

    saved = await post_form(
        client,
        "/subscriptions",
        {"q": "智慧农业", "track": "iot", "region": "360100"},
        token_from="/opportunities?q=智慧农业&track=iot&region=360100",
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/subscriptions?done=created"
    page = (await client.get(saved.headers["location"])).text
    assert "订阅已保存" in page and "关键词：智慧农业" in page and "物联网" in page and "南昌市" in page
    subscription = (await session.exec(select(Subscription).where(Subscription.user_id == user.id))).one()
    assert subscription.q == "智慧农业" and subscription.tracks == ["iot"] and subscription.regions == ["360100"]

    # Saving the same search again is refused with the name of the one already saved.
    again = await post_form(
        client,
        "/subscriptions",
        {"q": " 智慧农业 ", "region": "360100", "track": "iot"},
        token_from="/opportunities?q=智慧农业&track=iot&region=360100",
    )
    assert again.status_code == 409 and "已保存过相同的订阅" in again.text
    assert len((await session.exec(select(Subscription).where(Subscription.user_id == user.id))).all()) == 1


async def test_a_search_saved_from_a_filtered_list_keeps_its_budget_and_deadline_and_shows_them_in_chinese(
    make_client, session
):
    user = await _enterprise_user(session)
    client = await _as(make_client, user)
    filtered = "/opportunities?track=iot&budget=100-500&deadline=30d"
    listing = (await client.get(filtered)).text
    assert '<input type="hidden" name="budget" value="100-500">' in listing
    assert '<input type="hidden" name="deadline" value="30d">' in listing
    assert "截止日期按每次通知当天计算" in listing
    # A budget alone is worth saving too.
    assert "保存当前搜索" in (await client.get("/opportunities?budget=gt1000")).text

    saved = await post_form(
        client, "/subscriptions", {"track": "iot", "budget": "100-500", "deadline": "30d"}, token_from=filtered
    )
    assert saved.status_code == 303, saved.text
    subscription = (await session.exec(select(Subscription).where(Subscription.user_id == user.id))).one()
    assert (subscription.budget_from, subscription.budget_to, subscription.deadline) == (100, 500, "30d")

    page = (await client.get("/subscriptions")).text
    card = page[page.index('class="card subscription-card"') :]
    card = card[: card.index("</article>")]
    assert "物联网" in card and "预算 100万–500万" in card and "30天内截止" in card
    assert "100-500" not in re.sub(r'href="[^"]*"', "", card) and "30d" not in re.sub(r'href="[^"]*"', "", card)
    assert "截止日期条件按每次通知当天（北京时间）计算" in card
    # 查看符合的机会 opens the list with the same filters.
    link = re.search(r'href="([^"]*)">查看符合的机会', card).group(1).replace("&amp;", "&")
    assert link == "/opportunities?track=iot&budget=100-500&deadline=30d"
    again = (await client.get(link)).text
    assert "预算：100万–500万" in again and "截止日期：30天内截止" in again

    # The same filters again are the same search; another budget is another one.
    same = await post_form(
        client, "/subscriptions", {"track": "iot", "budget": "100-500", "deadline": "30d"}, token_from=filtered
    )
    assert same.status_code == 409 and "已保存过相同的订阅" in same.text
    other = await post_form(
        client, "/subscriptions", {"track": "iot", "budget": "gt1000", "deadline": "30d"}, token_from=filtered
    )
    assert other.status_code == 303
    assert "预算 1000万以上" in (await client.get("/subscriptions")).text

    # The follow form of this page offers the same choices to an enterprise, and keeps them when refused.
    form = (await client.get("/subscriptions")).text
    assert '<label for="f-budget">预算（仅机会清单，可选）</label>' in form and 'name="deadline"' in form
    refused = await post_form(client, "/subscriptions", {"deadline": "7d"})
    assert refused.status_code == 422 and '<option value="7d" selected>7天内截止</option>' in refused.text
    followed = await post_form(client, "/subscriptions", {"regions": ["360100"], "budget": "500-1000"})
    assert followed.status_code == 303
    assert "预算 500万–1000万" in (await client.get("/subscriptions")).text
    issuer = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    assert 'name="budget"' not in (await (await _as(make_client, issuer)).get("/subscriptions")).text


async def test_follow_tracks_and_regions_and_delete_a_subscription(make_client, session):
    user = await _enterprise_user(session)
    client = await _as(make_client, user)
    form = (await client.get("/subscriptions")).text
    assert 'name="tracks"' in form and 'name="regions"' in form and 'name="domains"' in form

    empty = await post_form(client, "/subscriptions", {"name": "", "q": ""})
    assert empty.status_code == 422 and "请至少填写关键词、赛道、场景领域、地区或预算中的一项" in empty.text
    unknown = await post_form(client, "/subscriptions", {"regions": ["999999"]})
    assert unknown.status_code == 422 and "未知的地区代码：999999" in unknown.text

    followed = await post_form(
        client, "/subscriptions", {"name": "关注南昌物联网", "tracks": ["iot"], "regions": ["360100"]}
    )
    assert followed.status_code == 303
    page = (await client.get("/subscriptions")).text
    assert "关注南昌物联网" in page and "已保存的订阅（1）" in page
    subscription_id = re.search(r'action="/subscriptions/(\d+)/delete"', page).group(1)

    stranger = await _as(make_client, await _enterprise_user(session, "别家科技有限公司"))
    assert "关注南昌物联网" not in (await stranger.get("/subscriptions")).text
    refused = await post_form(stranger, f"/subscriptions/{subscription_id}/delete", {}, token_from="/subscriptions")
    assert refused.status_code == 404

    deleted = await post_form(client, f"/subscriptions/{subscription_id}/delete", {}, token_from="/subscriptions")
    assert deleted.status_code == 303
    page = (await client.get(deleted.headers["location"])).text
    assert "订阅已删除" in page and "还没有订阅" in page


async def test_subscriptions_are_for_enterprise_accounts(make_client, session):
    department = await create_organisation(session)
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    client = await _as(make_client, issuer)
    assert "保存当前搜索" not in (await client.get("/opportunities?q=智慧农业")).text
    refused = await post_form(client, "/subscriptions", {"q": "智慧农业"})
    assert refused.status_code == 403 and "只有企业账号可以订阅机会" in refused.text


async def test_subscribing_without_the_csrf_token_is_refused(make_client, session):
    user = await _enterprise_user(session)
    client = await _as(make_client, user)
    response = await client.post("/subscriptions", data={"q": "智慧农业"})
    assert response.status_code == 403
    assert (await session.exec(select(Subscription).where(Subscription.user_id == user.id))).first() is None


async def test_an_issuer_saves_an_offering_search_with_a_daily_digest_and_changes_it_to_weekly(make_client, session):
    department = await create_organisation(session)
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    client = await _as(make_client, issuer)
    listing = (await client.get("/offerings?q=无人机巡检&region=360700")).text
    assert "保存当前搜索" in listing and '<input type="hidden" name="kind" value="offering">' in listing
    assert '<option value="daily">每日通知</option>' in listing
    assert "保存当前搜索" not in (await client.get("/opportunities?q=无人机巡检")).text  # not theirs to follow

    saved = await post_form(
        client,
        "/subscriptions",
        {"kind": "offering", "q": "无人机巡检", "region": "360700", "frequency": "daily"},
        token_from="/offerings?q=无人机巡检&region=360700",
    )
    assert saved.status_code == 303, saved.text
    page = (await client.get(saved.headers["location"])).text
    assert "订阅已保存" in page and "产品清单" in page and "关键词：无人机巡检" in page and "赣州市" in page
    assert "通知频率：每日" in page and "查看符合的产品" in page
    assert "须全部出现" not in page and "同义词、繁简体和拼音都能找到" in page
    subscription = (await session.exec(select(Subscription).where(Subscription.user_id == issuer.id))).one()
    assert (subscription.kind, subscription.frequency, subscription.regions) == ("offering", "daily", ["360700"])

    changed = await post_form(
        client, f"/subscriptions/{subscription.id}/frequency", {"frequency": "weekly"}, token_from="/subscriptions"
    )
    assert changed.status_code == 303
    page = (await client.get(changed.headers["location"])).text
    assert "通知频率已修改" in page and "通知频率：每周" in page
    bad = await post_form(
        client, f"/subscriptions/{subscription.id}/frequency", {"frequency": "hourly"}, token_from="/subscriptions"
    )
    assert bad.status_code == 422 and "通知频率：" in bad.text
    await session.refresh(subscription)
    assert subscription.frequency == "weekly"


async def test_an_enterprise_is_offered_no_offering_search_and_is_refused_one_in_chinese(make_client, session):
    client = await _as(make_client, await _enterprise_user(session))
    assert "保存当前搜索" not in (await client.get("/offerings?q=无人机巡检")).text
    refused = await post_form(
        client, "/subscriptions", {"kind": "offering", "q": "无人机巡检"}, token_from="/subscriptions"
    )
    assert refused.status_code == 403 and "只有出卷方和撮合专员账号可以订阅产品清单" in refused.text
