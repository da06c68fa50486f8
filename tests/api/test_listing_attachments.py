"""Listing attachments over the API: owners attach to a draft, the public downloads once published,
content checks as for answer attachments, and other organisations can neither read nor delete."""

from backend.auth.models import Role
from backend.kit.files import StoredFile
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def _setup(session):
    department = await create_organisation(session, name="上饶市大数据局（附件测试）")
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    other = await create_organisation(session, name="九江市工信局（附件测试）")
    stranger = await create_user(session, role=Role.issuer, organisation=other)
    matchmaker = await create_user(session, role=Role.matchmaker)
    opportunity = await create_opportunity(session, department, title="上饶智慧停车场景", status=ListingStatus.draft)
    return opportunity, issuer, stranger, matchmaker


async def test_draft_attachment_is_private_until_the_listing_is_published(client, make_client, session):
    opportunity, issuer, _, matchmaker = await _setup(session)
    owner = await login(client, issuer)
    uploaded = await owner.post(
        f"/api/v1/opportunities/{opportunity.id}/attachments",
        files={"file": ("需求说明.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["filename"] == "需求说明.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    url = body["url"]
    assert url == f"/api/v1/opportunities/{opportunity.id}/attachments/{body['id']}"

    # The owner downloads it, as a download that browsers will not sniff or render.
    mine = await owner.get(url)
    assert mine.status_code == 200 and mine.content == PDF
    assert mine.headers["content-disposition"].startswith("attachment;")
    assert mine.headers["x-content-type-options"] == "nosniff"

    # A visitor sees neither the draft's files nor the file itself.
    visitor = make_client()
    assert (await visitor.get(url)).status_code == 404
    assert (await visitor.get(f"/api/v1/opportunities/{opportunity.id}/attachments")).status_code == 404

    # Submitted and published through the real lifecycle: then it is a public download.
    assert (await owner.post(f"/api/v1/opportunities/{opportunity.id}/submit")).status_code == 200
    assert (await visitor.get(url)).status_code == 404  # pending review: still private
    staff = await login(make_client(), matchmaker)
    published = await staff.post(f"/api/v1/opportunities/{opportunity.id}/publish")
    assert published.status_code == 200, published.text
    public = await visitor.get(url)
    assert public.status_code == 200 and public.content == PDF
    assert public.headers["content-disposition"].startswith("attachment;")
    listed = await visitor.get(f"/api/v1/opportunities/{opportunity.id}/attachments")
    assert [a["filename"] for a in listed.json()] == ["需求说明.pdf"]

    # Once published, the owner no longer adds or removes files (staff still may).
    late = await owner.post(
        f"/api/v1/opportunities/{opportunity.id}/attachments", files={"file": ("图.png", PNG, "image/png")}
    )
    assert late.status_code == 409 and late.headers["content-type"].startswith("application/problem+json")
    assert "草稿" in late.json()["detail"]
    assert (await owner.delete(url)).status_code == 409
    assert (await staff.delete(url)).status_code == 204
    assert (await visitor.get(url)).status_code == 404


async def test_disguised_empty_and_oversize_files_are_refused_in_chinese(client, session, settings):
    opportunity, issuer, _, _ = await _setup(session)
    owner = await login(client, issuer)
    path = f"/api/v1/opportunities/{opportunity.id}/attachments"
    disguised = await owner.post(path, files={"file": ("宣传册.pdf", b"MZ\x90\x00binary", "application/pdf")})
    assert disguised.status_code == 422
    assert disguised.headers["content-type"].startswith("application/problem+json")
    assert "文件内容与扩展名 .pdf 不符" in disguised.text
    script = await owner.post(path, files={"file": ("a.html", b"<script>", "text/html")})
    assert script.status_code == 422 and "只接受 PDF" in script.text
    oversize = await owner.post(
        path, files={"file": ("big.pdf", PDF + b"0" * settings.max_attachment_bytes, "application/pdf")}
    )
    assert oversize.status_code == 413 and "附件超过上限" in oversize.text
    assert (await owner.get(path)).json() == []


async def test_another_organisation_can_neither_read_nor_delete(client, make_client, session):
    opportunity, issuer, stranger, _ = await _setup(session)
    owner = await login(client, issuer)
    url = (
        await owner.post(
            f"/api/v1/opportunities/{opportunity.id}/attachments", files={"file": ("图纸.png", PNG, "image/png")}
        )
    ).json()["url"]
    rival = await login(make_client(), stranger)
    assert (await rival.get(url)).status_code == 404
    refused = await rival.delete(url)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert (
        await rival.post(
            f"/api/v1/opportunities/{opportunity.id}/attachments", files={"file": ("x.png", PNG, "image/png")}
        )
    ).status_code == 404
    assert (await make_client().delete(url)).status_code == 401
    # Still there for the owner; removing it also drops the stored bytes.
    assert (await owner.get(url)).status_code == 200
    attachment_id = int(url.rsplit("/", 1)[1])
    from backend.listings.models import ListingAttachment

    key = (await session.get(ListingAttachment, attachment_id)).storage_key
    assert (await owner.delete(url)).status_code == 204
    assert (await owner.get(url)).status_code == 404
    session.expire_all()
    assert await session.get(StoredFile, key) is None


async def test_offering_brochure_is_downloadable_from_a_published_offering(client, make_client, session):
    company = await create_organisation(session, kind="enterprise", name="赣州稀土智能装备有限公司")
    seller = await create_user(session, role=Role.enterprise, organisation=company)
    offering = await create_offering(session, company, title="稀土分选机器人", status=ListingStatus.draft)
    owner = await login(client, seller)
    uploaded = await owner.post(
        f"/api/v1/offerings/{offering.id}/attachments", files={"file": ("产品手册.pdf", PDF, "application/pdf")}
    )
    assert uploaded.status_code == 201, uploaded.text
    url = uploaded.json()["url"]
    assert url.startswith(f"/api/v1/offerings/{offering.id}/attachments/")
    # The same id under the other list is not this file.
    assert (await owner.get(url.replace("/offerings/", "/opportunities/"))).status_code == 404
    assert (await make_client().get(url)).status_code == 404
