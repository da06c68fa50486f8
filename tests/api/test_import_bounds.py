"""Hostile and awkward import files: zip bombs, sheets of blank rows, foreign encodings, control
characters — and the site keeps answering while a file is parsed."""

import asyncio
import io
import time
import zipfile

from openpyxl import Workbook
from sqlmodel import select

from backend.auth.models import Role
from backend.listings.models import Opportunity
from tests.factories import create_user, login

HEADER = "kind,external_id,title,organisation,region\n"


async def _staff(client, session):
    return await login(client, await create_user(session, role=Role.matchmaker))


async def _import(client, name: str, data: bytes):
    return await client.post("/api/v1/imports", files={"file": (name, data, "application/octet-stream")})


def _xlsx(rows: list[list[object]], *, far_cell: int | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if far_cell is not None:
        sheet.cell(row=far_cell, column=1, value=" ")  # one blank cell a long way down
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """A real .xlsx with one extra part that inflates to 300 MB of spaces (about 300 KB packed)."""
    good = zipfile.ZipFile(io.BytesIO(_xlsx([["kind", "title", "organisation"], ["opportunity", "炸弹", "某局"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        for info in good.infolist():
            bomb.writestr(info, good.read(info))
        with bomb.open("xl/media/padding.xml", "w") as part:
            chunk = b" " * (1024 * 1024)
            for _ in range(300):
                part.write(chunk)
    return buffer.getvalue()


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(client, session):
    await _staff(client, session)
    bomb = _zip_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    started = time.monotonic()
    response = await _import(client, "bomb.xlsx", bomb)
    assert response.status_code == 422, response.text
    assert "解压后超过上限" in response.json()["detail"]
    assert time.monotonic() - started < 10  # refused from the archive's directory, not by inflating 300 MB


async def test_blank_rows_count_against_the_row_limit(client, session, settings):
    await _staff(client, session)
    settings.max_import_rows = 500
    # Two real rows, then a cell at row 100,000: openpyxl would yield ~100,000 empty rows in between.
    data = _xlsx(
        [
            ["kind", "title", "organisation"],
            ["opportunity", "空行测试一", "某局"],
            ["opportunity", "空行测试二", "某局"],
        ],
        far_cell=100_000,
    )
    response = await _import(client, "blank.xlsx", data)
    assert response.status_code == 422, response.text
    assert "空行也计算在内" in response.json()["detail"]
    assert (await session.exec(select(Opportunity).where(Opportunity.title == "空行测试一"))).first() is None


async def test_a_few_blank_rows_are_skipped_and_the_rest_imported(client, session):
    await _staff(client, session)
    data = _xlsx([["kind", "title", "organisation"], [], ["opportunity", "空行之后的需求", "某局"], [None, "", None]])
    response = await _import(client, "few-blanks.xlsx", data)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and response.json()["errors"] == []


async def test_blank_lines_count_in_csv_and_jsonl_too(client, session, settings):
    await _staff(client, session)
    settings.max_import_rows = 100
    csv = (HEADER + "opportunity,B-1,空行CSV,某局,南昌\n" + "\n" * 1000).encode()
    jsonl = ('{"kind": "opportunity", "title": "空行JSONL", "organisation": "某局"}' + "\n" * 1000).encode()
    for name, data in (("blank.csv", csv), ("blank.jsonl", jsonl)):
        response = await _import(client, name, data)
        assert response.status_code == 422, (name, response.text)
        assert "空行也计算在内" in response.json()["detail"]


async def _titles(session, prefix: str) -> list[str]:
    rows = (await session.exec(select(Opportunity).where(Opportunity.external_id.like(f"{prefix}%")))).all()
    return sorted(o.title for o in rows)


async def test_big5_and_gb18030_csv_files_keep_their_titles(client, session):
    await _staff(client, session)
    big5 = (HEADER + "opportunity,BIG5-1,繁體標題,臺灣測試單位,南昌\n").encode("big5")
    gb = (HEADER + "opportunity,GB-1,鄱阳湖生态监测,江西省生态环境厅,南昌\n").encode("gb18030")
    for name, data in (("big5.csv", big5), ("gb.csv", gb)):
        response = await _import(client, name, data)
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 1, response.json()
    assert await _titles(session, "BIG5-") == ["繁體標題"]
    assert await _titles(session, "GB-") == ["鄱阳湖生态监测"]


async def test_a_short_big5_file_is_not_read_as_gb18030(client, session):
    await _staff(client, session)
    data = (HEADER + "opportunity,BIG5S-1,南昌,某局,南昌\n").encode("big5")
    response = await _import(client, "short.csv", data)
    assert response.status_code == 200, response.text
    assert await _titles(session, "BIG5S-") == ["南昌"]


async def test_a_shift_jis_file_is_refused_with_the_reason(client, session):
    await _staff(client, session)
    data = (HEADER + "opportunity,SJIS-1,日本語のタイトルです,テスト株式会社,東京\n").encode("shift_jis")
    response = await _import(client, "sjis.csv", data)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "Shift_JIS" in detail and "UTF-8" in detail
    assert await _titles(session, "SJIS-") == []


async def test_a_row_with_bytes_its_encoding_cannot_read_is_reported_and_the_others_kept(client, session):
    await _staff(client, session)
    good = (HEADER + "opportunity,LOSSY-1,繁體標題一,臺灣測試單位,南昌\n").encode("big5")
    bad = "opportunity,LOSSY-2,".encode("big5") + b"\xa4\xa4\xff\xfe" + ",某局,南昌\n".encode("big5")
    more = "opportunity,LOSSY-3,繁體標題三,臺灣測試單位,南昌\n".encode("big5")
    response = await _import(client, "lossy.csv", good + bad + more)
    assert response.status_code == 200, response.text
    report = response.json()
    assert [(e["row"], "Big5" in e["reason"]) for e in report["errors"]] == [(3, True)]
    assert await _titles(session, "LOSSY-") == ["繁體標題一", "繁體標題三"]


async def test_control_characters_in_a_row_are_reported_as_a_sentence(client, session):
    await _staff(client, session)
    data = (HEADER + "opportunity,NUL-1,带\x00空字符的标题,某局,南昌\nopportunity,NUL-2,正常标题,某局,南昌\n").encode()
    response = await _import(client, "nul.csv", data)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "title")]
    assert "控制字符" in errors[0]["reason"] and "Error" not in errors[0]["reason"]
    assert await _titles(session, "NUL-") == ["正常标题"]


async def test_the_site_answers_other_requests_while_a_file_is_parsed(client, make_client, session, settings):
    """The parse runs in a worker thread: a visitor is answered long before the parse is over."""
    await _staff(client, session)
    settings.max_import_rows = 40000
    # Every row fails validation (unknown kind), so the import's time is the parse, not the database.
    body = "".join(
        f"未知类型,PAR-{n},并发解析测试第{n}条（智慧农业物联网平台建设项目）,并发测试单位{n % 50},江西省南昌市\n"
        for n in range(40000)
    )
    data = (HEADER + body).encode("gb18030")  # not UTF-8: detection and decoding are part of the work
    visitor = make_client()
    answered_during_import: list[float] = []
    import_done = asyncio.Event()

    async def do_import() -> None:
        try:
            response = await client.post("/api/v1/imports", files={"file": ("big.csv", data, "text/csv")})
        finally:
            import_done.set()
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 0 and len(response.json()["errors"]) == 40000

    async def browse() -> None:
        # A visitor keeps asking while the import runs. Had the parse run on the event loop, no
        # answer could arrive before the import's own answer, however fast the machine. (A static
        # file: in the tests every request shares one database connection, so the visitor must
        # not use the database while the import writes.)
        while not import_done.is_set():
            sent = time.monotonic()
            response = await visitor.get("/static/site.css")
            assert response.status_code == 200
            if not import_done.is_set():
                answered_during_import.append(time.monotonic() - sent)

    await asyncio.gather(do_import(), browse())
    assert len(answered_during_import) >= 3, answered_during_import
