from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import create_opportunity, create_organisation, create_user, login

PROBLEM = "application/problem+json"


async def _signed_in_issuer(client, session):
    organisation = await create_organisation(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=organisation))
    return organisation


async def test_malformed_json_is_a_422_problem(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post(
        "/api/v1/opportunities", content=b'{"title": "unterminated', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == 422


async def test_missing_required_field_names_the_field_in_chinese(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post("/api/v1/opportunities", json={"description": "没有标题"})
    assert response.status_code == 422
    assert response.json()["field"] == "title"
    assert "必填" in response.json()["detail"]


async def test_wrong_types_and_unknown_fields_are_rejected(client, session):
    await _signed_in_issuer(client, session)
    wrong_type = await client.post("/api/v1/opportunities", json={"title": "x", "deadline": "下周"})
    unknown = await client.post("/api/v1/opportunities", json={"title": "x", "status": "published"})
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "deadline"
    assert unknown.status_code == 422 and unknown.json()["field"] == "status"


async def test_overlong_title_is_rejected(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post("/api/v1/opportunities", json={"title": "长" * 201})
    assert response.status_code == 422 and response.json()["field"] == "title"


async def test_oversize_body_is_refused_with_413(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post("/api/v1/opportunities", json={"title": "大", "description": "字" * 600_000})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_oversize_chunked_body_without_length_is_refused_with_413(client, session):
    await _signed_in_issuer(client, session)

    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/opportunities", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_rejected_update_changes_nothing(client, session):
    organisation = await _signed_in_issuer(client, session)
    opportunity = await create_opportunity(session, organisation)
    response = await client.patch(
        f"/api/v1/opportunities/{opportunity.id}", json={"title": "新标题", "tracks": ["not-a-track"]}
    )
    assert response.status_code == 422
    fetched = await client.get(f"/api/v1/opportunities/{opportunity.id}")
    assert fetched.json()["title"] == "智慧交通信号优化场景"


async def test_unknown_route_and_wrong_method_answer_problems(client):
    missing = await client.get("/api/v1/nothing-here")
    wrong = await client.delete("/api/v1/tracks")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith(PROBLEM)


async def test_bad_paging_and_ids_are_4xx_not_500(client, session):
    organisation = await create_organisation(session)
    await create_opportunity(session, organisation, status=ListingStatus.published)
    for url, params in [
        ("/api/v1/opportunities", {"page_size": 1000}),
        ("/api/v1/opportunities", {"page": 0}),
        ("/api/v1/opportunities", {"status": "archived"}),
        ("/api/v1/opportunities", {"sort": "random"}),
        ("/api/v1/opportunities/abc", {}),
        ("/api/v1/opportunities/99999999", {}),
        ("/api/v1/opportunities/-1", {}),
        ("/api/v1/opportunities/99999999999999999999", {}),
    ]:
        response = await client.get(url, params=params)
        assert 400 <= response.status_code < 500, (url, params, response.status_code)
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_json_array_instead_of_object_is_rejected(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post("/api/v1/opportunities", json=[{"title": "x"}])
    assert response.status_code == 422


async def test_openapi_documents_problem_responses(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    create = spec["paths"]["/api/v1/opportunities"]["post"]["responses"]
    assert {"401", "403", "409", "422"} <= set(create)
