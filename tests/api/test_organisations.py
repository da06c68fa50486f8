from backend.auth.models import Role
from backend.organisations.models import Organisation
from tests.factories import create_organisation, create_user, credit_code, login


async def _staff(client, session):
    await login(client, await create_user(session, role=Role.matchmaker))


async def test_matchmaker_registers_an_enterprise_with_a_valid_credit_code(client, session):
    await _staff(client, session)
    code = credit_code()
    response = await client.post(
        "/api/v1/organisations",
        json={
            "name": "江西赣数科技有限公司",
            "kind": "enterprise",
            "credit_code": code.lower(),
            "region_code": "360700",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["credit_code"] == code


async def test_changed_credit_code_character_is_rejected_on_its_field(client, session):
    await _staff(client, session)
    code = credit_code()
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = await client.post(
        "/api/v1/organisations", json={"name": "校验失败公司", "kind": "enterprise", "credit_code": broken}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "credit_code"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_enterprise_without_credit_code_is_rejected(client, session):
    await _staff(client, session)
    response = await client.post("/api/v1/organisations", json={"name": "无代码公司", "kind": "enterprise"})
    assert response.status_code == 422
    assert "统一社会信用代码" in response.json()["detail"]


async def test_duplicate_credit_code_is_a_conflict_and_changes_nothing(client, session):
    first = await create_organisation(session, kind="enterprise")
    await _staff(client, session)
    response = await client.post(
        "/api/v1/organisations", json={"name": "另一家公司", "kind": "enterprise", "credit_code": first.credit_code}
    )
    assert response.status_code == 409
    assert response.json()["field"] == "credit_code"
    listed = await client.get("/api/v1/organisations", params={"q": "另一家公司"})
    assert listed.json()["total"] == 0


async def test_duplicate_name_is_a_conflict(client, session):
    await create_organisation(session, name="江西省测试厅")
    await _staff(client, session)
    response = await client.post("/api/v1/organisations", json={"name": "江西省测试厅", "kind": "government"})
    assert response.status_code == 409


async def test_visitor_cannot_create_an_organisation(client):
    response = await client.post("/api/v1/organisations", json={"name": "匿名单位", "kind": "government"})
    assert response.status_code == 401


async def test_enterprise_edits_its_own_profile_but_not_another(client, session):
    own = await create_organisation(session, kind="enterprise")
    other = await create_organisation(session, kind="enterprise")
    await login(client, await create_user(session, role=Role.enterprise, organisation=own))

    mine = await client.patch(f"/api/v1/organisations/{own.id}", json={"description": "专注物联网感知设备"})
    theirs = await client.patch(f"/api/v1/organisations/{other.id}", json={"description": "篡改"})

    assert mine.status_code == 200 and mine.json()["description"] == "专注物联网感知设备"
    assert theirs.status_code == 403
    await session.refresh(other)
    assert other.description == ""


async def test_withdrawn_organisation_leaves_the_public_list(client, make_client, session):
    organisation = await create_organisation(session, name="待撤销单位")
    await _staff(client, session)
    assert (await client.post(f"/api/v1/organisations/{organisation.id}/withdraw")).json()["status"] == "withdrawn"

    visitor = make_client()
    assert (await visitor.get("/api/v1/organisations", params={"q": "待撤销"})).json()["total"] == 0
    assert (await visitor.get(f"/api/v1/organisations/{organisation.id}")).status_code == 404


async def test_organisation_list_pages_and_filters_by_kind(client, session):
    for n in range(3):
        await create_organisation(session, name=f"分页实验室{n}", kind="lab")
    first = await client.get("/api/v1/organisations", params={"kind": "lab", "q": "分页实验室", "page_size": 2})
    second = await client.get(
        "/api/v1/organisations", params={"kind": "lab", "q": "分页实验室", "page_size": 2, "page": 2}
    )
    assert first.json()["total"] == 3
    assert len(first.json()["items"]) == 2 and len(second.json()["items"]) == 1
    names = {o["name"] for o in first.json()["items"] + second.json()["items"]}
    assert names == {"分页实验室0", "分页实验室1", "分页实验室2"}


async def test_seeded_departments_are_listed(client, session):
    response = await client.get("/api/v1/organisations", params={"q": "工业和信息化厅"})
    assert response.json()["total"] >= 1
    assert isinstance(await session.get(Organisation, response.json()["items"][0]["id"]), Organisation)
