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


async def test_nul_and_control_characters_in_query_parameters_are_a_422_naming_the_field(client, session):
    await _signed_in_issuer(client, session)
    for url, params, field in [
        ("/api/v1/offerings", {"region": "\x00"}, "region"),
        ("/api/v1/opportunities", {"q": "智慧\x00农业"}, "q"),
        ("/api/v1/exports/opportunities.csv", {"track": "a\x00"}, "track"),
        ("/api/v1/exports/offerings.xlsx", {"region": "\x1b[31m"}, "region"),
        ("/api/v1/exports/opportunities.json", {"domain": "x\x00"}, "domain"),
        ("/api/v1/exports/offerings.csv", {"q": "\x00"}, "q"),
    ]:
        response = await client.get(url, params=params)
        assert response.status_code == 422, (url, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["field"] == field and "控制字符" in response.json()["detail"]


async def test_invalid_utf8_in_a_query_string_is_a_422(client):
    response = await client.get("/api/v1/offerings?region=%FF%FE")
    assert response.status_code == 422 and response.json()["field"] == "region"
    assert "UTF-8" in response.json()["detail"]


async def test_nul_in_json_bodies_is_a_422_naming_the_field_at_any_depth(client, session):
    organisation = await create_organisation(session, kind="enterprise")
    await login(client, await create_user(session, role=Role.enterprise, organisation=organisation))
    for url, body, field in [
        ("/api/v1/subscriptions", {"domains": ["a\u0000"]}, "domains.0"),
        ("/api/v1/offerings", {"title": "标题\u0000", "description": "x"}, "title"),
        ("/api/v1/offerings", {"title": "标题", "tags": ["ok", "\u0007"]}, "tags.1"),
        ("/api/v1/offerings", '{"title": "\\ud800"}', "title"),  # a lone surrogate asyncpg cannot encode
    ]:
        if isinstance(body, str):
            response = await client.post(url, content=body.encode(), headers={"content-type": "application/json"})
        else:
            response = await client.post(url, json=body)
        assert response.status_code == 422, (url, body, response.status_code, response.text)
        assert response.json()["field"] == field, response.json()


async def test_tabs_and_line_breaks_are_ordinary_text(client, session):
    await _signed_in_issuer(client, session)
    response = await client.post("/api/v1/opportunities", json={"title": "第一行\t制表", "description": "一\r\n二\n三"})
    assert response.status_code == 201, response.text


async def test_a_credit_code_that_is_not_text_is_a_422(client):
    for body in ({"credit_code": {}}, {"credit_code": []}, {"credit_code": 91360100}):
        response = await client.post("/api/v1/organisations", json={"name": "某公司", "kind": "enterprise", **body})
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_a_wrong_method_answers_405_with_allow(client):
    response = await client.delete("/api/v1/tracks")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["detail"] == "此地址不支持该请求方法"
    # GET and PATCH of one address are two routes: Allow names both, not only the first.
    both = await client.delete("/api/v1/answers/1")
    assert both.status_code == 405 and both.headers["allow"] == "GET, PATCH"


async def test_openapi_documents_errors_as_problem_json_only(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    wrong: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45" and set(response.get("content", {})) != {PROBLEM}:
                    wrong.append(f"{method.upper()} {path} {status}")
    assert not wrong, wrong
    create = spec["paths"]["/api/v1/opportunities"]["post"]
    assert "413" in create["responses"] and "422" in create["responses"]
    region = spec["components"]["schemas"]["OpportunityCreate"]["properties"]["region_code"]
    assert "360100" in region["anyOf"][0]["enum"]
    done_on = spec["components"]["schemas"]["MilestoneCreate"]["properties"]["done_on"]
    assert done_on["anyOf"][0]["pattern"] == "^(20[0-9]{2}|2100)-"
