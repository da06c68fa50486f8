from sqlmodel import col, func, select

from backend.auth.models import Role
from backend.listings.models import ListingStatus, OpportunityDomain
from backend.notifications.models import EmailMessage, Notification
from backend.subscriptions.models import Subscription
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


async def _publish(make_client, session, opportunity):
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    response = await staff.post(f"/api/v1/opportunities/{opportunity.id}/publish")
    assert response.status_code == 200, response.text
    return response


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


async def test_only_enterprise_users_subscribe(client, session):
    issuer = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    assert (await client.post("/api/v1/subscriptions", json={"tracks": ["iot"]})).status_code == 401
    await login(client, issuer)
    response = await client.post("/api/v1/subscriptions", json={"tracks": ["iot"]})
    assert response.status_code == 403 and response.json()["detail"] == "只有企业账号可以订阅机会"


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


async def test_publishing_notifies_each_matching_user_once_by_notification_and_email(make_client, session):
    opportunity = await _pending_opportunity(session, tracks=["iot", "smart_agriculture"])
    session.add(OpportunityDomain(listing_id=opportunity.id, domain_code="digital_countryside"))
    await session.flush()
    keen = await _enterprise_user(session)  # two matching subscriptions, one message
    await _subscribe(session, keen, q="智慧农业 物联网", tracks=["iot"])
    await _subscribe(session, keen, regions=["360700"])  # the city: its 章贡区 counts
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

    for user in (keen, by_province, by_pinyin):
        told = await _told(session, user)
        assert [n.kind for n in told] == ["subscription_match"], user.display_name
        assert told[0].link == f"/opportunities/{opportunity.id}"
        emails = await _emails_to(session, user)
        assert len(emails) == 1 and TRADITIONAL_TITLE in emails[0].body
        assert emails[0].subject == f"新机会：{TRADITIONAL_TITLE}"
    for user in (other_track, other_city, missing_word, inactive):
        assert await _told(session, user) == [], user.display_name
        assert await _emails_to(session, user) == []


async def test_offerings_and_refused_publications_notify_nobody(make_client, session):
    follower = await _enterprise_user(session)
    await _subscribe(session, follower, tracks=["iot"])
    already_published = await _pending_opportunity(session, tracks=["iot"], status=ListingStatus.published)
    offering = await create_offering(
        session,
        await create_organisation(session, kind="enterprise"),
        tracks=["iot"],
        status=ListingStatus.pending_review,
    )
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))

    again = await staff.post(f"/api/v1/opportunities/{already_published.id}/publish")
    offered = await staff.post(f"/api/v1/offerings/{offering.id}/publish")

    assert again.status_code == 409 and offered.status_code == 200
    assert await _told(session, follower) == []
    count = (
        await session.exec(
            select(func.count()).select_from(EmailMessage).where(col(EmailMessage.to_address) == follower.email)
        )
    ).one()
    assert count == 0


async def test_opportunities_published_by_bulk_import_also_notify_subscribers(make_client, session):
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
    titles = (await session.exec(select(Notification.title).where(Notification.user_id == user.id))).all()
    assert len(titles) == 1 and "赣南脐橙溯源场景" in titles[0]
    assert (
        await session.exec(select(func.count()).select_from(EmailMessage).where(EmailMessage.to_address == user.email))
    ).one() == 1
