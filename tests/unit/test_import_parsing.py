"""Bulk import parsing: .jsonl, .csv and .xlsx into validated rows and row errors."""

import contextlib
import dataclasses
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from backend.imports.parsing import (
    ImportFileError,
    ImportRow,
    RowError,
    parse_budget,
    parse_deadline,
    parse_listing_file,
    split_terms,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"

COLUMNS = [
    "kind",
    "external_id",
    "title",
    "organisation",
    "organisation_kind",
    "credit_code",
    "region",
    "description",
    "tracks",
    "domains",
    "budget",
    "deadline",
    "contact",
    "maturity",
    "reference_cases",
    "certifications",
    "requirements",
    "batch",
]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def build_xlsx(rows: list[list[object]], *, title: str = "清单") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_rows_as_xlsx() -> bytes:
    """The three good rows, typed as a person's Excel sheet would have them: real date cells,
    numeric batch cells."""
    lines = fixture_bytes("listings_good.jsonl").decode().splitlines()
    rows: list[list[object]] = [COLUMNS]
    for line in lines:
        record = json.loads(line)
        cells: list[object] = []
        for column in COLUMNS:
            value = record.get(column)
            if isinstance(value, list):
                value = "、".join(value)
            cells.append(value)
        rows.append(cells)
    rows[1][COLUMNS.index("deadline")] = datetime(2026, 12, 31)
    rows[2][COLUMNS.index("deadline")] = datetime(2026, 11, 30)
    rows[1][COLUMNS.index("batch")] = 1
    rows[2][COLUMNS.index("batch")] = 2
    return build_xlsx(rows)


def without_row_numbers(rows: list[ImportRow]) -> list[ImportRow]:
    return [dataclasses.replace(row, row_number=0) for row in rows]


def csv_good_as_tsv() -> bytes:
    import csv

    text = fixture_bytes("listings_good.csv").decode()
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t")
    writer.writerows(csv.reader(io.StringIO(text)))
    return out.getvalue().encode()


# --------------------------------------------------------------------------- good rows

EXPECTED_GOOD_ROWS = [
    ImportRow(
        row_number=0,
        kind="opportunity",
        external_id="JX-2026-001",
        title="南昌市城市生命线安全监测场景",
        organisation="南昌市城市管理局",
        organisation_kind="government",
        credit_code=None,
        region="南昌市",
        description="面向燃气、供水、桥梁的城市生命线安全监测，需提供感知终端与预警平台。",
        tracks=["物联网", "人工智能"],
        domains=["数字治理"],
        budget_text="50-100万元",
        budget_min=Decimal(50),
        budget_max=Decimal(100),
        deadline=date(2026, 12, 31),
        contact="王先生 0791-88888888",
        maturity=None,
        reference_cases="",
        certifications="",
        requirements="具备城市级物联网平台建设经验",
        batch=1,
    ),
    ImportRow(
        row_number=0,
        kind="opportunity",
        external_id="JX-2026-002",
        title="新余市气象灾害智能预警",
        organisation="新余市气象局",
        organisation_kind=None,
        credit_code=None,
        region="江西省新余市",
        description="汛期短临预报与乡镇一级预警信息发布。",
        tracks=["气象/物联网", "大数据", "物联网"],
        domains=["数字治理", "数字生活"],
        budget_text="300万以内",
        budget_min=None,
        budget_max=Decimal(300),
        deadline=date(2026, 11, 30),
        contact="李女士 0790-6666666",
        maturity=None,
        reference_cases="",
        certifications="",
        requirements="",
        batch=2,
    ),
    ImportRow(
        row_number=0,
        kind="offering",
        external_id="OF-0001",
        title="5G+智慧医疗远程会诊平台",
        organisation="成都示例医疗科技有限公司",
        organisation_kind="enterprise",
        credit_code="91510100MA61234567",
        region="四川省成都市",
        description="基于5G专网的远程会诊、远程超声与院前急救协同。",
        tracks=["5G/智慧医疗"],
        domains=["数字生活"],
        budget_text="",
        budget_min=None,
        budget_max=None,
        deadline=None,
        contact="",
        maturity="mature",
        reference_cases="某省人民医院远程会诊中心",
        certifications="ISO 27001；医疗器械经营备案",
        requirements="",
        batch=None,
    ),
]

GOOD_FILES = {
    "jsonl": (lambda: fixture_bytes("listings_good.jsonl"), "good.jsonl", [1, 2, 3]),
    "csv": (lambda: fixture_bytes("listings_good.csv"), "good.csv", [2, 3, 4]),
    "tsv": (csv_good_as_tsv, "good.csv", [2, 3, 4]),
    "xlsx": (good_rows_as_xlsx, "good.xlsx", [2, 3, 4]),
}


@pytest.mark.parametrize("fmt", list(GOOD_FILES))
def test_every_format_parses_the_same_three_good_rows(fmt):
    make, filename, expected_numbers = GOOD_FILES[fmt]

    rows, errors = parse_listing_file(make(), filename)

    assert errors == []
    assert [row.row_number for row in rows] == expected_numbers
    assert without_row_numbers(rows) == EXPECTED_GOOD_ROWS


def test_csv_with_utf8_bom_reads_the_first_header():
    data = b"\xef\xbb\xbf" + fixture_bytes("listings_good.csv")

    rows, errors = parse_listing_file(data, "good.csv")

    assert errors == []
    assert without_row_numbers(rows) == EXPECTED_GOOD_ROWS


def test_csv_saved_by_chinese_excel_in_gb18030_is_read():
    data = fixture_bytes("listings_good.csv").decode("utf-8").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    rows, errors = parse_listing_file(data, "清单.CSV")

    assert errors == []
    assert without_row_numbers(rows) == EXPECTED_GOOD_ROWS


def test_chinese_headers_with_odd_spacing_case_and_full_width_are_recognised():
    header = " 类型 ,编号,名称,发布单位,所在地区,场景描述,行业领域,场景领域,预算（万元）,截止时间,联系人,联系电话,批次,ＴＩＴＬＥ备注"
    body = "机会,A-1,鹰潭市物联网示范场景,鹰潭市工业和信息化局,鹰潭市,移动物联网,物联网,智能生产,80,2026年9月30日,张三,0701-1234567,第3批,忽略"
    data = (header + "\n" + body + "\n").encode()

    rows, errors = parse_listing_file(data, "场景.csv")

    assert errors == []
    (row,) = rows
    assert row.kind == "opportunity"
    assert row.external_id == "A-1"
    assert row.title == "鹰潭市物联网示范场景"
    assert row.organisation == "鹰潭市工业和信息化局"
    assert row.region == "鹰潭市"
    assert row.tracks == ["物联网"]
    assert row.domains == ["智能生产"]
    assert (row.budget_min, row.budget_max) == (Decimal(80), Decimal(80))
    assert row.deadline == date(2026, 9, 30)
    assert row.contact == "张三 0701-1234567"
    assert row.batch == 3


def test_full_width_and_upper_case_english_headers_are_recognised():
    data = "ＫＩＮＤ,  Title ,ORGANISATION\nofferING,能力一,某企业\n".encode()

    rows, errors = parse_listing_file(data, "x.csv")

    assert errors == []
    assert [(r.kind, r.title, r.organisation) for r in rows] == [("offering", "能力一", "某企业")]


def test_unknown_columns_are_ignored_and_blank_rows_skipped_silently():
    data = "序号,kind,title,organisation,备注\n1,opportunity,甲,乙,x\n,,,,\n\n2,offering,丙,丁,y\n".encode()

    rows, errors = parse_listing_file(data, "x.csv")

    assert errors == []
    assert [(r.row_number, r.title) for r in rows] == [(2, "甲"), (5, "丙")]


# --------------------------------------------------------------------------- bad rows

EXPECTED_BAD_ROW_ERRORS_JSONL = [(2, "kind"), (4, "title"), (5, None), (6, "deadline"), (7, "budget")]
EXPECTED_BAD_ROW_ERRORS_CSV = [(3, "kind"), (5, "title"), (6, "deadline"), (7, "budget")]


def test_jsonl_bad_rows_are_reported_by_line_number_and_good_rows_survive():
    rows, errors = parse_listing_file(fixture_bytes("listings_bad.jsonl"), "bad.jsonl")

    assert [(e.row_number, e.field) for e in errors] == EXPECTED_BAD_ROW_ERRORS_JSONL
    assert [(r.row_number, r.title) for r in rows] == [(1, "吉安市智慧农业示范场景"), (8, "VR 文旅沉浸式体验方案")]
    reasons = {e.field: e.reason for e in errors}
    assert reasons["deadline"] == "截止日期格式无法识别：2026/13/45"
    assert reasons["budget"] == "预算格式无法识别：abc万"
    assert "招标" in reasons["kind"]
    assert reasons["title"] == "名称不能为空"
    assert "JSON" in reasons[None]


def test_csv_bad_rows_are_reported_by_spreadsheet_row_and_good_rows_survive():
    # row 2 has a quoted description spanning two lines; row 4 is blank
    rows, errors = parse_listing_file(fixture_bytes("listings_bad.csv"), "bad.csv")

    assert [(e.row_number, e.field) for e in errors] == EXPECTED_BAD_ROW_ERRORS_CSV
    assert [r.row_number for r in rows] == [2, 8]
    first, last = rows
    assert first.description == "第一行说明\r\n第二行说明"
    assert (first.budget_min, first.deadline) == (Decimal(200), date(2026, 10, 31))
    assert last.tracks == ["虚拟现实", "文旅"]
    assert last.maturity == "pilot"


def test_xlsx_bad_rows_are_reported_by_sheet_row_and_good_rows_survive():
    data = build_xlsx(
        [
            [],
            ["kind", "title", "organisation", "deadline", "budget"],
            ["opportunity", "萍乡市工业互联网场景", "萍乡市工信局", datetime(2026, 8, 1), "100万"],
            ["opportunity", "截止日期错误", "某局", "2026/13/45", None],
            [None, None, None, None, None],
            ["offering", None, "某企业", None, None],
            ["需求", "景德镇陶瓷数字化", "景德镇市", None, "1.2亿元"],
        ]
    )

    rows, errors = parse_listing_file(data, "bad.xlsx")

    assert [(e.row_number, e.field) for e in errors] == [(4, "deadline"), (6, "title")]
    assert [(r.row_number, r.title) for r in rows] == [(3, "萍乡市工业互联网场景"), (7, "景德镇陶瓷数字化")]
    assert rows[1].budget_min == Decimal(12000)


def test_a_row_with_several_bad_fields_reports_each_of_them():
    line = {
        "kind": "opportunity",
        "title": "多处错误",
        "organisation": "某局",
        "deadline": "明年",
        "budget": "很多",
        "batch": "第X批",
    }

    rows, errors = parse_listing_file(json.dumps(line, ensure_ascii=False).encode(), "x.jsonl")

    assert rows == []
    assert [e.field for e in errors] == ["budget", "deadline", "batch"]
    assert all(e.row_number == 1 for e in errors)


def test_invalid_choice_fields_are_row_errors():
    data = (
        "kind,title,organisation,organisation_kind,maturity,credit_code\n"
        "offering,甲,乙,外星机构,,\n"
        "offering,甲2,乙,,半成品,\n"
        "offering,甲3,乙,,,123\n"
        "offering,甲4,乙,国企,原型,91360100ma35abcd1x\n"
    ).encode()

    rows, errors = parse_listing_file(data, "x.csv")

    assert [(e.row_number, e.field) for e in errors] == [(2, "organisation_kind"), (3, "maturity"), (4, "credit_code")]
    (row,) = rows
    assert (row.organisation_kind, row.maturity, row.credit_code) == ("soe", "prototype", "91360100MA35ABCD1X")


def test_duplicate_external_id_of_the_same_kind_is_reported_on_the_later_row():
    data = (
        "kind,external_id,title,organisation\nopportunity,A1,甲,乙\noffering,A1,丙,丁\nopportunity,A1,戊,己\n".encode()
    )

    rows, errors = parse_listing_file(data, "x.csv")

    assert [r.row_number for r in rows] == [2, 3]
    assert [(e.row_number, e.field) for e in errors] == [(4, "external_id")]
    assert "第 2 行" in errors[0].reason


def test_text_fields_beyond_their_length_limit_are_row_errors():
    long_description = "描" * 20001
    ok_description = "描" * 20000
    lines = [
        {"kind": "opportunity", "title": "甲", "organisation": "乙", "description": long_description},
        {"kind": "opportunity", "title": "题" * 201, "organisation": "乙"},
        {"kind": "opportunity", "title": "甲", "organisation": "乙", "requirements": "要" * 2001},
        {"kind": "opportunity", "title": "题" * 200, "organisation": "乙", "description": ok_description},
    ]
    data = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()

    rows, errors = parse_listing_file(data, "x.jsonl")

    assert [(e.row_number, e.field) for e in errors] == [(1, "description"), (2, "title"), (3, "requirements")]
    assert "20000" in errors[0].reason
    assert [r.row_number for r in rows] == [4]


def test_jsonl_line_that_is_not_an_object_is_a_row_error():
    data = b'[1, 2]\n{"kind": "offering", "title": "\xe7\x94\xb2", "organisation": "\xe4\xb9\x99"}\n"text"\n'

    rows, errors = parse_listing_file(data, "x.jsonl")

    assert [(e.row_number, e.field) for e in errors] == [(1, None), (3, None)]
    assert [r.row_number for r in rows] == [2]


def test_jsonl_accepts_chinese_keys_and_list_values():
    line = {
        "类型": "能力",
        "名称": "甲",
        "企业名称": "乙",
        "赛道": ["AI", "AI", " 大数据 "],
        "案例": ["案例一", "案例二"],
    }

    rows, errors = parse_listing_file(json.dumps(line, ensure_ascii=False).encode(), "x.jsonl")

    assert errors == []
    (row,) = rows
    assert (row.kind, row.tracks, row.reference_cases) == ("offering", ["AI", "大数据"], "案例一\n案例二")


# --------------------------------------------------------------------------- xlsx cells


def test_xlsx_date_cells_and_numeric_cells_are_read():
    data = build_xlsx(
        [
            ["类型", "编号", "名称", "单位", "截止日期", "预算（万元）", "批次"],
            ["机会", 1001, "抚州市智慧文旅", "抚州市文广新旅局", datetime(2026, 7, 15, 17, 30), 200, 2],
            ["机会", 1002.0, "宜春市锂电产业大脑", "宜春市工信局", date(2026, 6, 1), 35.5, 3.0],
            ["机会", "1003", "赣江新区数字孪生", "赣江新区管委会", 46022, "50-80", None],
        ]
    )

    rows, errors = parse_listing_file(data, "numbers.xlsx")

    assert errors == []
    assert [r.external_id for r in rows] == ["1001", "1002", "1003"]
    assert [r.deadline for r in rows] == [date(2026, 7, 15), date(2026, 6, 1), date(2025, 12, 31)]
    assert [(r.budget_min, r.budget_max) for r in rows] == [
        (Decimal(200), Decimal(200)),
        (Decimal("35.5"), Decimal("35.5")),
        (Decimal(50), Decimal(80)),
    ]
    assert [r.budget_text for r in rows] == ["200", "35.5", "50-80"]
    assert [r.batch for r in rows] == [2, 3, None]


def test_budget_header_in_yuan_makes_bare_numbers_yuan():
    data = build_xlsx([["kind", "title", "organisation", "预算(元)"], ["opportunity", "甲", "乙", 500000]])

    rows, errors = parse_listing_file(data, "yuan.xlsx")

    assert errors == []
    assert (rows[0].budget_min, rows[0].budget_max) == (Decimal(50), Decimal(50))


def test_xlsx_reads_the_first_worksheet_only():
    workbook = Workbook()
    first = workbook.active
    first.append(["kind", "title", "organisation"])
    first.append(["offering", "第一张表", "甲"])
    second = workbook.create_sheet("其他")
    second.append(["kind", "title", "organisation"])
    second.append(["offering", "第二张表", "乙"])
    workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)

    rows, _ = parse_listing_file(buffer.getvalue(), "two.xlsx")

    assert [r.title for r in rows] == ["第一张表"]


def _with_sheet_xml(sheet_data: bytes, *, dimension: bytes = b"") -> bytes:
    """A real .xlsx whose first sheet part is replaced: `dimension` (optional in the format) then
    `sheet_data` inside <sheetData>."""
    import zipfile

    original = zipfile.ZipFile(io.BytesIO(build_xlsx([["kind"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                archive.writestr(
                    info.filename,
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    + dimension
                    + b"<sheetData>"
                    + sheet_data
                    + b"</sheetData></worksheet>",
                )
            else:
                archive.writestr(info, original.read(info))
    return buffer.getvalue()


def _inline_row(number: int, values: list[str]) -> bytes:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'.encode()


def test_an_xlsx_sheet_without_dimensions_is_read_in_full():
    sheet = _inline_row(1, ["kind", "title", "organisation"]) + b"".join(
        _inline_row(n, ["opportunity", f"无尺寸表第{n}行", "某局"]) for n in range(2, 6)
    )
    for dimension in (b"", b'<dimension ref="A1:C2"/>'):  # absent, or wrong as other tools write it
        rows, errors = parse_listing_file(_with_sheet_xml(sheet, dimension=dimension), "x.xlsx")
        assert errors == [] and [r.title for r in rows] == [f"无尺寸表第{n}行" for n in range(2, 6)]


def test_blank_rows_of_a_sheet_without_dimensions_are_refused_by_the_row_bound_before_the_rest_is_read():
    # openpyxl alone parses a whole sheet part that lacks <dimension> before yielding its first row
    # (two million blank rows: 15-20 s of CPU). Past the bound here the part is broken XML: reading
    # to its end would report the file as corrupt instead of refusing it at the bound.
    sheet = (
        _inline_row(1, ["kind", "title", "organisation"])
        + b"".join(b'<row r="%d"/>' % n for n in range(2, 2000))
        + b"<row><<<broken"
    )
    with pytest.raises(ImportFileError, match="空行也计算在内"):
        parse_listing_file(_with_sheet_xml(sheet), "blank.xlsx", max_rows=100)


# --------------------------------------------------------------------------- file errors


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"kind,title\nopportunity,x\n", "x.csv"),
        (b'{"kind": "opportunity"}', "x.xlsx"),
    ],
    ids=["csv-missing-organisation", "corrupt-xlsx"],
)
def test_unreadable_files_raise_import_file_error(data, filename):
    with pytest.raises(ImportFileError):
        parse_listing_file(data, filename)


def test_missing_required_columns_are_named_in_chinese():
    data = "region,description\n南昌市,说明\n".encode()

    with pytest.raises(ImportFileError) as caught:
        parse_listing_file(data, "x.csv")

    message = str(caught.value)
    assert message.startswith("缺少必填列")
    assert "类型" in message and "名称" in message and "单位" in message


def test_xlsx_missing_required_column_raises():
    data = build_xlsx([["类型", "名称"], ["机会", "甲"]])

    with pytest.raises(ImportFileError, match="单位"):
        parse_listing_file(data, "x.xlsx")


@pytest.mark.parametrize("filename", ["listings.txt", "listings.xls", "listings", "listings.json", "x.csv.exe"])
def test_unsupported_extension_raises(filename):
    with pytest.raises(ImportFileError, match="不支持的文件类型"):
        parse_listing_file(b"kind,title,organisation\n", filename)


def test_jsonl_that_is_not_utf8_raises():
    data = '{"kind": "机会", "title": "甲", "organisation": "乙"}'.encode("gb18030")

    with pytest.raises(ImportFileError, match="UTF-8"):
        parse_listing_file(data, "x.jsonl")


@pytest.mark.parametrize("filename", ["x.csv", "x.jsonl", "x.xlsx"])
def test_empty_file_raises(filename):
    with pytest.raises(ImportFileError, match="为空"):
        parse_listing_file(b"  \n", filename)


def test_too_many_rows_raises_but_the_limit_itself_is_fine():
    header = "kind,title,organisation\n"
    at_limit = (header + "offering,甲,乙\n" * 5).encode()
    over_limit = (header + "offering,甲,乙\n" * 6).encode()

    rows, _ = parse_listing_file(at_limit, "x.csv", max_rows=5)
    assert len(rows) == 5
    with pytest.raises(ImportFileError, match="上限"):
        parse_listing_file(over_limit, "x.csv", max_rows=5)


def test_ten_thousand_rows_parse_with_every_row_kept():
    header = "kind,external_id,title,organisation,region,tracks,budget,deadline\n"
    body = "".join(
        f"opportunity,E{i},场景{i},单位{i % 37},南昌市,物联网、人工智能,{i % 90 + 10}-200万元,2026-12-31\n"
        for i in range(10000)
    )

    rows, errors = parse_listing_file((header + body).encode(), "big.csv")

    assert errors == []
    assert len(rows) == 10000
    assert rows[-1].row_number == 10001


def test_import_file_error_is_a_value_error():
    assert issubclass(ImportFileError, ValueError)
    assert RowError(2, "title", "名称不能为空").reason == "名称不能为空"


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50-100万元", (Decimal(50), Decimal(100))),
        ("50～100万", (Decimal(50), Decimal(100))),
        ("50至100万元", (Decimal(50), Decimal(100))),
        ("200万元", (Decimal(200), Decimal(200))),
        ("200万", (Decimal(200), Decimal(200))),
        ("200w", (Decimal(200), Decimal(200))),
        ("约200万元（含税）", (Decimal(200), Decimal(200))),
        ("1,000万元", (Decimal(1000), Decimal(1000))),
        ("１.２亿元", (Decimal(12000), Decimal(12000))),
        ("1.2亿元", (Decimal(12000), Decimal(12000))),
        ("面议", (None, None)),
        ("", (None, None)),
        ("  待定 ", (None, None)),
        ("50万-1亿", (Decimal(50), Decimal(10000))),
        ("≤300万", (None, Decimal(300))),
        ("不超过300万元", (None, Decimal(300))),
        ("300万以内", (None, Decimal(300))),
        ("500万以上", (Decimal(500), None)),
        ("500000元", (Decimal(50), Decimal(50))),
        ("5000元", (Decimal("0.5"), Decimal("0.5"))),
        ("80", (Decimal(80), Decimal(80))),
    ],
)
def test_parse_budget_reads_common_forms_in_ten_thousand_yuan(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["abc万", "很多", "100-50万", "万元", "-5万", "50万美元", "1e5"])
def test_parse_budget_rejects_garbage_with_a_chinese_message(text):
    with pytest.raises(ValueError, match="预算"):
        parse_budget(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("2026/12/31", date(2026, 12, 31)),
        ("2026.12.31", date(2026, 12, 31)),
        ("2026-1-5", date(2026, 1, 5)),
        ("2026年12月31日", date(2026, 12, 31)),
        ("2026年12月31日前", date(2026, 12, 31)),
        ("２０２６年１２月３１日", date(2026, 12, 31)),
        ("2026-12-31T18:00:00", date(2026, 12, 31)),
        ("2026-12-31T18:00:00+08:00", date(2026, 12, 31)),
        ("2026-12-31 17:30", date(2026, 12, 31)),
        ("20261231", date(2026, 12, 31)),
        ("2026年12月底", date(2026, 12, 31)),
        (datetime(2026, 12, 31, 9, 0), date(2026, 12, 31)),
        (date(2026, 12, 31), date(2026, 12, 31)),
        (46387, date(2026, 12, 31)),
        (46387.75, date(2026, 12, 31)),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_parse_deadline_reads_common_forms(value, expected):
    assert parse_deadline(value) == expected


@pytest.mark.parametrize(
    "value", ["2026/13/45", "2026-02-30", "明年年底", "31/12/2026", "2026-12", "2026-12-31 25:00", -3, 1e12, True]
)
def test_parse_deadline_rejects_unknown_or_impossible_dates(value):
    with pytest.raises(ValueError, match="截止日期格式无法识别"):
        parse_deadline(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("智慧农业、气象/物联网；5G", ["智慧农业", "气象/物联网", "5G"]),
        ("a, b，c;d；e\nf\r\ng", ["a", "b", "c", "d", "e", "f", "g"]),
        ("  物联网 、、物联网、 ", ["物联网"]),
        (["AI", "大数据、AI", None], ["AI", "大数据"]),
        (None, []),
        ("", []),
    ],
)
def test_split_terms_splits_trims_and_deduplicates_in_order(value, expected):
    assert split_terms(value) == expected


# --------------------------------------------------------------------------- properties

terms_input = st.one_of(st.text(), st.lists(st.one_of(st.text(), st.none(), st.integers())))


@given(terms_input)
def test_split_terms_never_returns_empty_strings_or_duplicates(value):
    terms = split_terms(value)

    assert all(term and term == term.strip() for term in terms)
    assert len(terms) == len(set(terms))


budget_like = st.from_regex(
    r"\A(约|≤|不超过)?[0-9０-９.,]{0,25}(万|亿|元|千万|w)?(元)?([-~至][0-9.]{0,25}(万|亿|元)?)?(以内|以上|左右)?\Z"
)


@settings(max_examples=300)
@given(st.one_of(st.text(), budget_like, st.integers(), st.floats(), st.none()))
def test_parse_budget_raises_nothing_but_value_error(text):
    try:
        low, high = parse_budget(text)
    except ValueError:
        return
    assert low is None or low >= 0
    assert high is None or high >= 0
    if low is not None and high is not None:
        assert low <= high


@given(st.one_of(st.text(), st.integers(), st.floats(), st.datetimes(), st.dates(), st.none()))
def test_parse_deadline_raises_nothing_but_value_error(value):
    with contextlib.suppress(ValueError):
        parse_deadline(value)


@settings(max_examples=200)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.lists(
                st.sampled_from(
                    ["kind", "title", "organisation", "机会", "产品", "甲", "", '"', "2026/1/1", "1亿", "\n", "第2批"]
                ),
                max_size=6,
            ),
            max_size=6,
        ).map(lambda rows: "\n".join(",".join(r) for r in rows).encode()),
        st.lists(
            st.dictionaries(
                st.sampled_from(["kind", "title", "organisation", "tracks", "batch", "deadline", "budget"]),
                st.one_of(
                    st.text(max_size=5),
                    st.integers(),
                    st.floats(),
                    st.none(),
                    st.lists(st.text(max_size=3), max_size=2),
                ),
            ),
            max_size=4,
        ).map(lambda objs: "\n".join(json.dumps(o) for o in objs).encode()),
    ),
    st.sampled_from(["x.csv", "x.jsonl"]),
)
def test_any_csv_or_jsonl_bytes_give_rows_errors_or_an_import_file_error(data, filename):
    try:
        rows, errors = parse_listing_file(data, filename)
    except ImportFileError:
        return
    assert all(isinstance(r, ImportRow) for r in rows)
    assert all(isinstance(e, RowError) and e.reason for e in errors)
