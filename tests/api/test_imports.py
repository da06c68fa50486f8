import io
import json

from openpyxl import Workbook
from sqlmodel import func, select

from backend.auth.models import Role
from backend.listings.models import Offering, Opportunity
from backend.organisations.models import Organisation
from tests.factories import create_organisation, create_user, credit_code, login


def _jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def _rows(code: str) -> list[dict]:
    return [
        {
            "kind": "opportunity",
            "external_id": "IMP-001",
            "title": "新余市智能安防场景",
            "organisation": "新余市公安局（导入测试）",
            "region": "江西省新余市",
            "description": "社区智能安防与视频结构化分析",
            "tracks": "气象/物联网、人工智能",
            "domains": "公共安全",
            "budget": "50-100万元",
            "deadline": "2099-12-31",
            "contact": "赵警官 0790-0000000",
        },
        {"kind": "opportunity", "external_id": "IMP-002", "title": "", "organisation": "缺标题单位"},
        {
            "kind": "offering",
            "external_id": "IMP-003",
            "title": "5G远程会诊平台",
            "organisation": "成都导入医疗科技有限公司",
            "organisation_kind": "enterprise",
            "credit_code": code,
            "region": "四川省成都市",
            "tracks": "5G/智慧医疗",
            "maturity": "mature",
        },
        {
            "kind": "opportunity",
            "external_id": "IMP-004",
            "title": "截止日期错",
            "organisation": "某局",
            "deadline": "2026/13/45",
        },
    ]


async def _staff(client, session):
    return await login(client, await create_user(session, role=Role.matchmaker))


async def _count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model).where(model.external_id.like("IMP-%")))).one()


async def test_import_keeps_good_rows_and_reports_bad_ones_with_row_numbers(client, session):
    await _staff(client, session)
    response = await client.post(
        "/api/v1/imports", files={"file": ("listings.jsonl", _jsonl(*_rows(credit_code())), "application/x-ndjson")}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 2 and report["updated"] == 0 and report["total_rows"] == 4
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "title"), (4, "deadline")]
    assert await _count(session, Opportunity) == 1 and await _count(session, Offering) == 1


async def test_import_maps_free_categories_to_tracks_and_keeps_the_rest_as_tags(client, session):
    await _staff(client, session)
    await client.post(
        "/api/v1/imports", files={"file": ("a.jsonl", _jsonl(*_rows(credit_code())), "application/x-ndjson")}
    )
    opportunity = (await session.exec(select(Opportunity).where(Opportunity.external_id == "IMP-001"))).one()
    detail = (await client.get(f"/api/v1/opportunities/{opportunity.id}")).json()
    assert {"物联网"} <= {t["name"] for t in detail["tracks"]}
    assert "气象" in detail["tags"]
    assert detail["region"]["code"] == "360500"
    assert detail["budget_min"] == "50.00" and detail["budget_max"] == "100.00"
    offering = (await session.exec(select(Offering).where(Offering.external_id == "IMP-003"))).one()
    assert offering.place == "四川省成都市" and offering.region_code is None
    assert "5G" in offering.tags


async def test_reimporting_the_same_external_id_updates_instead_of_duplicating(client, session):
    await _staff(client, session)
    rows = _rows(credit_code())
    await client.post("/api/v1/imports", files={"file": ("a.jsonl", _jsonl(*rows), "application/x-ndjson")})
    rows[0]["title"] = "新余市智能安防场景（修订）"
    second = await client.post("/api/v1/imports", files={"file": ("a.jsonl", _jsonl(*rows), "application/x-ndjson")})
    assert second.json()["created"] == 0 and second.json()["updated"] == 2
    assert await _count(session, Opportunity) == 1
    opportunity = (await session.exec(select(Opportunity).where(Opportunity.external_id == "IMP-001"))).one()
    assert opportunity.title == "新余市智能安防场景（修订）"


async def test_unknown_organisations_are_created_once(client, session):
    await _staff(client, session)
    code = credit_code()
    rows = _rows(code)
    rows.append(dict(rows[0], external_id="IMP-005", title="同一单位第二条"))
    report = (
        await client.post("/api/v1/imports", files={"file": ("a.jsonl", _jsonl(*rows), "application/x-ndjson")})
    ).json()
    assert report["organisations_created"] == 2
    enterprise = (await session.exec(select(Organisation).where(Organisation.name == "成都导入医疗科技有限公司"))).one()
    assert enterprise.kind == "enterprise" and enterprise.credit_code == code


async def test_publish_flag_makes_rows_public(client, make_client, session):
    await _staff(client, session)
    response = await client.post(
        "/api/v1/imports",
        files={"file": ("a.jsonl", _jsonl(*_rows(credit_code())), "application/x-ndjson")},
        data={"publish": "true"},
    )
    assert response.status_code == 200
    visitor = make_client()
    opportunity = (await session.exec(select(Opportunity).where(Opportunity.external_id == "IMP-001"))).one()
    assert (await visitor.get(f"/api/v1/opportunities/{opportunity.id}")).status_code == 200


async def test_invalid_credit_code_rejects_only_that_row(client, session):
    await _staff(client, session)
    valid = credit_code()
    broken = valid[:-1] + ("1" if valid[-1] != "1" else "2")
    response = await client.post(
        "/api/v1/imports", files={"file": ("a.jsonl", _jsonl(*_rows(broken)), "application/x-ndjson")}
    )
    errors = {e["row"]: e["field"] for e in response.json()["errors"]}
    assert errors == {2: "title", 3: "credit_code", 4: "deadline"}
    assert await _count(session, Opportunity) == 1 and await _count(session, Offering) == 0


async def test_xlsx_import_reads_dates_and_numbers(client, session):
    from datetime import datetime

    await _staff(client, session)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["kind", "external_id", "title", "organisation", "region", "budget", "deadline", "tracks"])
    sheet.append(
        [
            "opportunity",
            "IMP-X1",
            "景德镇陶瓷数字文创场景",
            "景德镇市文广新旅局",
            "景德镇市",
            300,
            datetime(2099, 6, 30),
            "数字文创",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = await client.post(
        "/api/v1/imports", files={"file": ("list.xlsx", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.json()["created"] == 1, response.text
    opportunity = (await session.exec(select(Opportunity).where(Opportunity.external_id == "IMP-X1"))).one()
    assert opportunity.deadline.isoformat() == "2099-06-30" and opportunity.budget_max == 300
    assert opportunity.region_code == "360200"


async def test_unsupported_file_is_a_422_problem(client, session):
    await _staff(client, session)
    response = await client.post("/api/v1/imports", files={"file": ("list.pdf", b"%PDF-1.4", "application/pdf")})
    assert response.status_code == 422 and response.json()["field"] == "file"


async def test_only_staff_may_import(client, session):
    organisation = await create_organisation(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=organisation))
    response = await client.post("/api/v1/imports", files={"file": ("a.jsonl", b"{}", "application/x-ndjson")})
    assert response.status_code == 403


async def test_oversize_upload_is_refused_with_413(client, session, settings):
    await _staff(client, session)
    big = b"x" * (settings.max_upload_bytes + 10)
    response = await client.post("/api/v1/imports", files={"file": ("a.jsonl", big, "application/x-ndjson")})
    assert response.status_code == 413
