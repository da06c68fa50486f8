"""Matchmaking events: registration within capacity, 1:1 meeting plans, replies, calendar files and outcomes."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from backend.auth.models import Role
from backend.events.models import Event
from backend.listings.models import ListingStatus
from backend.pairings.models import Pairing, PairingStage
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

START = (datetime.now(UTC) + timedelta(days=7)).replace(hour=1, minute=0, second=0, microsecond=0)


def event_body(**overrides):
    body = {
        "title": "南昌数字经济场景对接会",
        "kind": "matchmaking",
        "description": "面向智慧交通场景的一对一对接",
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=2)).isoformat(),
        "place": "南昌市红谷滩区会展中心",
        "capacity": 5,
        "slot_minutes": 30,
        "meeting_limit": 3,
    }
    body.update(overrides)
    return body


async def _setup(session, client, make_client, sync_index, *, enterprises=2, capacity=5):
    """A matchmaker, an issuer with a published opportunity, and enterprises with fitting offerings."""
    staff = await login(client, await create_user(session, role=Role.matchmaker))
    department = await create_organisation(session, name="南昌市交通运输局（活动测试）")
    host = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session, department, title="路口信号配时优化", status=ListingStatus.published, created_by_id=host.id
    )
    people = []
    for n in range(enterprises):
        organisation = await create_organisation(session, kind="enterprise", name=f"赣江智能交通科技{n}号公司")
        user = await create_user(session, role=Role.enterprise, organisation=organisation)
        await create_offering(session, organisation, title=f"路口信号自适应控制系统{n}", status=ListingStatus.published)
        people.append((organisation, user, await login(make_client(), user)))
    await sync_index()
    created = await staff.post("/api/v1/events", json=event_body(capacity=capacity))
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    featured = await staff.put(f"/api/v1/events/{event_id}/opportunities", json={"opportunity_ids": [opportunity.id]})
    assert featured.status_code == 200, featured.text
    assert (await staff.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})).status_code == 200
    return staff, event_id, opportunity, host, await login(make_client(), host), people


async def test_matchmaker_runs_an_event_and_both_sides_accept_their_meeting(client, make_client, session, sync_index):
    staff, event_id, _opportunity, host, host_client, people = await _setup(session, client, make_client, sync_index)
    public = (await make_client().get(f"/api/v1/events/{event_id}")).json()
    assert public["status_label"] == "报名中" and len(public["slots"]) == 4
    assert [o["title"] for o in public["opportunities"]] == ["路口信号配时优化"]

    for _, _, enterprise in people:
        assert (await enterprise.post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    first_org, _first_user, first = people[0]
    saved = await first.put(f"/api/v1/events/{event_id}/availability", json={"slots": [1, 2]})
    assert saved.json() == {"slots": [1, 2], "saved": True}

    plan = await staff.post(f"/api/v1/events/{event_id}/proposals")
    assert plan.status_code == 200, plan.text
    meetings = plan.json()
    assert len(meetings) == 2
    assert len({m["slot"] for m in meetings}) == 2  # the host is never in two meetings at once
    mine = next(m for m in meetings if m["organisation_id"] == first_org.id)
    assert mine["slot"] in (1, 2) and mine["issuer_user_id"] == host.id and mine["offering_title"]

    assert [m["id"] for m in (await first.get(f"/api/v1/events/{event_id}/meetings")).json()] == [mine["id"]]
    one_side = await first.post(f"/api/v1/events/{event_id}/meetings/{mine['id']}/reply", json={"reply": "accepted"})
    assert one_side.json()["status"] == "proposed" and one_side.json()["enterprise_response"] == "accepted"
    both = await host_client.post(f"/api/v1/events/{event_id}/meetings/{mine['id']}/reply", json={"reply": "accepted"})
    assert both.json()["status"] == "accepted" and both.json()["status_label"] == "已确认"

    calendar = await first.get(mine["calendar_url"])
    assert calendar.status_code == 200
    assert calendar.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "BEGIN:VEVENT" in calendar.text and "STATUS:CONFIRMED" in calendar.text
    assert "\r\n" in calendar.text and "LOCATION:南昌市红谷滩区会展中心" in calendar.text.replace("\r\n ", "")


async def test_the_registration_after_capacity_gets_409_and_nothing_changes(client, make_client, session, sync_index):
    staff, event_id, _, _, _, people = await _setup(session, client, make_client, sync_index, enterprises=3, capacity=2)
    assert (await people[0][2].post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    assert (await people[1][2].post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    full = await people[2][2].post(f"/api/v1/events/{event_id}/registrations")
    assert full.status_code == 409 and full.headers["content-type"] == "application/problem+json"
    assert full.json()["detail"] == "报名名额已满"
    assert (await staff.get(f"/api/v1/events/{event_id}")).json()["registered"] == 2

    again = await people[0][2].post(f"/api/v1/events/{event_id}/registrations")
    assert again.status_code == 409 and "已报名" in again.json()["detail"]
    # A withdrawn place can be taken by the next enterprise.
    assert (await people[0][2].delete(f"/api/v1/events/{event_id}/registrations/mine")).status_code == 204
    assert (await people[2][2].post(f"/api/v1/events/{event_id}/registrations")).status_code == 201


async def test_a_colleague_of_a_registered_enterprise_cannot_register_it_twice(
    client, make_client, session, sync_index
):
    _, event_id, _, _, _, people = await _setup(session, client, make_client, sync_index, enterprises=1)
    organisation, _, enterprise = people[0]
    colleague = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=organisation))
    assert (await enterprise.post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    assert (await colleague.post(f"/api/v1/events/{event_id}/registrations")).status_code == 409


async def test_registration_is_refused_once_closed(client, make_client, session, sync_index):
    staff, event_id, _, _, _, people = await _setup(session, client, make_client, sync_index, enterprises=2)
    assert (await people[0][2].post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    assert (await staff.post(f"/api/v1/events/{event_id}/status", json={"status": "closed"})).status_code == 200
    late = await people[1][2].post(f"/api/v1/events/{event_id}/registrations")
    assert late.status_code == 409 and late.json()["detail"] == "报名已截止"
    leaving = await people[0][2].delete(f"/api/v1/events/{event_id}/registrations/mine")
    assert leaving.status_code == 409


async def test_only_enterprises_register_and_drafts_are_hidden(client, make_client, session, sync_index):
    staff, event_id, _, _, host_client, _ = await _setup(session, client, make_client, sync_index, enterprises=0)
    assert (await host_client.post(f"/api/v1/events/{event_id}/registrations")).status_code == 403
    assert (await make_client().post(f"/api/v1/events/{event_id}/registrations")).status_code == 401
    draft = (await staff.post("/api/v1/events", json=event_body(title="内部筹备中的沙龙", kind="salon"))).json()
    assert (await make_client().get(f"/api/v1/events/{draft['id']}")).status_code == 404
    listed = [e["title"] for e in (await make_client().get("/api/v1/events")).json()["items"]]
    assert "内部筹备中的沙龙" not in listed and "南昌数字经济场景对接会" in listed
    assert (await host_client.post("/api/v1/events", json=event_body())).status_code == 403


async def test_someone_else_gets_404_for_a_meeting_and_its_calendar(client, make_client, session, sync_index):
    staff, event_id, _, _, host_client, people = await _setup(session, client, make_client, sync_index, enterprises=2)
    for _, _, enterprise in people:
        await enterprise.post(f"/api/v1/events/{event_id}/registrations")
    meetings = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    theirs = next(m for m in meetings if m["organisation_id"] == people[1][0].id)
    outsider = people[0][2]
    for path in (f"/api/v1/events/{event_id}/meetings/{theirs['id']}", theirs["calendar_url"]):
        assert (await outsider.get(path)).status_code == 404
        assert (await host_client.get(path)).status_code == 200
        assert (await staff.get(path)).status_code == 200
        assert (await make_client().get(path)).status_code == 401
    refused = await outsider.post(
        f"/api/v1/events/{event_id}/meetings/{theirs['id']}/reply", json={"reply": "declined"}
    )
    assert refused.status_code == 404
    assert (await staff.get(f"/api/v1/events/{event_id}/meetings/{theirs['id']}")).json()["status"] == "proposed"


async def test_re_proposing_keeps_accepted_meetings_and_drops_declined_pairs(client, make_client, session, sync_index):
    staff, event_id, _, host, host_client, people = await _setup(
        session, client, make_client, sync_index, enterprises=3
    )
    for _, _, enterprise in people:
        await enterprise.post(f"/api/v1/events/{event_id}/registrations")
    first_plan = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    by_org = {m["organisation_id"]: m for m in first_plan}
    accepted, declined = by_org[people[2][0].id], by_org[people[1][0].id]
    await people[2][2].post(f"/api/v1/events/{event_id}/meetings/{accepted['id']}/reply", json={"reply": "accepted"})
    await host_client.post(f"/api/v1/events/{event_id}/meetings/{accepted['id']}/reply", json={"reply": "accepted"})
    await host_client.post(f"/api/v1/events/{event_id}/meetings/{declined['id']}/reply", json={"reply": "declined"})
    # The host now can only make the slot the accepted meeting already holds and one more.
    await host_client.put(f"/api/v1/events/{event_id}/availability", json={"slots": [accepted["slot"], 3]})

    second_plan = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    kept = next(m for m in second_plan if m["id"] == accepted["id"])
    assert kept["slot"] == accepted["slot"] and kept["status"] == "accepted"
    assert [m["status"] for m in second_plan if m["organisation_id"] == people[1][0].id] == ["declined"]
    fresh = [m for m in second_plan if m["status"] == "proposed"]
    assert [(m["organisation_id"], m["slot"]) for m in fresh] == [(people[0][0].id, 3)]
    assert all(m["issuer_user_id"] == host.id for m in second_plan)


async def test_outcome_after_the_event_creates_a_linked_pairing(client, make_client, session, sync_index):
    staff, event_id, opportunity, _, host_client, people = await _setup(
        session, client, make_client, sync_index, enterprises=1
    )
    organisation, _, enterprise = people[0]
    await enterprise.post(f"/api/v1/events/{event_id}/registrations")
    (meeting,) = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    for side in (enterprise, host_client):
        await side.post(f"/api/v1/events/{event_id}/meetings/{meeting['id']}/reply", json={"reply": "accepted"})
    outcome_path = f"/api/v1/events/{event_id}/meetings/{meeting['id']}/outcome"
    body = {"result": "intent", "note": "双方约定下月现场踏勘", "create_pairing": True}

    early = await staff.put(outcome_path, json=body)
    assert early.status_code == 409 and "活动结束后" in early.json()["detail"]
    assert (
        await staff.post(f"/api/v1/events/{event_id}/status", json={"status": "finished"})
    ).status_code == 409  # not begun

    # The event takes place.
    await session.exec(
        update(Event)
        .where(Event.id == event_id)
        .values(starts_at=datetime.now(UTC) - timedelta(hours=3), ends_at=datetime.now(UTC) - timedelta(hours=1))
    )
    assert (await staff.post(f"/api/v1/events/{event_id}/status", json={"status": "finished"})).status_code == 200
    assert (await host_client.put(outcome_path, json=body)).status_code == 403

    recorded = await staff.put(outcome_path, json=body)
    assert recorded.status_code == 200, recorded.text
    outcome = recorded.json()["outcome"]
    assert outcome["result_label"] == "有合作意向" and outcome["pairing_id"]
    pairing = (await session.exec(select(Pairing).where(Pairing.id == outcome["pairing_id"]))).one()
    assert (pairing.opportunity_id, pairing.organisation_id, pairing.stage) == (
        opportunity.id,
        organisation.id,
        PairingStage.recommended,
    )
    assert pairing.offering_id == meeting["offering_id"]

    # Recording again keeps the same pairing rather than opening a second one.
    again = await staff.put(outcome_path, json={**body, "note": "已完成踏勘"})
    assert again.json()["outcome"]["pairing_id"] == pairing.id and again.json()["outcome"]["note"] == "已完成踏勘"
    assert (await enterprise.get(f"/api/v1/pairings/{pairing.id}")).status_code == 200


async def test_featured_opportunities_must_be_published(client, make_client, session, sync_index):
    staff, event_id, _, _, _, _ = await _setup(session, client, make_client, sync_index, enterprises=0)
    department = await create_organisation(session)
    await create_user(session, role=Role.issuer, organisation=department)
    draft = await create_opportunity(session, department, title="尚未发布的机会")
    refused = await staff.put(f"/api/v1/events/{event_id}/opportunities", json={"opportunity_ids": [draft.id]})
    assert refused.status_code == 422 and "尚未发布的机会" in refused.json()["detail"]
    assert len((await staff.get(f"/api/v1/events/{event_id}")).json()["opportunities"]) == 1


async def test_an_opportunity_whose_issuer_has_no_account_is_featured_but_gets_meetings_once_it_has_one(
    client, make_client, session, sync_index
):
    staff, event_id, opportunity, _, _, people = await _setup(session, client, make_client, sync_index, enterprises=1)
    await people[0][2].post(f"/api/v1/events/{event_id}/registrations")
    imported_from = await create_organisation(session, name="赣州市城市管理局（无账号）")
    imported = await create_opportunity(
        session, imported_from, title="城市内涝监测预警", status=ListingStatus.published
    )
    featured = await staff.put(
        f"/api/v1/events/{event_id}/opportunities", json={"opportunity_ids": [opportunity.id, imported.id]}
    )
    assert [o["has_host"] for o in featured.json()["opportunities"]] == [True, False]
    plan = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    assert {m["opportunity_id"] for m in plan} == {opportunity.id}

    newcomer = await create_user(session, role=Role.issuer, organisation=imported_from)
    plan = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    assert {(m["opportunity_id"], m["issuer_user_id"]) for m in plan} >= {(imported.id, newcomer.id)}


async def test_event_input_is_checked(client, make_client, session):
    staff = await login(client, await create_user(session, role=Role.matchmaker))
    backwards = await staff.post("/api/v1/events", json=event_body(ends_at=(START - timedelta(hours=1)).isoformat()))
    assert backwards.status_code == 422 and backwards.json()["field"] == "ends_at"
    naive = await staff.post("/api/v1/events", json=event_body(starts_at="2030-01-01T09:00:00"))
    assert naive.status_code == 422
    nowhere = await staff.post("/api/v1/events", json=event_body(place=""))
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "place"
    bad_link = await staff.post("/api/v1/events", json=event_body(online_link="javascript:alert(1)"))
    assert bad_link.status_code == 422 and bad_link.json()["field"] == "online_link"
    past = await staff.post(
        "/api/v1/events", json=event_body(starts_at="2020-01-01T09:00:00+08:00", ends_at="2020-01-01T11:00:00+08:00")
    )
    assert past.status_code == 422


async def test_registration_wishes_and_attendees_steer_the_meeting_plan(client, make_client, session, sync_index):
    """An enterprise that asks to meet the second opportunity meets it, although its offering fits the first better."""
    staff = await login(client, await create_user(session, role=Role.matchmaker))
    traffic = await create_organisation(session, name="南昌市交通运输局（意向测试）")
    water = await create_organisation(session, name="南昌市水务局（意向测试）")
    traffic_host = await create_user(session, role=Role.issuer, organisation=traffic)
    water_host = await create_user(session, role=Role.issuer, organisation=water)
    fitting = await create_opportunity(
        session, traffic, title="路口信号配时优化", status=ListingStatus.published, created_by_id=traffic_host.id
    )
    wished = await create_opportunity(
        session, water, title="城市供水管网漏损监测", status=ListingStatus.published, created_by_id=water_host.id
    )
    people = []
    for n in range(2):
        organisation = await create_organisation(session, kind="enterprise", name=f"赣江信号控制{n}号公司")
        await create_offering(session, organisation, title=f"路口信号自适应控制系统{n}", status=ListingStatus.published)
        people.append(
            await login(make_client(), await create_user(session, role=Role.enterprise, organisation=organisation))
        )
    await sync_index()
    event_id = (await staff.post("/api/v1/events", json=event_body(meeting_limit=1))).json()["id"]
    await staff.put(f"/api/v1/events/{event_id}/opportunities", json={"opportunity_ids": [fitting.id, wished.id]})
    await staff.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})

    outsider = await create_opportunity(session, traffic, title="不在本活动", status=ListingStatus.published)
    bad = await people[0].post(
        f"/api/v1/events/{event_id}/registrations", json={"wished_opportunity_ids": [outsider.id]}
    )
    assert bad.status_code == 422
    too_few = await people[0].post(
        f"/api/v1/events/{event_id}/registrations",
        json={
            "attendees": [{"name": "甲", "phone": "13900000001"}, {"name": "乙", "phone": "13900000002"}],
            "head_count": 1,
        },
    )
    assert too_few.status_code == 422
    registered = await people[0].post(
        f"/api/v1/events/{event_id}/registrations",
        json={
            "attendees": [{"name": "周工", "phone": "13907910000"}],
            "head_count": 2,
            "wished_opportunity_ids": [wished.id],
        },
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["wished_opportunity_ids"] == [wished.id] and registered.json()["head_count"] == 2
    assert (await people[1].post(f"/api/v1/events/{event_id}/registrations")).status_code == 201

    listed = (await staff.get(f"/api/v1/events/{event_id}/registrations")).json()
    first = next(r for r in listed if r["wished_opportunity_ids"])
    assert first["attendees"] == [{"name": "周工", "phone": "13907910000"}]

    plan = (await staff.post(f"/api/v1/events/{event_id}/proposals")).json()
    by_org = {m["organisation_id"]: m["opportunity_id"] for m in plan}
    wisher_org = first["organisation_id"]
    other_org = next(r["organisation_id"] for r in listed if r["organisation_id"] != wisher_org)
    assert by_org[wisher_org] == wished.id  # the wish comes before the better text fit
    assert by_org[other_org] == fitting.id  # without wishes, fit decides
