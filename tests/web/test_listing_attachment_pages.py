"""Attachments on the workspace edit page and the public detail page, through the real app."""

import re

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user, login
from tests.web.helpers import csrf_from, post_form, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_LINK = re.compile(r'href="(/api/v1/opportunities/\d+/attachments/\d+)" download>需求说明书.pdf</a>')


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def _upload(client, edit_path: str, upload_path: str, name: str, data: bytes):
    token = await csrf_from(client, edit_path)
    return await client.post(upload_path, data={"csrf_token": token}, files={"file": (name, data, "application/pdf")})


async def test_owner_attaches_on_the_edit_page_and_visitors_download_once_published(make_client, session):
    department = await create_organisation(session, name="宜春市数据局（附件页面）")
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    matchmaker = await create_user(session, role=Role.matchmaker)
    opportunity = await create_opportunity(session, department, title="宜春锂电产业大脑", status=ListingStatus.draft)
    edit = f"/workspace/opportunities/{opportunity.id}/edit"
    upload = f"/workspace/opportunities/{opportunity.id}/attachments"

    owner = await _as(make_client, issuer)
    page = (await owner.get(edit)).text
    assert "附件（0）" in page and 'enctype="multipart/form-data"' in page

    # A disguised file is refused on the page, in Chinese, and nothing is kept.
    refused = await _upload(owner, edit, upload, "需求说明书.pdf", b"MZ\x90\x00not a pdf")
    assert refused.status_code == 422
    assert "文件内容与扩展名 .pdf 不符，已拒绝" in refused.text and "附件（0）" in refused.text

    done = await _upload(owner, edit, upload, "需求说明书.pdf", PDF)
    assert done.status_code == 303 and done.headers["location"] == f"{edit}?files=uploaded#attachments"
    page = (await owner.get(done.headers["location"])).text
    assert "附件已上传。" in page and "附件（1）" in page
    url = _LINK.search(page).group(1)
    # A refused save of the listing itself keeps the attachments box on the page.
    unsaved = await post_form(owner, edit, {"title": ""})
    assert unsaved.status_code == 422 and "请填写标题" in unsaved.text and _LINK.search(unsaved.text)

    # A visitor can neither open the draft nor download its file.
    visitor = make_client()
    assert (await visitor.get(f"/opportunities/{opportunity.id}")).status_code == 404
    assert (await visitor.get(url)).status_code == 404

    # Published through the real lifecycle: the detail page lists the file and anyone downloads it.
    api_owner = await login(make_client(), issuer)
    assert (await api_owner.post(f"/api/v1/opportunities/{opportunity.id}/submit")).status_code == 200
    staff = await login(make_client(), matchmaker)
    assert (await staff.post(f"/api/v1/opportunities/{opportunity.id}/publish")).status_code == 200
    detail = (await visitor.get(f"/opportunities/{opportunity.id}")).text
    assert "附件下载" in detail and _LINK.search(detail).group(1) == url
    download = await visitor.get(url)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")

    # The published listing's edit page shows the files but no longer offers upload or delete to the owner.
    page = (await owner.get(edit)).text
    assert "需求说明书.pdf" in page and "附件不能再增删" in page and upload not in page


async def test_another_organisation_cannot_delete_an_attachment_from_the_page(make_client, session):
    department = await create_organisation(session, name="萍乡市工信局（附件页面）")
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    other = await create_organisation(session, name="新余市工信局（附件页面）")
    stranger = await create_user(session, role=Role.issuer, organisation=other)
    opportunity = await create_opportunity(session, department, title="萍乡工业固废监测", status=ListingStatus.draft)
    edit = f"/workspace/opportunities/{opportunity.id}/edit"
    owner = await _as(make_client, issuer)
    await _upload(owner, edit, f"/workspace/opportunities/{opportunity.id}/attachments", "需求说明书.pdf", PDF)
    page = (await owner.get(edit)).text
    attachment_id = int(_LINK.search(page).group(1).rsplit("/", 1)[1])
    delete = f"/workspace/opportunities/{opportunity.id}/attachments/{attachment_id}/delete"
    assert f'action="{delete}"' in page

    rival = await _as(make_client, stranger)
    assert (await rival.get(edit)).status_code == 404
    token = await csrf_from(rival, "/workspace/opportunities")
    refused = await rival.post(delete, data={"csrf_token": token})
    assert refused.status_code == 404
    assert "需求说明书.pdf" in (await owner.get(edit)).text

    # Without the form's CSRF token the owner's own delete is refused too.
    assert (await owner.post(delete, data={})).status_code == 403
    removed = await owner.post(delete, data={"csrf_token": await csrf_from(owner, edit)})
    assert removed.status_code == 303
    page = (await owner.get(removed.headers["location"])).text
    assert "附件已删除。" in page and "附件（0）" in page
