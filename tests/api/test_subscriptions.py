from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from backend.auth.models import Role
from backend.kit.china_time import china_today
from backend.kit.db import session_scope, utcnow
from backend.listings.models import ListingStatus, OpportunityDomain
from backend.notifications.models import EmailMessage, Notification
from backend.outbox.models import OutboxEvent
from backend.outbox.service import LISTING_PUBLISHED
from backend.searching.sync import drain
from backend.subscriptions.alerts import list_link, send_alerts, send_digests
from backend.subscriptions.models import Subscription, SubscriptionAlert
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

PROBLEM = "application/problem+json"
# Traditional characters with inline pinyin, as real input comes.
TRADITIONAL_TITLE = "贛(gàn)南臍橙智慧農(nóng)業物聯網監測場景"
TRADITIONAL_DESCRIPTION = "在章貢區果園部署土壤墒情與氣象傳感器，建設數(shù)字化管理平臺"


async def _enterprise_user(session):
    organisation = await create_organisation(session, kind="enterprise")
    return await create_user(session, role=Role.enterprise, organisation=organisation)


async def _subscribe(session, user, **fields):
    subscription = Subscription(user_id=user.id, name=fields.pop("name", "订阅"), **fields)
    session.add(subscription)
    await session.flush()
    return subscription


async def _publish(make_client, session, listing, kind="opportunities"):
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    response = await staff.post(f"/api/v1/{kind}/{listing.id}/publish")
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def deliver(app, search_engine):
    """What the index writer does after a publication, in its own session (reading the database
    afresh, as the worker does): index the outbox, then run the saved searches."""

    async def _deliver(*, engine=None, alerts: bool = True) -> int:
        async with session_scope(app.state.sessionmaker) as worker:
            while await drain(worker, search_engine):
                pass
            return await send_alerts(worker, engine or search_engine) if alerts else 0

    return _deliver


async def _pending_opportunity(session, **overrides):
    issuer_org = await create_organisation(session)
    fields = {
        "title": TRADITIONAL_TITLE,
        "description": TRADITIONAL_DESCRIPTION,
        "region_code": "360702",
        "place": "赣州市章贡区",
        "status": ListingStatus.pending_review,
    }
    fields.update(overrides)
    return await create_opportunity(session, issuer_org, **fields)


async def _told(session, user):
    return (await session.exec(select(Notification).where(Notification.user_id == user.id))).all()


async def _emails_to(session, user):
    return (await session.exec(select(EmailMessage).where(EmailMessage.to_address == user.email))).all()


async def test_enterprise_user_saves_a_search_and_lists_it(client, session):
    await login(client, await _enterprise_user(session))

    created = await client.post(
        "/api/v1/subscriptions",
        json={
            "name": "赣州农业物联网",
            "q": "智慧农业 监测",
            "tracks": ["iot"],
            "domains": ["digital_countryside"],
            "regions": ["360700"],
        },
    )
    followed = await client.post("/api/v1/subscriptions", json={"tracks": ["drones"], "regions": ["360100"]})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["tracks"] == [{"code": "iot", "name": "物联网"}]
    assert body["regions"] == [{"code": "360700", "name": "赣州市"}]
    assert followed.status_code == 201 and followed.json()["q"] == ""
    assert followed.json()["name"] == "关注：无人机、南昌市"
    mine = await client.get("/api/v1/subscriptions")
    assert [s["id"] for s in mine.json()["items"]] == [followed.json()["id"], body["id"]]
    assert mine.json()["total"] == 2


async def test_unknown_codes_are_rejected_in_chinese_and_nothing_is_saved(client, session):
    user = await _enterprise_user(session)
    await login(client, user)

    unknown_track = await client.post("/api/v1/subscriptions", json={"q": "物联网", "tracks": ["iot", "no_such_track"]})
    unknown_region = await client.post("/api/v1/subscriptions", json={"regions": ["999999"]})
    empty = await client.post("/api/v1/subscriptions", json={"name": "什么都不填"})

    assert unknown_track.status_code == 422
    assert unknown_track.headers["content-type"].startswith(PROBLEM)
    assert unknown_track.json()["field"] == "tracks" and "no_such_track" in unknown_track.json()["detail"]
    assert "未知的赛道代码" in unknown_track.json()["detail"]
    assert unknown_region.status_code == 422 and unknown_region.json()["field"] == "regions"
    assert empty.status_code == 422 and "至少填写" in empty.json()["detail"]
    count = (
        await session.exec(select(func.count()).select_from(Subscription).where(Subscription.user_id == user.id))
    ).one()
    assert count == 0


async def test_enterprises_save_opportunity_searches_issuers_and_matchmakers_offering_searches(
    client, make_client, session
):
    issuer = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    assert (await client.post("/api/v1/subscriptions", json={"tracks": ["iot"]})).status_code == 401
    await login(client, issuer)
    response = await client.post("/api/v1/subscriptions", json={"tracks": ["iot"]})
    assert response.status_code == 403 and response.json()["detail"] == "只有企业账号可以订阅机会清单"
    offerings = await client.post(
        "/api/v1/subscriptions", json={"kind": "offering", "q": "无人机", "frequency": "weekly"}
    )
    assert offerings.status_code == 201, offerings.text
    assert offerings.json()["kind"] == "offering" and offerings.json()["frequency"] == "weekly"

    enterprise = await login(make_client(), await _enterprise_user(session))
    refused = await enterprise.post("/api/v1/subscriptions", json={"kind": "offering", "q": "无人机"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["detail"] == "只有出卷方和撮合专员账号可以订阅产品清单"
    saved = await enterprise.post("/api/v1/subscriptions", json={"q": "无人机"})
    assert saved.status_code == 201 and saved.json()["kind"] == "opportunity"
    assert saved.json()["frequency"] == "immediate"
    matchmaker = await login(make_client(), await create_user(session, role=Role.matchmaker))
    assert (await matchmaker.post("/api/v1/subscriptions", json={"kind": "offering", "q": "无人机"})).status_code == 201
    changed = await enterprise.patch(f"/api/v1/subscriptions/{saved.json()['id']}", json={"frequency": "daily"})
    assert changed.status_code == 200 and changed.json()["frequency"] == "daily"
    assert changed.json()["kind"] == "opportunity"
    assert (
        await enterprise.patch(f"/api/v1/subscriptions/{saved.json()['id']}", json={"kind": "offering"})
    ).status_code == 422
    bad = await matchmaker.post("/api/v1/subscriptions", json={"kind": "offering", "q": "巡检", "frequency": "hourly"})
    assert bad.status_code == 422 and bad.json()["field"] == "frequency"


async def test_a_user_never_sees_or_changes_another_users_subscription(client, make_client, session):
    owner = await _enterprise_user(session)
    subscription = await _subscribe(session, owner, tracks=["iot"])
    await login(client, await _enterprise_user(session))

    assert (await client.get(f"/api/v1/subscriptions/{subscription.id}")).status_code == 404
    assert (await client.patch(f"/api/v1/subscriptions/{subscription.id}", json={"q": "改掉"})).status_code == 404
    assert (await client.delete(f"/api/v1/subscriptions/{subscription.id}")).status_code == 404
    assert (await client.get("/api/v1/subscriptions")).json()["items"] == []

    mine = await login(make_client(), owner)
    updated = await mine.patch(f"/api/v1/subscriptions/{subscription.id}", json={"q": "墒情", "tracks": ["bad"]})
    assert updated.status_code == 422
    await session.refresh(subscription)
    assert subscription.q == "" and subscription.tracks == ["iot"]
    assert (await mine.delete(f"/api/v1/subscriptions/{subscription.id}")).status_code == 204
    assert (await mine.get(f"/api/v1/subscriptions/{subscription.id}")).status_code == 404


async def test_publishing_notifies_each_matching_user_once_by_notification_and_email(make_client, session, deliver):
    opportunity = await _pending_opportunity(session, tracks=["iot", "smart_agriculture"])
    session.add(OpportunityDomain(listing_id=opportunity.id, domain_code="digital_countryside"))
    await session.flush()
    keen = await _enterprise_user(session)  # two matching subscriptions, one message
    await _subscribe(session, keen, q="智慧农业 物联网", tracks=["iot"])
    await _subscribe(session, keen, regions=["360700"])  # the city: its 章贡区 counts
    by_domain = await _enterprise_user(session)
    await _subscribe(session, by_domain, domains=["digital_countryside"])
    # As on the list page, the province's own code means province-level listings, not 赣州's.
    by_province = await _enterprise_user(session)
    await _subscribe(session, by_province, regions=["360000"], domains=["digital_countryside"])
    by_pinyin = await _enterprise_user(session)
    await _subscribe(session, by_pinyin, q="zhihuinongye 墒情")
    other_track = await _enterprise_user(session)
    await _subscribe(session, other_track, tracks=["drones"])
    other_city = await _enterprise_user(session)
    await _subscribe(session, other_city, q="物联网", regions=["360100"])
    missing_word = await _enterprise_user(session)
    await _subscribe(session, missing_word, q="物联网 无人机")
    inactive = await _enterprise_user(session)
    inactive.is_active = False
    await _subscribe(session, inactive, tracks=["iot"])

    await _publish(make_client, session, opportunity)
    assert [await _told(session, u) for u in (keen, by_domain)] == [[], []]  # not before it is indexed

    assert await deliver() == 1
    for user in (keen, by_domain, by_pinyin):
        told = await _told(session, user)
        assert [n.kind for n in told] == ["subscription_match"], user.display_name
        assert told[0].link == f"/opportunities/{opportunity.id}"
        emails = await _emails_to(session, user)
        assert len(emails) == 1 and TRADITIONAL_TITLE in emails[0].body
        assert emails[0].subject == f"新机会：{TRADITIONAL_TITLE}"
    for user in (by_province, other_track, other_city, missing_word, inactive):
        assert await _told(session, user) == [], user.display_name
        assert await _emails_to(session, user) == []


async def test_budget_and_deadline_are_saved_described_and_part_of_the_duplicate_check(client, make_client, session):
    await login(client, await _enterprise_user(session))
    search = {"tracks": ["iot"], "budget_from": 100, "budget_to": 500, "deadline": "30d"}
    created = await client.post("/api/v1/subscriptions", json=search)
    assert created.status_code == 201, created.text
    body = created.json()
    assert Decimal(body["budget_from"]) == 100 and Decimal(body["budget_to"]) == 500 and body["deadline"] == "30d"
    assert body["filters"] == ["预算 100万–500万", "30天内截止"]
    assert body["name"] == "关注：物联网、预算 100万–500万、30天内截止"
    # The same search again is refused; another budget or deadline is another search.
    again = await client.post("/api/v1/subscriptions", json={**search, "budget_from": "100.00"})
    assert again.status_code == 409 and "已保存过相同的订阅" in again.json()["detail"]
    other_budget = await client.post("/api/v1/subscriptions", json={**search, "budget_from": None})
    assert other_budget.status_code == 201 and other_budget.json()["filters"] == ["预算 500万以下", "30天内截止"]
    other_deadline = await client.post("/api/v1/subscriptions", json={**search, "deadline": "open"})
    assert other_deadline.status_code == 201 and other_deadline.json()["filters"] == ["预算 100万–500万", "尚未截止"]
    # A budget alone narrows enough; a deadline alone does not; a backwards range is refused.
    assert (await client.post("/api/v1/subscriptions", json={"budget_from": 1000})).json()["filters"] == [
        "预算 1000万以上"
    ]
    alone = await client.post("/api/v1/subscriptions", json={"deadline": "7d"})
    assert alone.status_code == 422 and "至少填写" in alone.json()["detail"]
    backwards = await client.post("/api/v1/subscriptions", json={"q": "物联网", "budget_from": 500, "budget_to": 100})
    assert backwards.status_code == 422 and backwards.json()["field"] == "budget_from"
    # A digest's link opens the list with the same filters.
    saved = await session.get(Subscription, body["id"])
    assert list_link(saved) == "/opportunities?track=iot&budget=100-500&deadline=30d"
    # PATCH null clears a filter, leaving the others.
    changed = await client.patch(f"/api/v1/subscriptions/{body['id']}", json={"deadline": None})
    assert changed.status_code == 200 and changed.json()["filters"] == ["预算 100万–500万"]
    # Offerings have neither.
    issuer = await login(
        make_client(), await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    )
    refused = await issuer.post("/api/v1/subscriptions", json={"kind": "offering", "q": "无人机", "budget_to": 100})
    assert refused.status_code == 422 and "产品清单没有预算" in refused.json()["detail"]


async def test_a_saved_budget_range_and_deadline_window_hear_only_of_new_opportunities_inside_them(
    make_client, session, deliver
):
    today = china_today()
    inside = await _pending_opportunity(
        session, title="预算内的物联网场景", tracks=["iot"], budget_min=Decimal(200), budget_max=Decimal(300)
    )
    too_big = await _pending_opportunity(
        session, title="预算过高的物联网场景", tracks=["iot"], budget_min=Decimal(2000), budget_max=Decimal(2000)
    )
    negotiable = await _pending_opportunity(session, title="面议的物联网场景", tracks=["iot"])
    due_soon = await _pending_opportunity(
        session, title="五天后截止的物联网场景", tracks=["iot"], deadline=today + timedelta(days=5)
    )
    due_later = await _pending_opportunity(
        session, title="二十天后截止的物联网场景", tracks=["iot"], deadline=today + timedelta(days=20)
    )
    by_budget = await _enterprise_user(session)
    await _subscribe(session, by_budget, tracks=["iot"], budget_from=Decimal(100), budget_to=Decimal(500))
    within_week = await _enterprise_user(session)
    await _subscribe(session, within_week, tracks=["iot"], deadline="7d")
    within_month = await _enterprise_user(session)
    await _subscribe(session, within_month, tracks=["iot"], deadline="30d")
    for listing in (inside, too_big, negotiable, due_soon, due_later):
        await _publish(make_client, session, listing)

    await deliver()
    assert [len(await _told(session, u)) for u in (by_budget, within_week, within_month)] == [1, 1, 2]
    assert [n.link for n in await _told(session, by_budget)] == [f"/opportunities/{inside.id}"]
    assert [n.link for n in await _told(session, within_week)] == [f"/opportunities/{due_soon.id}"]
    assert {n.link for n in await _told(session, within_month)} == {
        f"/opportunities/{due_soon.id}",
        f"/opportunities/{due_later.id}",
    }


async def test_an_issuers_offering_search_hears_of_a_matching_offering_and_not_of_opportunities(
    make_client, session, deliver
):
    department = await create_organisation(session)
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    await _subscribe(session, issuer, kind="offering", q="无人机巡检", regions=["360700"])
    enterprise_follower = await _enterprise_user(session)  # follows opportunities, not offerings
    await _subscribe(session, enterprise_follower, q="无人机巡检")
    vendor = await create_organisation(session, kind="enterprise")
    offering = await create_offering(
        session,
        vendor,
        title="電力線路無人機巡檢系統",  # Traditional script
        description="多旋翼無人機自動巡檢輸電線路，缺陷識別",
        region_code="360702",
        status=ListingStatus.pending_review,
    )
    elsewhere = await create_offering(
        session, vendor, title="无人机巡检平台", region_code="360100", status=ListingStatus.pending_review
    )
    already_published = await _pending_opportunity(session, title="无人机巡检场景", status=ListingStatus.published)
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    assert (await staff.post(f"/api/v1/opportunities/{already_published.id}/publish")).status_code == 409

    await _publish(make_client, session, offering, "offerings")
    await _publish(make_client, session, elsewhere, "offerings")
    assert await deliver() == 2

    [told] = await _told(session, issuer)
    assert told.kind == "subscription_match" and told.title == "新产品：電力線路無人機巡檢系統"
    assert told.link == f"/offerings/{offering.id}"
    [email] = await _emails_to(session, issuer)
    assert email.subject == "新产品：電力線路無人機巡檢系統"
    assert await _told(session, enterprise_follower) == []


async def test_synonyms_traditional_script_and_pinyin_find_what_the_search_finds(make_client, session, deliver):
    by_synonym = await _enterprise_user(session)
    await _subscribe(session, by_synonym, q="虚拟现实 文旅")
    by_pinyin = await _enterprise_user(session)
    await _subscribe(session, by_pinyin, q="wenlv")
    by_simplified = await _enterprise_user(session)
    await _subscribe(session, by_simplified, q="数字文旅")
    unrelated = await _enterprise_user(session)
    await _subscribe(session, unrelated, q="智慧水利")
    opportunity = await _pending_opportunity(
        session, title="滕王閣VR數(shù)字文旅體驗場景", description="以VR技術還原歷史街區，打造沉浸式文旅體驗"
    )

    await _publish(make_client, session, opportunity)
    await deliver()

    for user in (by_synonym, by_pinyin, by_simplified):
        assert [n.link for n in await _told(session, user)] == [f"/opportunities/{opportunity.id}"], user.email
    assert await _told(session, unrelated) == []
    # The list page's search finds it with the same words.
    for q in ("虚拟现实 文旅", "wenlv", "数字文旅"):
        found = await make_client().get("/api/v1/search", params={"q": q, "kind": "opportunity"})
        assert opportunity.id in [h["id"] for h in found.json()["hits"]], (q, found.text)


async def test_a_daily_search_gets_one_digest_with_both_matches_and_nothing_at_once(make_client, session, deliver):
    user = await _enterprise_user(session)
    daily = await _subscribe(session, user, q="智慧农业", frequency="daily")
    weekly_user = await _enterprise_user(session)
    await _subscribe(session, weekly_user, q="智慧农业", frequency="weekly")
    first = await _pending_opportunity(session, title="智慧农业大棚监测")
    second = await _pending_opportunity(session, title="赣南脐橙智慧農業溯源")
    other = await _pending_opportunity(session, title="城市内涝预警")
    for opportunity in (first, second, other):
        await _publish(make_client, session, opportunity)
    await deliver()

    assert await _told(session, user) == [] and await _emails_to(session, user) == []
    assert await send_digests(session) == 0  # recorded after today's digest time: tomorrow's digest
    tomorrow = utcnow() + timedelta(days=1)
    assert await send_digests(session, now=tomorrow) == 1
    [digest] = await _told(session, user)
    assert digest.kind == "subscription_digest"
    assert digest.title == f"订阅汇总：“{daily.name}”有 2 条新机会"
    assert f"/opportunities/{first.id}" in digest.body and f"/opportunities/{second.id}" in digest.body
    assert "智慧农业大棚监测" in digest.body and "城市内涝预警" not in digest.body
    assert digest.link == "/opportunities?q=%E6%99%BA%E6%85%A7%E5%86%9C%E4%B8%9A"
    [email] = await _emails_to(session, user)
    assert "赣南脐橙智慧農業溯源" in email.body
    await session.refresh(daily)
    assert daily.last_alerted_at is not None
    assert await send_digests(session, now=tomorrow) == 0  # reported once
    # The weekly one waits for Monday's digest.
    assert await send_digests(session, now=utcnow() + timedelta(days=8)) == 1
    assert [n.kind for n in await _told(session, weekly_user)] == ["subscription_digest"]


async def test_running_the_alerts_again_tells_nobody_twice(make_client, session, deliver, search_engine):
    user = await _enterprise_user(session)
    await _subscribe(session, user, q="智慧农业")  # two searches finding the same listing
    await _subscribe(session, user, q="农业", frequency="daily")
    opportunity = await _pending_opportunity(session, title="智慧农业大棚监测")
    await _publish(make_client, session, opportunity)
    assert await deliver() == 1
    assert await deliver() == 0  # nothing left to do

    # A restart that lost the "done" mark (or a second worker) runs the same publication again.
    for event in (await session.exec(select(OutboxEvent).where(OutboxEvent.topic == LISTING_PUBLISHED))).all():
        event.processed_at = None
        session.add(event)
    await session.flush()
    assert await send_alerts(session, search_engine) == 1
    assert await send_digests(session, now=utcnow() + timedelta(days=8)) == 0

    assert len(await _told(session, user)) == 1 and len(await _emails_to(session, user)) == 1
    alerts = (await session.exec(select(SubscriptionAlert).where(SubscriptionAlert.user_id == user.id))).all()
    assert [(a.listing_id, a.notified_at is not None) for a in alerts] == [(opportunity.id, True)]


async def test_alerts_wait_while_the_engine_is_down_and_are_sent_when_it_returns(make_client, session, deliver):
    from search import SearchUnavailable

    class Down:
        def search(self, query):
            raise SearchUnavailable("down")

    user = await _enterprise_user(session)
    await _subscribe(session, user, q="智慧农业")
    opportunity = await _pending_opportunity(session, title="智慧农业大棚监测")
    await _publish(make_client, session, opportunity)

    assert await deliver(engine=Down()) == 0
    [event] = (await session.exec(select(OutboxEvent).where(OutboxEvent.topic == LISTING_PUBLISHED))).all()
    assert event.processed_at is None and event.attempts == 1 and "down" in event.last_error
    assert await _told(session, user) == []

    event.available_at = utcnow()
    session.add(event)
    await session.flush()
    assert await deliver() == 1
    assert len(await _told(session, user)) == 1


async def test_opportunities_published_by_bulk_import_also_notify_subscribers(make_client, session, deliver):
    import json

    user = await _enterprise_user(session)
    await _subscribe(session, user, q="脐橙")
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    rows = [
        {
            "kind": "opportunity",
            "external_id": "SUB-IMP-1",
            "title": "赣南脐橙溯源场景",
            "organisation": "赣州市农业农村局（导入订阅）",
        },
        {
            "kind": "opportunity",
            "external_id": "SUB-IMP-2",
            "title": "南昌地铁客流预测",
            "organisation": "南昌市交通运输局（导入订阅）",
        },
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    response = await staff.post(
        "/api/v1/imports", files={"file": ("a.jsonl", data, "application/x-ndjson")}, data={"publish": "true"}
    )
    assert response.json()["created"] == 2, response.text
    await deliver()
    titles = (await session.exec(select(Notification.title).where(Notification.user_id == user.id))).all()
    assert len(titles) == 1 and "赣南脐橙溯源场景" in titles[0]
    assert (
        await session.exec(select(func.count()).select_from(EmailMessage).where(EmailMessage.to_address == user.email))
    ).one() == 1
