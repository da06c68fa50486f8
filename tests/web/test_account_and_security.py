"""Sign in and out, CSRF, cookies, security headers, rate limiting, error pages."""

import re

import httpx
import pytest

from backend.auth import throttle
from backend.auth.models import Role
from tests.factories import PASSWORD, create_organisation, create_user
from tests.web.helpers import csrf_from, post_form, sign_in


async def test_signing_in_opens_the_workspace_and_signing_out_ends_the_session(client, session):
    organisation = await create_organisation(session)
    user = await create_user(session, role=Role.issuer, organisation=organisation)
    response = await sign_in(client, user.email, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/workspace"
    home = (await client.get("/")).text
    assert user.display_name in home and "退出" in home

    response = await post_form(client, "/logout", {}, token_from="/")
    assert response.status_code == 303
    assert (await client.get("/workspace")).status_code == 303  # back to the login page


async def test_a_wrong_password_is_explained_in_chinese(client, session):
    user = await create_user(session, role=Role.matchmaker)
    response = await sign_in(client, user.email, "not-the-password")
    assert response.status_code == 401
    assert "邮箱或密码不正确" in response.text
    assert 'name="email"' in response.text and user.email in response.text


async def test_the_session_cookie_is_httponly_and_samesite_lax(client, session):
    user = await create_user(session, role=Role.matchmaker)
    response = await sign_in(client, user.email, PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


async def test_the_session_cookie_is_secure_over_https(app, session):
    user = await create_user(session, role=Role.matchmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as client:
        response = await sign_in(client, user.email, PASSWORD)
        assert "secure" in response.headers["set-cookie"].lower()


async def test_after_sign_in_the_visitor_returns_where_they_were_but_never_off_site(client, session):
    user = await create_user(session, role=Role.matchmaker)
    login_page = await client.get("/review")
    assert login_page.status_code == 303 and login_page.headers["location"] == "/login?next=/review"
    response = await post_form(client, "/login", {"email": user.email, "password": PASSWORD, "next": "/review"})
    assert response.headers["location"] == "/review"
    await post_form(client, "/logout", {}, token_from="/")
    response = await post_form(
        client, "/login", {"email": user.email, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/workspace"


async def test_a_form_posted_without_the_csrf_token_is_refused(client, session):
    user = await create_user(session, role=Role.matchmaker)
    await client.get("/login")
    response = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    forged = await client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "0" * 64})
    assert forged.status_code == 403


async def test_a_token_from_another_browser_does_not_work(client, make_client, session):
    user = await create_user(session, role=Role.matchmaker)
    token = await csrf_from(make_client(), "/login")
    await client.get("/login")
    response = await client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403


async def test_pages_carry_a_strict_content_security_policy(client):
    response = await client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_pages_load_nothing_from_another_host_and_have_no_inline_script(client):
    html = (await client.get("/opportunities")).text
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/vendor/htmx.min.js" defer>',
        '<script src="/static/site.js" defer>',
        '<script src="/static/orgpicker.js" defer>',
    ]
    assert (await client.get("/static/vendor/htmx.min.js")).status_code == 200
    assert (await client.get("/static/site.css")).status_code == 200
    assert (await client.get("/static/site.js")).status_code == 200


@pytest.fixture
def long_first_delay(monkeypatch):
    """A first throttle delay far longer than any test, so a slow machine cannot outwait it."""
    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 600)


async def test_failed_logins_slow_the_account_down_but_not_its_owners_browser(
    client, make_client, session, long_first_delay
):
    user = await create_user(session, role=Role.matchmaker)
    owner = make_client()
    assert (await sign_in(owner, user.email, PASSWORD)).status_code == 303  # the owner's browser, signed in before
    owner.cookies.delete("sm_session")  # signed out since; the device cookie stays
    for _ in range(5):
        assert (await sign_in(client, user.email, "wrong-password")).status_code == 401
    slowed = await sign_in(make_client(), user.email, PASSWORD)  # a new browser must wait (or use the link)
    assert slowed.status_code == 429
    assert "登录尝试过于频繁" in slowed.text and "一次性登录链接" in slowed.text
    assert (await sign_in(owner, user.email, PASSWORD)).status_code == 303


async def test_failed_logins_are_slowed_per_address(client, session, long_first_delay):
    for n in range(20):
        assert (await sign_in(client, f"nobody{n}@example.com", "wrong-password")).status_code == 401
    user = await create_user(session, role=Role.matchmaker)
    assert (await sign_in(client, user.email, PASSWORD)).status_code == 429


async def test_the_api_login_shares_the_throttle(client, session, long_first_delay):
    user = await create_user(session, role=Role.matchmaker)
    for _ in range(5):
        await client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    assert (await sign_in(client, user.email, PASSWORD)).status_code == 429


async def test_an_unknown_page_is_a_chinese_404_that_keeps_the_navigation(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "未找到" in response.text and ">机会清单</a>" in response.text and ">登录</a>" in response.text


async def test_the_api_still_answers_problem_objects(client):
    response = await client.get("/api/v1/opportunities/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_role_gets_a_chinese_403_page(client, session):
    enterprise = await create_organisation(session, kind="enterprise")
    user = await create_user(session, role=Role.enterprise, organisation=enterprise)
    await sign_in(client, user.email, PASSWORD)
    response = await client.get("/review")
    assert response.status_code == 403
    assert "没有权限" in response.text and user.display_name in response.text


async def test_an_unexpected_error_is_a_chinese_500_page(app):
    @app.get("/boom-for-test")
    async def boom() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boom-for-test")
    assert response.status_code == 500
    assert "服务器内部错误" in response.text and ">机会清单</a>" in response.text


# Numbers that `str.isdigit` accepts but `int()` refuses, and ones too long for `int()`.
CRAFTED_NUMBERS = ["²", "①", "١٢", "9" * 5000, " 3", "3.0", "-1"]


async def test_crafted_numbers_in_urls_and_forms_are_refused_politely_not_with_a_500(client, session):
    matchmaker = await create_user(session, role=Role.matchmaker)
    await sign_in(client, matchmaker.email, PASSWORD)
    for value in CRAFTED_NUMBERS:
        for path in ("/events", "/inbox", "/opportunities", "/demonstration/enterprises"):
            response = await client.get(path, params={"page": value})
            assert response.status_code == 200, (path, value[:10], response.status_code)
        for path, form in (
            ("/review/duplicates/merge", {"first_id": value, "second_id": "2", "keep_id": value}),
            ("/review/matches/decide", {"opportunity_id": value, "offering_id": "1", "verdict": "dismissed"}),
        ):
            response = await post_form(client, path, form, token_from="/review")
            assert 400 <= response.status_code < 500, (path, value[:10], response.status_code)
    oversize = await client.post(
        "/api/v1/opportunities",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": "9" * 5000},
    )
    assert 400 <= oversize.status_code < 500
