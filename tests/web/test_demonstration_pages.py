"""十百千 pages: the public progress page, the matchmakers' registry forms, milestones with evidence, targets."""

import re
from datetime import date

from sqlmodel import select

from backend.auth.models import Role
from backend.demonstration.models import DemoProject, DemoZone, GrowthEnterprise, Milestone, MilestoneEvidence
from backend.listings.models import ListingStatus
from backend.pairings.models import Pairing, PairingStage
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _signed_in(client, session, role=Role.matchmaker, organisation=None):
    user = await create_user(session, role=role, organisation=organisation)
    await sign_in(client, user.email, PASSWORD)
    return user


async def test_the_public_progress_page_shows_targets_and_actuals_without_signing_in(client, session):
    session.add(
        DemoZone(
            name="上饶大数据示范区",
            region_code="361102",
            track_codes=["software_it_services"],
            designated_on=date(2026, 1, 5),
        )
    )
    await session.flush()
    page = await client.get("/demonstration")
    assert page.status_code == 200
    html = page.text
    assert "十百千" in html and "全省完成情况" in html and "目标 50" in html and "目标 3000" in html
    assert "<caption>各设区市的实际数与目标" in html and '<th scope="row">上饶市</th>' in html
    assert "上饶大数据示范区" in html and "<svg" in html and "<script>" not in html and "style=" not in html


async def test_registry_pages_are_for_matchmakers_only(client, make_client, session):
    enterprise = make_client()
    await _signed_in(enterprise, session, Role.enterprise, await create_organisation(session, kind="enterprise"))
    assert (await enterprise.get("/demonstration/zones")).status_code == 403
    assert (await enterprise.get("/demonstration/projects/new")).status_code == 403
    visitor = await make_client().get("/demonstration/zones")
    assert visitor.status_code == 303 and "/login" in visitor.headers["location"]


async def test_a_matchmaker_registers_a_zone_with_field_messages_in_chinese(client, session):
    await _signed_in(client, session)
    form = await client.get("/demonstration/zones/new")
    assert 'name="name"' in form.text and 'name="tracks"' in form.text and "南昌市 · 南昌县" in form.text

    missing = await post_form(client, "/demonstration/zones/new", {"name": "", "region_code": ""})
    assert missing.status_code == 422 and "请填写示范区名称" in missing.text and "请选择地区" in missing.text
    unknown_lead = await post_form(
        client,
        "/demonstration/zones/new",
        {"name": "新余锂电示范区", "region_code": "360500", "lead_organisation": "不存在的单位"},
    )
    assert unknown_lead.status_code == 422 and "找不到组织「不存在的单位」" in unknown_lead.text
    assert (await session.exec(select(DemoZone).where(DemoZone.name == "新余锂电示范区"))).first() is None

    lead = await create_organisation(session, name="新余市工业和信息化局（页面测试）")
    saved = await post_form(
        client,
        "/demonstration/zones/new",
        {"name": "新余锂电示范区", "region_code": "360500", "tracks": ["smart_energy"], "lead_organisation": lead.name},
    )
    assert saved.status_code == 303
    listing = (await client.get(saved.headers["location"])).text
    assert "示范区已保存" in listing and "新余锂电示范区" in listing and lead.name in listing


async def test_a_demonstration_pairing_prefills_the_new_project_form(client, session):
    await _signed_in(client, session)
    department = await create_organisation(session)
    opportunity = await create_opportunity(
        session,
        department,
        title="景德镇陶瓷工业互联网场景",
        region_code="360202",
        tracks=["industrial_internet"],
        status=ListingStatus.published,
    )
    maker = await create_organisation(session, kind="enterprise", name="景德镇陶瓷云科技")
    pairing = Pairing(opportunity_id=opportunity.id, organisation_id=maker.id, stage=PairingStage.demonstration)
    session.add(pairing)
    session.add(
        DemoZone(
            name="景德镇陶瓷示范区",
            region_code="360200",
            track_codes=["industrial_internet"],
            designated_on=date(2026, 2, 1),
        )
    )
    await session.flush()

    form = await client.get("/demonstration/projects/new", params={"pairing_id": pairing.id})
    assert form.status_code == 200
    html = form.text
    assert 'value="景德镇陶瓷工业互联网场景"' in html and "景德镇陶瓷云科技</textarea>" in html
    zone_id = re.search(r'<option value="(\d+)" selected>景德镇陶瓷示范区</option>', html).group(1)
    assert re.search(r'value="industrial_internet" checked', html) and f'name="pairing_id" value="{pairing.id}"' in html

    values = {
        "title": "景德镇陶瓷工业互联网场景",
        "pairing_id": str(pairing.id),
        "opportunity_id": str(opportunity.id),
        "enterprises": maker.name,
        "tracks": ["industrial_internet"],
        "zone_id": zone_id,
        "region_code": "360202",
    }
    saved = await post_form(
        client, "/demonstration/projects/new", values, token_from=f"/demonstration/projects/new?pairing_id={pairing.id}"
    )
    assert saved.status_code == 303, saved.text
    project = (await session.exec(select(DemoProject).where(DemoProject.pairing_id == pairing.id))).one()
    assert (
        project.zone_id == int(zone_id) and project.region_code == "360202" and project.opportunity_id == opportunity.id
    )
    detail = (await client.get(saved.headers["location"])).text
    assert "示范项目已保存" in detail and "景德镇陶瓷云科技" in detail and "推进到“入选”" in detail

    assert (await client.get("/demonstration/projects/new", params={"pairing_id": 999999})).status_code == 404


async def test_status_moves_one_step_and_milestones_take_checked_evidence(client, session):
    await _signed_in(client, session)
    project = DemoProject(title="吉安电子信息示范项目", region_code="360800")
    session.add(project)
    await session.flush()
    path = f"/demonstration/projects/{project.id}"

    skipped = await post_form(client, f"{path}/status", {"status": "accepted"}, token_from=path)
    assert skipped.status_code == 409 and "下一步只能是「入选」" in skipped.text
    moved = await post_form(client, f"{path}/status", {"status": "selected", "note": "省级评审通过"}, token_from=path)
    assert moved.status_code == 303 and "推进到“建设中”" in (await client.get(moved.headers["location"])).text

    bad = await post_form(
        client,
        f"{path}/milestones",
        {"title": "完成设备安装"},
        token_from=path,
        files={"file": ("安装验收.pdf", b"not really a pdf", "application/pdf")},
    )
    assert bad.status_code == 422 and "文件内容与扩展名 .pdf 不符" in bad.text
    assert (await session.exec(select(Milestone).where(Milestone.project_id == project.id))).all() == []

    good = await post_form(
        client,
        f"{path}/milestones",
        {"title": "完成设备安装", "due_on": "2026-06-30"},
        token_from=path,
        files={"file": ("安装验收.pdf", PDF, "application/pdf")},
    )
    assert good.status_code == 303
    detail = (await client.get(good.headers["location"])).text
    assert "里程碑已添加" in detail and "安装验收.pdf" in detail
    milestone = (await session.exec(select(Milestone).where(Milestone.project_id == project.id))).one()
    evidence = (
        await session.exec(select(MilestoneEvidence).where(MilestoneEvidence.milestone_id == milestone.id))
    ).one()
    download = await client.get(f"/api/v1/demonstration/milestones/{milestone.id}/attachments/{evidence.id}")
    assert download.status_code == 200 and download.content == PDF

    more = await post_form(
        client,
        f"/demonstration/milestones/{milestone.id}/attachments",
        {},
        token_from=path,
        files={"file": ("现场照片.png", b"GIF89a not a png", "image/png")},
    )
    assert more.status_code == 422 and "文件内容与扩展名 .png 不符" in more.text


async def test_a_growth_enterprise_is_registered_with_its_indicators(client, session):
    await _signed_in(client, session)
    company = await create_organisation(session, kind="enterprise", name="九江智能终端有限公司", region_code="360402")
    bad = await post_form(
        client,
        "/demonstration/enterprises/new",
        {"organisation": company.name, "year_recognised": "2026", "indicators": "营收增速三成"},
    )
    assert bad.status_code == 422 and "应写成“名称=数值”" in bad.text
    saved = await post_form(
        client,
        "/demonstration/enterprises/new",
        {
            "organisation": company.name,
            "year_recognised": "2026",
            "tracks": ["smart_terminals"],
            "indicators": "营业收入增速(%)=35\n研发投入(万元)=800",
        },
    )
    assert saved.status_code == 303, saved.text
    listing = (await client.get(saved.headers["location"])).text
    assert "九江智能终端有限公司" in listing and "营业收入增速(%)：35" in listing and "研发投入(万元)：800" in listing


async def test_only_admins_edit_targets_on_the_targets_page(client, make_client, session):
    await _signed_in(client, session)
    staff_view = await client.get("/demonstration/targets")
    assert (
        staff_view.status_code == 200
        and "只有管理员可以修改目标" in staff_view.text
        and 'name="value"' not in staff_view.text
    )

    admin = make_client()
    await _signed_in(admin, session, Role.admin)
    form = {"year": "2027", "scope": "city", "city_code": "360300", "metric": "enterprises", "value": "260"}
    saved = await post_form(admin, "/demonstration/targets", form)
    assert saved.status_code == 303
    assert "萍乡市" in (await admin.get(saved.headers["location"])).text
    progress = (await make_client().get("/api/v1/demonstration/progress", params={"year": 2027})).json()
    assert next(c for c in progress["cities"] if c["code"] == "360300")["enterprises"]["target"] == 260
    assert (
        await post_form(client, "/demonstration/targets", form, token_from="/demonstration/targets")
    ).status_code == 403


async def test_registry_pages_are_paged_with_plain_links(client, session):
    await _signed_in(client, session)
    companies = [await create_organisation(session, kind="enterprise", name=f"分页成长企业{i:02d}") for i in range(25)]
    session.add_all(GrowthEnterprise(organisation_id=c.id, year_recognised=2026) for c in companies)
    session.add_all(DemoProject(title=f"分页示范项目{i:02d}", region_code="360100") for i in range(23))
    session.add(DemoProject(title="已入选的示范项目", region_code="360100", status="selected"))
    await session.flush()

    # Newest first: page 1 holds the last 20 registered, page 2 the first 5, and nothing is on both.
    first = (await client.get("/demonstration/enterprises")).text
    assert 'href="/demonstration/enterprises?page=2" rel="next"' in first and 'rel="prev"' not in first
    assert "第 1 / 2 页，共 25 条" in first
    second = (await client.get("/demonstration/enterprises", params={"page": "2"})).text
    assert 'href="/demonstration/enterprises?page=1" rel="prev"' in second and 'rel="next"' not in second
    for i, company in enumerate(companies):
        on_first, on_second = f"<td>{company.name}</td>" in first, f"<td>{company.name}</td>" in second
        assert (on_first, on_second) == ((False, True) if i < 5 else (True, False)), company.name

    # A page number that is not one shows the first page; one past the end, the last.
    for bad in ("abc", "0", "-1", "²", "1" * 5000, "2.0"):
        shown = await client.get("/demonstration/enterprises", params={"page": bad})
        assert shown.status_code == 200 and "第 1 / 2 页" in shown.text, bad
    assert "第 2 / 2 页" in (await client.get("/demonstration/enterprises", params={"page": "99"})).text

    # The status filter rides along in the paging links and counts only its own rows.
    applied = (await client.get("/demonstration/projects", params={"status": "applied"})).text
    assert 'href="/demonstration/projects?status=applied&amp;page=2" rel="next"' in applied and "共 23 条" in applied
    rest = (await client.get("/demonstration/projects", params={"status": "applied", "page": "2"})).text
    assert rest.count('<a href="/demonstration/projects/') == 3 and "已入选的示范项目" not in rest
    assert "pagination" not in (await client.get("/demonstration/projects", params={"status": "selected"})).text


async def test_the_zones_page_pages_too(client, session):
    await _signed_in(client, session)
    session.add_all(
        DemoZone(name=f"分页示范区{i:02d}", region_code="360121", designated_on=date(2026, 1, 1)) for i in range(21)
    )
    await session.flush()
    first = (await client.get("/demonstration/zones")).text
    second = (await client.get("/demonstration/zones", params={"page": "2"})).text
    # Same county for all, so the id settles the order.
    assert "分页示范区19" in first and "分页示范区20" not in first and "第 1 / 2 页，共 21 条" in first
    assert "分页示范区20" in second and "分页示范区00" not in second
    # The zone chooser on the project form still offers every zone, not one page of them.
    assert "分页示范区20</option>" in (await client.get("/demonstration/projects/new")).text
