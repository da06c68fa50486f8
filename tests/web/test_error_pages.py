"""Error pages as a signed-in person sees them, in the app's real session lifecycle.

The request's session is rolled back and closed before an error page renders; the page must
still show the site's navigation with the person's name, in Chinese, with the right status —
never a 500, never a JSON problem document, never an English "Method Not Allowed".
"""

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import PASSWORD, create_opportunity, create_organisation, create_user
from tests.web.helpers import csrf_from, post_form, sign_in


async def _signed_in(client, session, role=Role.enterprise):
    organisation = await create_organisation(session, kind="enterprise" if role == Role.enterprise else "government")
    user = await create_user(session, role=role, organisation=organisation)
    await sign_in(client, user.email, PASSWORD)
    return user


def _is_chinese_error_page(response, status: int, user) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert user.display_name in response.text  # the navigation still knows who is signed in
    assert ">机会清单</a>" in response.text
    assert "Internal Server Error" not in response.text and "Method Not Allowed" not in response.text


async def test_a_missing_object_is_a_chinese_404_for_a_signed_in_person(client, session):
    user = await _signed_in(client, session)
    response = await client.get("/opportunities/999999")
    _is_chinese_error_page(response, 404, user)
    assert "未找到" in response.text


async def test_a_page_address_with_a_non_number_id_is_a_404_page_not_json(client, session):
    user = await _signed_in(client, session)
    for path in ("/opportunities/abc", "/opportunities/1.5", "/offerings/%E4%B8%80"):
        response = await client.get(path)
        _is_chinese_error_page(response, 404, user)
        assert '"type"' not in response.text


async def test_a_wrong_role_is_a_chinese_403_page(client, session):
    user = await _signed_in(client, session, Role.enterprise)
    response = await client.get("/review")
    _is_chinese_error_page(response, 403, user)
    assert "没有权限" in response.text


async def test_a_wrong_method_is_a_chinese_405_page_with_allow(client, session):
    user = await _signed_in(client, session)
    response = await client.get("/logout")
    _is_chinese_error_page(response, 405, user)
    assert "不支持的请求方法" in response.text and "此地址不支持该请求方法" in response.text
    assert response.headers["allow"] == "POST"


async def test_a_visitor_gets_the_chinese_405_page_too(client):
    response = await client.put("/opportunities")
    assert response.status_code == 405 and response.headers["content-type"].startswith("text/html")
    assert "不支持的请求方法" in response.text and "allow" in response.headers


async def test_a_conflicting_form_post_is_a_chinese_409_page(client, session):
    user = await _signed_in(client, session, Role.matchmaker)
    published = await create_opportunity(session, await create_organisation(session), status=ListingStatus.published)
    response = await post_form(client, f"/review/opportunities/{published.id}/publish", {}, token_from="/review")
    _is_chinese_error_page(response, 409, user)
    assert "只有草稿或待审核的内容可以发布" in response.text


async def test_a_csrf_refusal_is_a_chinese_403_page_for_a_signed_in_person(client, session):
    user = await _signed_in(client, session, Role.matchmaker)
    pending = await create_opportunity(session, await create_organisation(session), status=ListingStatus.pending_review)
    response = await client.post(f"/review/opportunities/{pending.id}/publish", data={"csrf_token": "forged"})
    _is_chinese_error_page(response, 403, user)
    assert "表单已过期或来源不明" in response.text


async def test_after_a_failed_form_post_the_browser_is_sent_back_to_a_page_it_can_reload(client, session):
    """A refused POST is answered at its POST-only address; the page names the form's page instead."""
    await _signed_in(client, session, Role.matchmaker)
    pending = await create_opportunity(session, await create_organisation(session), status=ListingStatus.pending_review)
    path = f"/review/opportunities/{pending.id}/publish"
    form_page = {"referer": "http://testserver/review?kind=opportunity"}
    refused = await client.post(path, data={"csrf_token": "forged"}, headers=form_page)
    assert refused.status_code == 403
    assert 'data-return-to="/review?kind=opportunity"' in refused.text
    assert (await client.get("/review?kind=opportunity")).status_code == 200
    # htmx (hx-boost) would push the POST address into the history: the answer tells it the form's page.
    boosted = await client.post(path, data={"csrf_token": "forged"}, headers={**form_page, "hx-request": "true"})
    assert boosted.headers["hx-push-url"] == "/review?kind=opportunity" and "data-return-to" not in boosted.text
    # A referer from another site is never followed.
    foreign = await client.post(path, data={"csrf_token": "forged"}, headers={"referer": "https://evil.example/x"})
    assert foreign.status_code == 403 and "data-return-to" not in foreign.text


async def test_a_get_error_page_does_not_rewrite_the_address(client, session):
    await _signed_in(client, session)
    assert "data-return-to" not in (await client.get("/opportunities/999999")).text


async def test_form_fields_with_invalid_utf8_or_nul_are_refused_like_the_api(client, session):
    user = await _signed_in(client, session, Role.matchmaker)
    pending = await create_opportunity(session, await create_organisation(session), status=ListingStatus.pending_review)
    token = await csrf_from(client, "/review")
    path = f"/review/opportunities/{pending.id}/return"
    for body, content_type in (
        (f"csrf_token={token}&reason=%FF%FE%00", "application/x-www-form-urlencoded"),
        (f"csrf_token={token}&reason=%E9%80%80%00", "application/x-www-form-urlencoded"),
    ):
        response = await client.post(path, content=body.encode(), headers={"content-type": content_type})
        _is_chinese_error_page(response, 422, user)
        assert "reason" in response.text
    boundary = "----sm"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="reason"\r\n\r\n'
        ).encode()
        + b"\xff\xfe\xe9\x00\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    response = await client.post(
        path, content=multipart, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    _is_chinese_error_page(response, 422, user)
    assert (await client.get("/review")).text.count("ÿþ") == 0


async def test_signed_in_pages_and_all_json_are_not_stored_by_caches(client, make_client, session):
    visitor = make_client()
    public_page = await visitor.get("/opportunities")
    assert "no-store" not in public_page.headers.get("cache-control", "")
    assert (await visitor.get("/api/v1/tracks")).headers["cache-control"] == "no-store"
    await _signed_in(client, session)
    assert (await client.get("/opportunities")).headers["cache-control"] == "no-store"
    assert (await client.get("/opportunities/999999")).headers["cache-control"] == "no-store"
    assert (await client.get("/api/v1/users/me")).headers["cache-control"] == "no-store"
    assert "no-store" not in (await client.get("/static/site.css")).headers.get("cache-control", "")


async def test_feed_and_open_data_links_come_from_the_site_url_not_the_host_header(client, session, settings):
    settings.site_url = "https://changjing.jiangxi.example"
    await create_opportunity(
        session, await create_organisation(session), title="开放数据链接测试", status=ListingStatus.published
    )
    spoofed = {"host": "evil.example"}
    feed = (await client.get("/feed.atom", headers=spoofed)).text
    assert "https://changjing.jiangxi.example/" in feed and "evil.example" not in feed
    records = (await client.get("/opendata/opportunities.json", headers=spoofed)).text
    assert "https://changjing.jiangxi.example/" in records and "evil.example" not in records
