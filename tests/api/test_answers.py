"""答题 end to end: drafting, consortium confirmation, deadline rules and confidentiality on every route."""

import io
import zipfile
from datetime import date, timedelta

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _make_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


DOCX = _make_docx()


async def _setup(session, *, deadline_days: int = 30):
    department = await create_organisation(session, name="鹰潭市数据局（答题测试）")
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session,
        department,
        title="鹰潭物联网水务监测",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=deadline_days),
    )
    lead = await create_organisation(session, kind="enterprise", name="鹰潭感知科技有限公司")
    partner = await create_organisation(session, kind="enterprise", name="南昌水务软件有限公司")
    rival = await create_organisation(session, kind="enterprise", name="竞争对手科技有限公司")
    users = {
        "issuer": issuer,
        "lead": await create_user(session, role=Role.enterprise, organisation=lead),
        "partner": await create_user(session, role=Role.enterprise, organisation=partner),
        "rival": await create_user(session, role=Role.enterprise, organisation=rival),
        "matchmaker": await create_user(session, role=Role.matchmaker),
    }
    offering = await create_offering(session, lead, title="NB-IoT 智能水表", status=ListingStatus.published)
    return opportunity, {"lead": lead, "partner": partner, "rival": rival, "department": department}, users, offering


ANSWER = {
    "title": "鹰潭全域水务物联网方案",
    "summary": "以 NB-IoT 智能水表和漏损分析平台实现全域监测",
    "solution": "分三期建设……",
    "price_text": "约 180 万元",
    "price_amount": "180",
    "delivery_plan": "六个月交付",
}


async def test_enterprise_drafts_and_submits_an_answer_the_issuer_can_read(client, make_client, session):
    opportunity, _, users, offering = await _setup(session)
    lead = await login(client, users["lead"])
    created = await lead.post(
        f"/api/v1/opportunities/{opportunity.id}/answers", json={**ANSWER, "offering_ids": [offering.id]}
    )
    assert created.status_code == 201, created.text
    answer_id = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["offering_ids"] == [offering.id]

    issuer = await login(make_client(), users["issuer"])
    assert (await issuer.get(f"/api/v1/answers/{answer_id}")).status_code == 404  # drafts stay private
    assert (await issuer.get(f"/api/v1/opportunities/{opportunity.id}/answers")).json() == []

    submitted = await lead.post(f"/api/v1/answers/{answer_id}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    listed = (await issuer.get(f"/api/v1/opportunities/{opportunity.id}/answers")).json()
    assert [a["title"] for a in listed] == ["鹰潭全域水务物联网方案"]


async def test_another_enterprise_sees_nothing_of_an_answer_by_any_route(client, make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
    attachment = await lead.post(
        f"/api/v1/answers/{answer_id}/attachments", files={"file": ("方案.pdf", PDF, "application/pdf")}
    )
    assert attachment.status_code == 201, attachment.text
    await lead.post(f"/api/v1/answers/{answer_id}/submit")

    rival = await login(make_client(), users["rival"])
    await rival.post(f"/api/v1/opportunities/{opportunity.id}/answers", json={**ANSWER, "title": "对手方案"})
    assert (await rival.get(f"/api/v1/answers/{answer_id}")).status_code == 404
    assert (await rival.get(attachment.json()["url"])).status_code == 404
    assert (await rival.get(f"/api/v1/opportunities/{opportunity.id}/answers")).status_code == 404
    assert (await rival.get(f"/api/v1/answers/{answer_id}/reviews")).status_code == 404
    assert (await rival.get(f"/api/v1/history/answer/{answer_id}")).status_code == 404
    mine = (await rival.get("/api/v1/answers")).json()
    assert [a["title"] for a in mine] == ["对手方案"]
    search = await rival.get("/api/v1/search", params={"q": "鹰潭全域水务"})
    assert "鹰潭全域水务物联网方案" not in search.text
    visitor = make_client()
    assert (await visitor.get(f"/api/v1/answers/{answer_id}")).status_code == 401
    assert (await visitor.get(attachment.json()["url"])).status_code == 401


async def test_attachment_is_served_as_a_download_to_the_issuer(client, make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
    uploaded = await lead.post(
        f"/api/v1/answers/{answer_id}/attachments", files={"file": ("../../etc/方案.docx", DOCX, "x/y")}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["filename"] == "方案.docx"
    await lead.post(f"/api/v1/answers/{answer_id}/submit")

    issuer = await login(make_client(), users["issuer"])
    download = await issuer.get(uploaded.json()["url"])
    assert download.status_code == 200 and download.content == DOCX
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_disguised_and_oversize_uploads_are_refused(client, session, settings):
    opportunity, _, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
    exe = await lead.post(
        f"/api/v1/answers/{answer_id}/attachments", files={"file": ("报价.pdf", b"MZ\x90\x00binary", "application/pdf")}
    )
    html = await lead.post(
        f"/api/v1/answers/{answer_id}/attachments", files={"file": ("a.html", b"<script>", "text/html")}
    )
    pdf_as_docx = await lead.post(f"/api/v1/answers/{answer_id}/attachments", files={"file": ("a.docx", PDF, "x/y")})
    huge = await lead.post(
        f"/api/v1/answers/{answer_id}/attachments",
        files={"file": ("big.pdf", PDF + b"0" * settings.max_attachment_bytes, "application/pdf")},
    )
    assert exe.status_code == 422 and exe.json()["field"] == "file"
    assert html.status_code == 422 and pdf_as_docx.status_code == 422
    assert huge.status_code == 413
    detail = (await lead.get(f"/api/v1/answers/{answer_id}")).json()
    assert detail["attachments"] == []


async def test_second_answer_from_the_same_enterprise_is_refused(client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    assert (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).status_code == 201
    again = await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)
    assert again.status_code == 409


async def test_consortium_answer_counts_only_after_members_confirm(client, make_client, session):
    opportunity, orgs, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    created = await lead.post(
        f"/api/v1/opportunities/{opportunity.id}/answers",
        json={**ANSWER, "member_organisation_ids": [orgs["partner"].id]},
    )
    answer_id = created.json()["id"]
    assert created.json()["is_consortium"] and created.json()["members"][0]["status"] == "pending"

    early = await lead.post(f"/api/v1/answers/{answer_id}/submit")
    assert early.status_code == 409 and "联合体" in early.json()["detail"]

    partner = await login(make_client(), users["partner"])
    assert (await partner.get(f"/api/v1/answers/{answer_id}")).status_code == 200
    confirmed = await partner.post(f"/api/v1/answers/{answer_id}/membership", json={"accept": True})
    assert confirmed.json()["members"][0]["status"] == "confirmed"
    assert (await partner.post(f"/api/v1/answers/{answer_id}/submit")).status_code == 403  # only the lead submits

    assert (await lead.post(f"/api/v1/answers/{answer_id}/submit")).json()["status"] == "submitted"
    # A member cannot also answer on its own.
    alone = await partner.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)
    assert alone.status_code == 409


async def test_late_submission_and_answers_to_closed_or_draft_opportunities_are_refused(client, session):
    opportunity, orgs, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
    opportunity.deadline = date.today() - timedelta(days=1)
    session.add(opportunity)
    await session.flush()
    late = await lead.post(f"/api/v1/answers/{answer_id}/submit")
    assert late.status_code == 409 and late.json()["field"] == "deadline"
    assert (await lead.get(f"/api/v1/answers/{answer_id}")).json()["status"] == "draft"
    assert (await lead.post(f"/api/v1/answers/{answer_id}/withdraw")).status_code == 409

    draft = await create_opportunity(session, orgs["department"], title="未发布机会")
    assert (await lead.post(f"/api/v1/opportunities/{draft.id}/answers", json=ANSWER)).status_code == 404
    closed = await create_opportunity(session, orgs["department"], title="已截止机会", status=ListingStatus.closed)
    assert (await lead.post(f"/api/v1/opportunities/{closed.id}/answers", json=ANSWER)).status_code == 409


async def test_withdraw_before_the_deadline(client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await login(client, users["lead"])
    answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
    await lead.post(f"/api/v1/answers/{answer_id}/submit")
    withdrawn = await lead.post(f"/api/v1/answers/{answer_id}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    # Withdrawn frees the enterprise to answer afresh? No: the unique lead slot stays, the answer is history.
    assert (await lead.post(f"/api/v1/answers/{answer_id}/submit")).status_code == 409


async def test_summary_over_500_characters_and_foreign_offerings_are_rejected(client, session):
    opportunity, orgs, users, _ = await _setup(session)
    foreign = await create_offering(session, orgs["rival"], title="别人的产品", status=ListingStatus.published)
    lead = await login(client, users["lead"])
    long = await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json={**ANSWER, "summary": "字" * 501})
    other = await lead.post(
        f"/api/v1/opportunities/{opportunity.id}/answers", json={**ANSWER, "offering_ids": [foreign.id]}
    )
    assert long.status_code == 422 and long.json()["field"] == "summary"
    assert other.status_code == 422 and other.json()["field"] == "offering_ids"


async def test_only_enterprises_answer(client, session):
    opportunity, _, users, _ = await _setup(session)
    issuer = await login(client, users["issuer"])
    assert (await issuer.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).status_code == 403
