"""十百千 registry: zones, projects with one-step status and evidence, high-growth enterprises, targets and progress."""

from datetime import date

from sqlmodel import select

from backend.answers.models import Answer, AnswerMember, AnswerStatus, MemberStatus
from backend.audit.models import AuditEntry
from backend.auth.models import Role
from backend.demonstration import service as demonstration
from backend.demonstration.models import DemoProject, DemoProjectEnterprise, DemoZone, GrowthEnterprise
from backend.listings.models import ListingStatus
from backend.pairings.models import Pairing, PairingStage
from tests.factories import create_opportunity, create_organisation, create_user, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
API = "/api/v1/demonstration"


async def _matchmaker(session, client):
    office = await create_organisation(session, name="省数字经济办（十百千测试）")
    return await login(client, await create_user(session, role=Role.matchmaker, organisation=office))


async def _enterprise(session, **overrides):
    return await create_organisation(session, kind="enterprise", **overrides)


async def _pairing_at(session, stage=PairingStage.demonstration, *, region="360121", tracks=("vr",), answer_members=()):
    department = await create_organisation(session)
    opportunity = await create_opportunity(
        session,
        department,
        title="红谷滩VR文旅沉浸体验场景",
        region_code=region,
        tracks=list(tracks),
        status=ListingStatus.published,
    )
    enterprise = await _enterprise(session, name=f"南昌虚拟现实研究院{opportunity.id}")
    answer_id = None
    if answer_members:
        answer = Answer(
            opportunity_id=opportunity.id,
            lead_organisation_id=enterprise.id,
            title="联合体方案",
            status=AnswerStatus.selected,
        )
        session.add(answer)
        await session.flush()
        for member, status in answer_members:
            session.add(AnswerMember(answer_id=answer.id, organisation_id=member.id, status=status))
        answer_id = answer.id
    pairing = Pairing(opportunity_id=opportunity.id, organisation_id=enterprise.id, answer_id=answer_id, stage=stage)
    session.add(pairing)
    await session.flush()
    return pairing, opportunity, enterprise


async def _project(staff, **fields):
    response = await staff.post(f"{API}/projects", json={"title": "示范项目", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def _move(staff, project_id, status, on=None):
    body = {"status": status, **({"on": on} if on else {})}
    response = await staff.post(f"{API}/projects/{project_id}/status", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_matchmaker_keeps_zones_projects_and_enterprises(client, session):
    staff = await _matchmaker(session, client)
    lead = await create_organisation(session, name="南昌县人民政府（示范区测试）", kind="city")
    zone = await staff.post(
        f"{API}/zones",
        json={
            "name": "南昌县VR产业示范区",
            "region_code": "360121",
            "tracks": ["vr", "iot"],
            "lead_organisation_id": lead.id,
        },
    )
    assert zone.status_code == 201, zone.text
    assert zone.json()["region"]["name"] == "南昌县" and [t["name"] for t in zone.json()["tracks"]] == ["VR", "物联网"]
    assert zone.json()["lead_organisation"]["name"] == "南昌县人民政府（示范区测试）"

    maker = await _enterprise(session, name="江西某VR企业", region_code="360102")
    project = await _project(
        staff, zone_id=zone.json()["id"], enterprise_ids=[maker.id], tracks=["vr"], investment_wan="1200.50"
    )
    assert project["status_label"] == "申报" and project["region"]["code"] == "360121"  # from the zone
    assert (
        project["enterprises"] == [{"id": maker.id, "name": "江西某VR企业"}] and project["investment_wan"] == "1200.50"
    )

    edited = await staff.patch(
        f"{API}/projects/{project['id']}", json={"output_value_wan": "3000", "outcome": "带动就业 200 人"}
    )
    assert edited.status_code == 200 and edited.json()["outcome"] == "带动就业 200 人"

    growth = await staff.post(
        f"{API}/enterprises",
        json={
            "organisation_id": maker.id,
            "tracks": ["vr"],
            "year_recognised": 2025,
            "indicators": {"营业收入增速(%)": 35},
        },
    )
    assert growth.status_code == 201, growth.text
    assert growth.json()["region"]["code"] == "360102" and growth.json()["indicators"] == {"营业收入增速(%)": 35.0}
    again = await staff.post(f"{API}/enterprises", json={"organisation_id": maker.id, "year_recognised": 2025})
    assert again.status_code == 409

    listed = (await client.get(f"{API}/zones", params={"region_code": "360100"})).json()
    assert [z["name"] for z in listed["items"]] == ["南昌县VR产业示范区"] and listed["items"][0]["project_count"] == 1
    assert (listed["total"], listed["page"], listed["page_size"]) == (1, 1, 20)


async def _all_pages(caller, path, **params):
    """Walk a paged list to its end; every page must agree on the total."""
    seen, page, totals = [], 1, set()
    while True:
        body = (await caller.get(f"{API}/{path}", params={**params, "page": page})).json()
        totals.add(body["total"])
        seen.extend(item["id"] for item in body["items"])
        if page * body["page_size"] >= body["total"]:
            return seen, totals
        page += 1


async def test_registry_lists_are_paged_with_a_total_and_no_cap(client, session):
    staff = await _matchmaker(session, client)
    # All in one county and one status, so the order has nothing but the id to tell rows apart.
    zones = [
        DemoZone(name=f"分页示范区{i:02d}", region_code="360121", designated_on=date(2026, 1, 1)) for i in range(25)
    ]
    projects = [DemoProject(title=f"分页项目{i:02d}", region_code="360121") for i in range(25)]
    session.add_all(zones + projects + [DemoProject(title="已入选项目", status="selected")])
    companies = [await _enterprise(session, name=f"分页企业{i:02d}") for i in range(25)]
    growth = [
        GrowthEnterprise(organisation_id=c.id, year_recognised=2025 if i < 22 else 2024)
        for i, c in enumerate(companies)
    ]
    session.add_all(growth)
    await session.flush()

    first = (await staff.get(f"{API}/enterprises")).json()
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (25, 1, 20, 20)
    second = (await staff.get(f"{API}/enterprises", params={"page": 2})).json()
    assert (second["total"], second["page"], len(second["items"])) == (25, 2, 5)
    newest_first = sorted((g.id for g in growth), reverse=True)
    assert [e["id"] for e in first["items"] + second["items"]] == newest_first
    assert (await staff.get(f"{API}/enterprises", params={"page": 3})).json()["items"] == []
    of_2025 = (await staff.get(f"{API}/enterprises", params={"year": 2025, "page": 2})).json()
    assert of_2025["total"] == 22 and len(of_2025["items"]) == 2

    zone_ids, totals = await _all_pages(client, "zones", page_size=7)
    assert totals == {25} and zone_ids == sorted(z.id for z in zones)
    in_county = (await client.get(f"{API}/zones", params={"region_code": "360100", "page_size": 10, "page": 3})).json()
    assert in_county["total"] == 25 and len(in_county["items"]) == 5
    assert (await client.get(f"{API}/zones", params={"region_code": "360700"})).json()["total"] == 0

    project_ids, totals = await _all_pages(staff, "projects", status="applied", page_size=10)
    assert totals == {25} and project_ids == sorted((p.id for p in projects), reverse=True)
    assert (await staff.get(f"{API}/projects")).json()["total"] == 26
    zoned = (await staff.get(f"{API}/projects", params={"zone_id": zones[0].id})).json()
    assert zoned == {"items": [], "total": 0, "page": 1, "page_size": 20}

    for bad in ({"page": 0}, {"page_size": 101}, {"page": "abc"}):
        assert (await staff.get(f"{API}/enterprises", params=bad)).status_code == 422


async def test_an_organisation_pages_through_and_counts_only_its_own(client, make_client, session):
    company = await _enterprise(session, name="只看自己的企业")
    others = [await _enterprise(session) for _ in range(3)]
    member = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=company))
    department = await create_organisation(session)
    issuer = await login(make_client(), await create_user(session, role=Role.issuer, organisation=department))
    opportunity = await create_opportunity(
        session, department, title="只属于发布单位的机会", status=ListingStatus.published
    )
    projects = [DemoProject(title=f"项目{i}", opportunity_id=opportunity.id if i == 7 else None) for i in range(12)]
    session.add_all(projects)
    await session.flush()
    # The company takes part in projects 0, 3, 6, 9; project 7 is the department's through its opportunity.
    session.add_all(DemoProjectEnterprise(project_id=projects[i].id, organisation_id=company.id) for i in (0, 3, 6, 9))
    session.add_all(DemoProjectEnterprise(project_id=p.id, organisation_id=others[0].id) for p in projects)
    session.add_all(GrowthEnterprise(organisation_id=o.id, year_recognised=2025) for o in [company, *others])
    await session.flush()

    first = (await member.get(f"{API}/projects", params={"page_size": 3})).json()
    second = (await member.get(f"{API}/projects", params={"page_size": 3, "page": 2})).json()
    assert first["total"] == second["total"] == 4
    assert [p["id"] for p in first["items"] + second["items"]] == [projects[i].id for i in (9, 6, 3, 0)]
    assert (await member.get(f"{API}/projects", params={"status": "selected"})).json()["total"] == 0
    issued = (await issuer.get(f"{API}/projects")).json()
    assert issued["total"] == 1 and [p["id"] for p in issued["items"]] == [projects[7].id]

    own = (await member.get(f"{API}/enterprises")).json()
    assert own["total"] == 1 and [e["organisation"]["name"] for e in own["items"]] == ["只看自己的企业"]
    assert (await member.get(f"{API}/enterprises", params={"page": 2})).json() == {
        "items": [],
        "total": 1,
        "page": 2,
        "page_size": 20,
    }
    assert (await issuer.get(f"{API}/enterprises")).json()["total"] == 0
    assert (await make_client().get(f"{API}/projects")).status_code == 401


async def test_only_matchmakers_write_the_registry_and_only_admins_set_targets(client, make_client, session):
    company = await _enterprise(session)
    enterprise = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=company))
    staff = await _matchmaker(session, client)
    zone_body = {"name": "企业自封示范区", "region_code": "360100"}
    assert (await enterprise.post(f"{API}/zones", json=zone_body)).status_code == 403
    assert (await enterprise.post(f"{API}/projects", json={"title": "自报项目"})).status_code == 403
    assert (
        await enterprise.post(f"{API}/enterprises", json={"organisation_id": company.id, "year_recognised": 2025})
    ).status_code == 403
    assert (await make_client().post(f"{API}/zones", json=zone_body)).status_code == 401
    target = {"scope": "province", "year": 2025, "metric": "zones", "value": 60}
    assert (await staff.put(f"{API}/targets", json=target)).status_code == 403
    assert (await enterprise.put(f"{API}/targets", json=target)).status_code == 403
    assert (await client.get(f"{API}/zones")).json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
    }  # nothing was saved


async def test_project_status_moves_one_step_at_a_time_with_audit_entries(client, session):
    staff = await _matchmaker(session, client)
    project = await _project(staff)
    skipped = await staff.post(f"{API}/projects/{project['id']}/status", json={"status": "building"})
    assert skipped.status_code == 409 and "下一步只能是「入选」" in skipped.json()["detail"]

    selected = await _move(staff, project["id"], "selected", on="2025-03-15")
    assert selected["status_label"] == "入选" and selected["selected_on"] == "2025-03-15"
    for status in ("building", "accepted", "promoted"):
        await _move(staff, project["id"], status)
    beyond = await staff.post(f"{API}/projects/{project['id']}/status", json={"status": "promoted"})
    assert beyond.status_code == 409

    entries = (
        await session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity_kind == "demo_project", AuditEntry.entity_id == project["id"])
            .order_by(AuditEntry.id)
        )
    ).all()
    moves = [(e.from_state, e.to_state) for e in entries if e.action.startswith("status:")]
    assert moves == [
        ("applied", "selected"),
        ("selected", "building"),
        ("building", "accepted"),
        ("accepted", "promoted"),
    ]


async def test_a_project_links_only_to_things_that_exist(client, session):
    staff = await _matchmaker(session, client)
    unknown_pairing = await staff.post(f"{API}/projects", json={"title": "无对接", "pairing_id": 999999})
    assert unknown_pairing.status_code == 404 and unknown_pairing.json()["field"] == "pairing_id"
    assert (await staff.post(f"{API}/projects", json={"title": "无机会", "opportunity_id": 999999})).status_code == 404
    assert (await staff.post(f"{API}/projects", json={"title": "无示范区", "zone_id": 999999})).status_code == 404
    assert (
        await staff.post(f"{API}/projects", json={"title": "无企业", "enterprise_ids": [999999]})
    ).status_code == 404
    government = await create_organisation(session)
    not_enterprise = await staff.post(
        f"{API}/projects", json={"title": "政府不是企业", "enterprise_ids": [government.id]}
    )
    assert not_enterprise.status_code == 422
    assert (
        await staff.post(f"{API}/projects", json={"title": "乱填赛道", "tracks": ["no_such_track"]})
    ).status_code == 422
    signed, _, _ = await _pairing_at(session, PairingStage.signed)
    early = await staff.post(f"{API}/projects", json={"title": "签约即申报", "pairing_id": signed.id})
    assert early.status_code == 409 and "示范" in early.json()["detail"]
    assert (await staff.get(f"{API}/projects")).json()["total"] == 0


async def test_milestone_evidence_is_checked_by_content_and_served_to_the_project_only(client, make_client, session):
    staff = await _matchmaker(session, client)
    maker = await _enterprise(session)
    project = await _project(staff, enterprise_ids=[maker.id])
    milestone = await staff.post(
        f"{API}/projects/{project['id']}/milestones", json={"title": "完成一期建设", "due_on": "2025-06-30"}
    )
    assert milestone.status_code == 201, milestone.text
    url = f"{API}/milestones/{milestone.json()['id']}/attachments"

    fake = await staff.post(url, files={"file": ("验收报告.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert fake.status_code == 422 and fake.json()["field"] == "file"
    exe = await staff.post(url, files={"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert exe.status_code == 422
    stored = await staff.post(url, files={"file": ("验收报告.pdf", PDF, "application/pdf")})
    assert stored.status_code == 201, stored.text

    detail = (await staff.get(f"{API}/projects/{project['id']}")).json()
    assert [e["filename"] for e in detail["milestones"][0]["evidence"]] == ["验收报告.pdf"]
    download = await staff.get(stored.json()["url"])
    assert (
        download.status_code == 200
        and download.content == PDF
        and "attachment" in download.headers["content-disposition"]
    )

    member = await login(make_client(), await create_user(session, role=Role.enterprise, organisation=maker))
    assert (await member.get(stored.json()["url"])).status_code == 200
    outsider = await login(
        make_client(), await create_user(session, role=Role.enterprise, organisation=await _enterprise(session))
    )
    assert (await outsider.get(stored.json()["url"])).status_code == 404
    assert (await outsider.get(f"{API}/projects/{project['id']}")).status_code == 404
    assert (await make_client().get(stored.json()["url"])).status_code == 401
    assert (await member.post(url, files={"file": ("补充.pdf", PDF, "application/pdf")})).status_code == 403


async def test_admin_edits_targets_as_data(client, make_client, session):
    admin = await login(make_client(), await create_user(session, role=Role.admin))
    changed = await admin.put(
        f"{API}/targets",
        json={"scope": "city", "scope_code": "360700", "year": 2031, "metric": "projects", "value": 40},
    )
    assert changed.status_code == 200 and changed.json()["scope_name"] == "赣州市"
    again = await admin.put(
        f"{API}/targets",
        json={"scope": "city", "scope_code": "360700", "year": 2031, "metric": "projects", "value": 45},
    )
    assert again.json()["id"] == changed.json()["id"] and again.json()["value"] == 45
    county = await admin.put(
        f"{API}/targets", json={"scope": "city", "scope_code": "360121", "year": 2031, "metric": "zones", "value": 1}
    )
    assert county.status_code == 422 and county.json()["field"] == "scope_code"
    progress = (await client.get(f"{API}/progress", params={"year": 2031})).json()
    ganzhou = next(c for c in progress["cities"] if c["code"] == "360700")
    assert ganzhou["projects"]["target"] == 45
    listed = (await client.get(f"{API}/targets", params={"year": 2031})).json()
    assert [(t["scope_code"], t["value"]) for t in listed["items"]] == [("360700", 45)] and listed["total"] == 1


async def test_targets_are_paged_like_every_list(client):
    year = demonstration.china_today().year
    first = (await client.get(f"{API}/targets", params={"year": year, "page_size": 7})).json()
    total = first["total"]
    assert total > 7 and len(first["items"]) == 7
    seen = []
    for number in range(1, -(-total // 7) + 1):
        page = (await client.get(f"{API}/targets", params={"year": year, "page_size": 7, "page": number})).json()
        assert page["total"] == total
        seen += [(t["scope"], t["scope_code"], t["metric"]) for t in page["items"]]
    assert len(seen) == len(set(seen)) == total


async def test_this_years_targets_are_the_plans_figures_split_over_the_cities(client):
    progress = (await client.get(f"{API}/progress")).json()
    assert progress["year"] == demonstration.china_today().year
    overall = progress["overall"]
    assert (overall["zones"]["target"], overall["projects"]["target"], overall["enterprises"]["target"]) == (
        50,
        300,
        3000,
    )
    assert len(progress["cities"]) == 12
    for metric, total in (("zones", 50), ("projects", 300), ("enterprises", 3000)):
        shares = [c[metric]["target"] for c in progress["cities"]]
        assert sum(shares) == total and max(shares) - min(shares) <= 1
    nanchang = progress["cities"][0]
    assert nanchang["name"] == "南昌市" and nanchang["zones"]["target"] == 5 and nanchang["projects"]["target"] == 25


async def test_progress_numbers_are_computed_from_the_registry(client, make_client, session):
    """A hand-counted registry for 2025; every figure below was counted by hand from these rows."""
    staff = await _matchmaker(session, client)
    admin = await login(make_client(), await create_user(session, role=Role.admin))

    zones = [  # region (city it rolls up to), tracks, designated_on
        ("南昌县示范区", "360121", ["vr", "iot"], "2025-02-10"),  # 南昌
        ("南昌市示范区", "360100", ["vr"], "2025-05-01"),  # 南昌
        ("章贡区示范区", "360702", ["smart_agriculture"], "2025-05-20"),  # 赣州
        ("全省示范区", "360000", [], "2024-11-01"),  # no city; counts from before 2025
        ("明年的示范区", "360100", ["vr"], "2026-03-01"),  # not yet in 2025
    ]
    for name, region, tracks, on in zones:
        assert (
            await staff.post(
                f"{API}/zones", json={"name": name, "region_code": region, "tracks": tracks, "designated_on": on}
            )
        ).status_code == 201

    p1 = await _project(staff, title="P1", region_code="360121", tracks=["vr"])
    await _move(staff, p1["id"], "selected", on="2025-03-15")
    await _move(staff, p1["id"], "building")  # still counted beyond 入选
    p2 = await _project(staff, title="P2", region_code="360702", tracks=["smart_agriculture", "iot"])
    await _move(staff, p2["id"], "selected", on="2025-06-30")
    await _project(staff, title="P3 申报中", region_code="360100", tracks=["vr"])  # not counted
    p4 = await _project(staff, title="P4", region_code="GJXQ", tracks=["iot"])
    await _move(staff, p4["id"], "selected", on="2026-01-05")  # counted from 2026

    enterprises = [  # organisation region, explicit region, tracks, year, date
        ("360102", None, ["vr"], 2025, "2025-04-01"),  # 南昌 (东湖区)
        ("360702", None, ["iot"], 2025, None),  # 赣州, from 1 January
        ("360100", "GJXQ", ["vr", "iot"], 2024, None),  # 赣江新区, recognised earlier
        ("360100", None, [], 2026, None),  # not yet in 2025
    ]
    for org_region, region, tracks, year, on in enterprises:
        organisation = await _enterprise(session, region_code=org_region)
        body = {
            "organisation_id": organisation.id,
            "region_code": region,
            "tracks": tracks,
            "year_recognised": year,
            "recognised_on": on,
        }
        assert (await staff.post(f"{API}/enterprises", json=body)).status_code == 201

    for scope, code, metric, value in (
        ("province", "", "zones", 10),
        ("city", "360100", "zones", 4),
        ("track", "vr", "projects", 2),
    ):
        set_ = await admin.put(
            f"{API}/targets", json={"scope": scope, "scope_code": code, "year": 2025, "metric": metric, "value": value}
        )
        assert set_.status_code == 200, set_.text

    progress = (await client.get(f"{API}/progress", params={"year": 2025})).json()

    def figures(row):
        return {
            m: (row[m]["actual"], row[m]["target"], row[m]["percent"]) for m in ("zones", "projects", "enterprises")
        }

    assert figures(progress["overall"]) == {
        "zones": (4, 10, 40.0),
        "projects": (2, None, None),
        "enterprises": (3, None, None),
    }
    cities = {c["code"]: c for c in progress["cities"]}
    assert figures(cities["360100"]) == {
        "zones": (2, 4, 50.0),
        "projects": (1, None, None),
        "enterprises": (1, None, None),
    }
    assert figures(cities["360700"]) == {
        "zones": (1, None, None),
        "projects": (1, None, None),
        "enterprises": (1, None, None),
    }
    assert figures(cities["GJXQ"]) == {
        "zones": (0, None, None),
        "projects": (0, None, None),
        "enterprises": (1, None, None),
    }
    assert sum(c["zones"]["actual"] for c in progress["cities"]) == 3 and progress["unassigned"]["zones"]["actual"] == 1

    tracks = {t["code"]: t for t in progress["tracks"]}
    assert figures(tracks["vr"]) == {"zones": (2, None, None), "projects": (1, 2, 50.0), "enterprises": (2, None, None)}
    assert figures(tracks["iot"]) == {
        "zones": (1, None, None),
        "projects": (1, None, None),
        "enterprises": (2, None, None),
    }
    assert figures(tracks["smart_agriculture"])["projects"] == (1, None, None)

    trend = [(p["month"], p["zones"], p["projects"], p["enterprises"]) for p in progress["trend"]]
    assert trend == [
        (1, 1, 0, 2),
        (2, 2, 0, 2),
        (3, 2, 1, 2),
        (4, 2, 1, 3),
        (5, 4, 1, 3),
        (6, 4, 2, 3),
        (7, 4, 2, 3),
        (8, 4, 2, 3),
        (9, 4, 2, 3),
        (10, 4, 2, 3),
        (11, 4, 2, 3),
        (12, 4, 2, 3),
    ]


async def test_a_demonstration_pairing_proposes_a_prefilled_project(client, session):
    staff = await _matchmaker(session, client)
    partner = await _enterprise(session, name="赣州数字文旅公司")
    hesitant = await _enterprise(session, name="尚未确认的成员")
    pairing, opportunity, enterprise = await _pairing_at(
        session,
        region="360121",
        tracks=("vr", "digital_creative"),
        answer_members=[(partner, MemberStatus.confirmed), (hesitant, MemberStatus.pending)],
    )
    for name, region, tracks in (
        ("赣州示范区", "360702", ["vr"]),
        ("南昌市级示范区", "360100", ["vr"]),
        ("南昌县文旅示范区", "360121", ["digital_creative"]),
    ):
        await staff.post(f"{API}/zones", json={"name": name, "region_code": region, "tracks": tracks})

    proposal = await demonstration.proposal_from_pairing(session, pairing.id)
    assert proposal.title == opportunity.title and proposal.opportunity_id == opportunity.id
    assert proposal.zone_name == "南昌县文旅示范区"  # same county beats same city
    assert proposal.tracks == ["vr", "digital_creative"] and proposal.region_code == "360121"
    assert proposal.enterprise_ids == [enterprise.id, partner.id]  # the pending member did not produce it

    over_api = (await staff.get(f"{API}/pairings/{pairing.id}/proposal")).json()
    assert over_api["enterprise_ids"] == [enterprise.id, partner.id] and over_api["zone_id"] == proposal.zone_id
    created = await staff.post(f"{API}/pairings/{pairing.id}/project")
    assert created.status_code == 201, created.text
    project = created.json()
    assert (
        project["pairing_id"] == pairing.id
        and project["zone"]["name"] == "南昌县文旅示范区"
        and project["status"] == "applied"
    )
    assert [e["name"] for e in project["enterprises"]] == [enterprise.name, "赣州数字文旅公司"]
    duplicate = await staff.post(f"{API}/pairings/{pairing.id}/project")
    assert duplicate.status_code == 409 and duplicate.json()["project_id"] == project["id"]


async def test_proposals_need_a_pairing_at_the_demonstration_stage(client, make_client, session):
    staff = await _matchmaker(session, client)
    assert (await staff.get(f"{API}/pairings/999999/proposal")).status_code == 404
    negotiating, _, _ = await _pairing_at(session, PairingStage.negotiation)
    early = await staff.get(f"{API}/pairings/{negotiating.id}/proposal")
    assert early.status_code == 409 and "「洽谈」阶段" in early.json()["detail"]
    early_project = await staff.post(f"{API}/pairings/{negotiating.id}/project")
    assert early_project.status_code == 409 and "示范" in early_project.json()["detail"]
    ready, _, enterprise = await _pairing_at(session)
    user = await create_user(session, role=Role.enterprise, organisation=enterprise)
    assert (await (await login(make_client(), user)).get(f"{API}/pairings/{ready.id}/proposal")).status_code == 403


async def test_the_demo_has_a_registry_marked_as_demo_data_and_progress_to_show(session):
    from backend.auth.actor import Actor
    from backend.auth.models import User
    from backend.seeding import DEMO_ACCOUNTS, seed_demo, seed_demonstration_demo

    await seed_demo(session)
    figures = (await demonstration.progress(session)).overall
    # Before: the demo had no registry rows, so every figure read 0 / 0.0 %.
    assert figures.zones.actual == 8 and figures.zones.percent and figures.zones.percent > 0
    assert figures.projects.actual >= 15 and figures.enterprises.actual >= 30
    zones = (await session.exec(select(DemoZone))).all()
    projects = (await session.exec(select(DemoProject))).all()
    assert all(z.name.endswith("（演示）") for z in zones) and all(p.title.endswith("（演示）") for p in projects)
    assert {p.status for p in projects} >= {"applied", "selected", "building", "accepted", "promoted"}
    enterprises = (await session.exec(select(GrowthEnterprise))).all()
    assert all("演示数据" in e.note for e in enterprises)
    # Seeding again adds nothing.
    matchmaker = (await session.exec(select(User).where(User.email == DEMO_ACCOUNTS[1].email))).one()
    assert await seed_demonstration_demo(session, Actor(user=matchmaker)) == {}
