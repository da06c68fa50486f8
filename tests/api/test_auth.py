from sqlmodel import select

from backend.auth.models import AuthSession, Role
from tests.factories import PASSWORD, create_organisation, create_user, login


async def test_login_sets_httponly_samesite_cookie_and_me_answers(client, session):
    organisation = await create_organisation(session)
    user = await create_user(session, role=Role.issuer, organisation=organisation)

    response = await client.post("/api/v1/auth/login", json={"email": user.email.upper(), "password": PASSWORD})

    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "sm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = await client.get("/api/v1/users/me")
    assert me.json()["email"] == user.email
    assert "password_hash" not in me.json()


async def test_wrong_password_is_refused_with_a_problem(client, session):
    user = await create_user(session, role=Role.admin)
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "邮箱或密码不正确"


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    response = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    assert response.status_code == 401
    assert response.json()["detail"] == "邮箱或密码不正确"


async def test_session_token_is_not_stored_in_clear(client, session):
    user = await create_user(session, role=Role.admin)
    await login(client, user)
    token = client.cookies["sm_session"]
    stored = (await session.exec(select(AuthSession).where(AuthSession.user_id == user.id))).all()
    assert len(stored) == 1 and stored[0].token_hash != token and len(stored[0].token_hash) == 64


async def test_logout_invalidates_the_old_cookie_on_the_server(client, make_client, session):
    user = await create_user(session, role=Role.admin)
    await login(client, user)
    token = client.cookies["sm_session"]

    assert (await client.post("/api/v1/auth/logout")).status_code == 204

    replay = make_client()
    replay.cookies.set("sm_session", token)
    assert (await replay.get("/api/v1/users/me")).status_code == 401


async def test_deactivated_account_cannot_sign_in_and_loses_its_sessions(client, make_client, session):
    admin = await create_user(session, role=Role.admin)
    user = await create_user(session, role=Role.admin)
    other = await login(make_client(), user)
    await login(client, admin)

    response = await client.patch(f"/api/v1/users/{user.id}", json={"is_active": False})
    assert response.status_code == 200

    assert (await other.get("/api/v1/users/me")).status_code == 401
    again = await make_client().post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 403


async def test_admin_creates_an_account_that_can_sign_in(client, make_client, session):
    organisation = await create_organisation(session, kind="enterprise")
    admin = await create_user(session, role=Role.admin)
    await login(client, admin)

    response = await client.post(
        "/api/v1/users",
        json={
            "email": "New.User@Example.com",
            "password": "long-enough-1",
            "display_name": "新企业用户",
            "role": "enterprise",
            "organisation_id": organisation.id,
        },
    )

    assert response.status_code == 201, response.text
    assert response.json()["email"] == "new.user@example.com"
    fresh = make_client()
    signed_in = await fresh.post(
        "/api/v1/auth/login", json={"email": "new.user@example.com", "password": "long-enough-1"}
    )
    assert signed_in.status_code == 200


async def test_duplicate_email_is_a_conflict_whatever_the_case(client, session):
    admin = await create_user(session, role=Role.admin, email="boss@example.com")
    await login(client, admin)
    response = await client.post(
        "/api/v1/users",
        json={"email": "BOSS@example.com", "password": "long-enough-1", "display_name": "重复", "role": "admin"},
    )
    assert response.status_code == 409
    assert response.json()["field"] == "email"


async def test_enterprise_account_must_belong_to_an_enterprise(client, session):
    department = await create_organisation(session, kind="government")
    await login(client, await create_user(session, role=Role.admin))
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "e@example.com",
            "password": "long-enough-1",
            "display_name": "企业",
            "role": "enterprise",
            "organisation_id": department.id,
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "role"


async def test_only_admins_manage_accounts(client, session):
    organisation = await create_organisation(session)
    issuer = await create_user(session, role=Role.issuer, organisation=organisation)
    await login(client, issuer)
    assert (await client.get("/api/v1/users")).status_code == 403
    created = await client.post(
        "/api/v1/users",
        json={"email": "x@example.com", "password": "long-enough-1", "display_name": "x", "role": "admin"},
    )
    assert created.status_code == 403


async def test_visitor_gets_401_for_me(client):
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["title"] == "需要登录"
