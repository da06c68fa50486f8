"""Statistics: figures checked against a hand-counted fixture; the fuller view is for matchmakers only."""

from datetime import UTC, date, datetime, timedelta

from backend.answers.models import Answer, AnswerStatus
from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.listings.models import ListingStatus, OpportunityDomain
from backend.organisations.models import OrganisationKind
from backend.pairings import service as pairings
from backend.pairings.models import PairingStage
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

PUBLISHED = ListingStatus.published
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


async def build_fixture(session):
    """Hand-counted: see the expectations in each test."""
    province = await create_organisation(session, name="统计测试省厅", kind=OrganisationKind.government)
    city = await create_organisation(session, name="统计测试市政府", kind=OrganisationKind.city, region_code="360700")
    e1 = await create_organisation(session, name="统计测试企业一", kind=OrganisationKind.enterprise)
    e2 = await create_organisation(session, name="统计测试企业二", kind=OrganisationKind.enterprise)
    e3 = await create_organisation(session, name="统计测试企业三", kind=OrganisationKind.enterprise)
    future = date.today() + timedelta(days=30)

    # Opportunities: o1, o2 (province, 南昌 incl. 南昌县), o3, o4, o7 (city; 赣州, 省外, 九江 and expired).
    o1 = await create_opportunity(
        session, province, title="o1", region_code="360100", tracks=["iot"], status=PUBLISHED, published_at=T0
    )
    o2 = await create_opportunity(
        session,
        province,
        title="o2",
        region_code="360121",
        tracks=["iot", "drones"],
        status=PUBLISHED,
        published_at=T0,
        deadline=future,
    )
    o3 = await create_opportunity(
        session,
        city,
        title="o3",
        region_code="360700",
        tracks=["smart_agriculture"],
        status=PUBLISHED,
        published_at=T0,
        deadline=future,
    )
    await create_opportunity(
        session,
        city,
        title="o4",
        region_code=None,
        place="四川省成都市",
        tracks=["chips"],
        status=PUBLISHED,
        published_at=T0,
    )
    await create_opportunity(session, province, title="o5 草稿", tracks=["iot"])
    await create_opportunity(
        session, province, title="o6 已截止", tracks=["iot"], status=ListingStatus.closed, published_at=T0
    )
    await create_opportunity(
        session,
        city,
        title="o7 已过期",
        region_code="360400",
        tracks=["vr"],
        status=PUBLISHED,
        published_at=T0,
        deadline=date.today() - timedelta(days=1),
    )
    session.add(OpportunityDomain(listing_id=o1.id, domain_code="smart_city"))
    session.add(OpportunityDomain(listing_id=o2.id, domain_code="smart_city"))
    session.add(OpportunityDomain(listing_id=o3.id, domain_code="modern_agriculture"))

    # Offerings: f1 (南昌), f2 (章贡区 → 赣州), f4 (南昌), f5 (全国) published; f3 a draft.
    await create_offering(session, e1, title="f1", region_code="360100", tracks=["iot"], status=PUBLISHED)
    await create_offering(
        session, e2, title="f2", region_code="360702", tracks=["iot", "smart_agriculture"], status=PUBLISHED
    )
    await create_offering(session, e3, title="f3 草稿", tracks=["chips"])
    await create_offering(session, e3, title="f4", region_code="360100", tracks=["drones"], status=PUBLISHED)
    await create_offering(session, e1, title="f5", region_code=None, place="全国", tracks=["drones"], status=PUBLISHED)

    # Answers: o1 first answered after 2 days, o2 after 6; drafts and withdrawn answers do not count.
    for opportunity, organisation, status, days in (
        (o1, e1, AnswerStatus.submitted, 4),
        (o1, e2, AnswerStatus.shortlisted, 2),
        (o2, e1, AnswerStatus.submitted, 6),
        (o2, e2, AnswerStatus.draft, None),
        (o3, e1, AnswerStatus.withdrawn, 1),
    ):
        session.add(
            Answer(
                opportunity_id=opportunity.id,
                lead_organisation_id=organisation.id,
                title="答题",
                status=status,
                submitted_at=T0 + timedelta(days=days) if days is not None else None,
            )
        )

    # Pairings through the real pipeline: 推荐; 意向; 洽谈; 签约; declined after 意向.
    staff = Actor(user=await create_user(session, role=Role.matchmaker))

    async def pairing(opportunity, organisation, *stages):
        p = await pairings.create(session, actor=staff, opportunity_id=opportunity.id, organisation_id=organisation.id)
        for stage in stages:
            note = "预算不匹配" if stage == PairingStage.declined else ""
            p = await pairings.move(
                session, actor=staff, pairing_id=p.id, to=stage, expected_version=p.version, note=note
            )

    await pairing(o1, e1)
    await pairing(o1, e2, PairingStage.intent)
    await pairing(o2, e1, PairingStage.intent, PairingStage.negotiation)
    await pairing(o2, e2, PairingStage.intent, PairingStage.negotiation, PairingStage.pilot, PairingStage.signed)
    await pairing(o3, e2, PairingStage.intent, PairingStage.declined)
    await session.flush()
    return {"province": province, "city": city}


def _by(rows, key="code"):
    return {row[key]: row for row in rows}


async def test_published_listings_are_counted_per_track_domain_and_city(client, session):
    await build_fixture(session)
    response = await client.get("/api/v1/statistics")
    assert response.status_code == 200, response.text
    stats = response.json()

    assert stats["totals"] == {
        "published_opportunities": 5,
        "open_opportunities": 4,
        "published_offerings": 4,
        "pairings": 5,
    }
    tracks = _by(stats["by_track"])
    assert (tracks["iot"]["opportunities"], tracks["iot"]["offerings"]) == (2, 2)
    assert (tracks["drones"]["opportunities"], tracks["drones"]["offerings"]) == (1, 2)
    assert (tracks["smart_agriculture"]["opportunities"], tracks["smart_agriculture"]["offerings"]) == (1, 1)
    assert (tracks["chips"]["opportunities"], tracks["chips"]["offerings"]) == (
        1,
        0,
    )  # the draft offering is not counted
    assert (tracks["vr"]["opportunities"], tracks["vr"]["offerings"]) == (1, 0)
    assert tracks["iot"]["name"] == "物联网"
    assert sum(t["opportunities"] for t in stats["by_track"]) == 6  # o2 counts under two tracks

    domains = _by(stats["by_domain"])
    assert domains["smart_city"]["opportunities"] == 2
    assert domains["modern_agriculture"]["opportunities"] == 1

    cities = _by(stats["by_city"])
    # 南昌县 (360121) counts for 南昌市; 章贡区 (360702) for 赣州市.
    assert (cities["360100"]["opportunities"], cities["360100"]["offerings"]) == (2, 2)
    assert (cities["360700"]["opportunities"], cities["360700"]["offerings"]) == (1, 1)
    assert (cities["360400"]["opportunities"], cities["360400"]["offerings"]) == (1, 0)
    assert (cities["other"]["opportunities"], cities["other"]["offerings"]) == (1, 1)
    assert cities["360100"]["name"] == "南昌市"
    assert cities["361100"]["opportunities"] == 0  # every city is listed, even without listings


async def test_funnel_counts_each_stage_reached_and_the_conversion_to_the_next(client, session):
    await build_fixture(session)
    funnel = (await client.get("/api/v1/statistics")).json()["funnel"]
    stages = _by(funnel["stages"], "stage")
    assert [s["stage"] for s in funnel["stages"]] == [
        "recommended",
        "intent",
        "negotiation",
        "pilot",
        "signed",
        "demonstration",
    ]
    # The declined pairing reached 意向 before it was declined, and still counts up to there.
    assert [s["reached"] for s in funnel["stages"]] == [5, 4, 2, 1, 1, 0]
    assert stages["recommended"]["conversion"] == 0.8
    assert stages["intent"]["conversion"] == 0.5
    assert stages["negotiation"]["conversion"] == 0.5
    assert stages["pilot"]["conversion"] == 1.0
    assert stages["signed"]["conversion"] == 0.0
    assert stages["demonstration"]["conversion"] is None
    assert stages["recommended"]["label"] == "推荐"
    assert (stages["recommended"]["current"], stages["intent"]["current"], stages["signed"]["current"]) == (1, 1, 1)
    assert funnel["declined"] == 1


async def test_matchmakers_see_answers_per_issuer_with_median_response_time(client, session):
    organisations = await build_fixture(session)
    await login(client, await create_user(session, role=Role.matchmaker))
    stats = (await client.get("/api/v1/statistics")).json()
    assert stats["full"] is True
    issuers = _by(stats["issuers"], "organisation_id")
    province = issuers[organisations["province"].id]
    # o1, o2 and the closed o6 were published; o1 and o2 were answered (3 answers; first after 2 and 6 days).
    assert (province["opportunities"], province["answered_opportunities"], province["answers"]) == (3, 2, 3)
    assert province["median_response_days"] == 4.0
    city = issuers[organisations["city"].id]
    assert (city["opportunities"], city["answered_opportunities"], city["answers"]) == (3, 0, 0)
    assert city["median_response_days"] is None
    assert stats["issuers"][0]["organisation_id"] == organisations["province"].id  # most answers first


async def test_supply_gap_flags_a_track_with_opportunities_but_no_offerings(client, session):
    await build_fixture(session)
    await login(client, await create_user(session, role=Role.matchmaker))
    stats = (await client.get("/api/v1/statistics")).json()
    assert stats["weak_supply_threshold"] == 3
    gaps = _by(stats["track_gaps"])
    assert (gaps["chips"]["open_opportunities"], gaps["chips"]["offerings"], gaps["chips"]["is_gap"]) == (1, 0, True)
    # o2 shares a track with four offerings (f1, f2, f4, f5); o1 only with two.
    assert (gaps["iot"]["open_opportunities"], gaps["iot"]["offerings"], gaps["iot"]["weak_opportunities"]) == (2, 2, 1)
    assert gaps["iot"]["weak_share"] == 0.5 and gaps["iot"]["is_gap"] is True
    assert (gaps["drones"]["weak_opportunities"], gaps["drones"]["is_gap"]) == (0, False)
    assert gaps["smart_agriculture"]["is_gap"] is True  # o3 finds one offering, fewer than three
    assert "vr" not in gaps  # the only VR opportunity's deadline has passed: nothing to supply
    assert stats["track_gaps"][0]["is_gap"] is True and stats["track_gaps"][-1]["code"] == "drones"
    domains = _by(stats["domain_gaps"])
    assert (domains["smart_city"]["open_opportunities"], domains["smart_city"]["offerings"]) == (2, 0)
    assert domains["smart_city"]["is_gap"] is True


async def test_visitors_and_other_accounts_get_the_public_summary_only(client, session):
    await build_fixture(session)
    public = (await client.get("/api/v1/statistics")).json()
    assert public["full"] is False
    assert public["issuers"] is None and public["track_gaps"] is None and public["domain_gaps"] is None
    enterprise = await create_organisation(session, kind=OrganisationKind.enterprise)
    await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    signed_in = (await client.get("/api/v1/statistics")).json()
    assert signed_in["full"] is False and signed_in["issuers"] is None


async def test_statistics_of_an_empty_platform_are_zeros_not_errors(client):
    stats = (await client.get("/api/v1/statistics")).json()
    assert stats["totals"]["published_opportunities"] == 0
    assert all(s["reached"] == 0 and s["conversion"] is None for s in stats["funnel"]["stages"])
    assert all(c["code"] != "other" for c in stats["by_city"])
