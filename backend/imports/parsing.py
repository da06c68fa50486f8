"""Parse bulk-import files of listings (机会清单 / 产品清单) into validated rows.

Pure functions, no database. One documented column set is read from ``.jsonl``,
``.csv`` and ``.xlsx`` files; Chinese header aliases are accepted. A bad row becomes a
:class:`RowError` (row number as a person counts it, the field, a reason in Chinese) and is
skipped; every good row is returned. A file that cannot be read at all raises
:class:`ImportFileError` with a message in Chinese.

Row numbers: the line number in a ``.jsonl`` file (1-based); the spreadsheet row in
``.csv``/``.xlsx`` (the header is row 1 when it is the first row, the first data row row 2).

Text is kept as given, only trimmed; interpretation (track mapping, region matching,
normalisation for search) happens later.

Bounds, so that a hostile file costs little: every row read counts against ``max_rows``, blank
or not (a sheet of two million empty rows is refused after ``max_rows``, not read to the end);
an .xlsx whose parts would unpack to more than ``max_unpacked_bytes`` is refused before any
part is inflated (a zip bomb); only the first ``MAX_COLUMNS`` columns of a sheet are read.
Parsing is CPU work: the web handlers run it in a worker thread with ``parse_off_loop``.

Encodings: .jsonl is UTF-8; .csv may be UTF-8 (with or without BOM), UTF-16 with a BOM,
GB18030 (GBK, GB2312) or Big5. The encoding is detected with charset-normalizer; between
GB18030 and Big5, which read the same bytes as different characters, the reading whose
characters are common Chinese characters wins (GB18030 on a tie). A file in any other encoding
(Shift_JIS, …) is refused; a row with bytes the detected encoding cannot read is reported with
its row number and skipped. Text with NUL or other control characters is refused per field.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from charset_normalizer import from_bytes

from backend.kit.textguard import FORBIDDEN

__all__ = [
    "MAX_COLUMNS",
    "MAX_UNPACKED_BYTES",
    "SUPPORTED_EXTENSIONS",
    "ImportFileError",
    "ImportRow",
    "RowError",
    "parse_budget",
    "parse_deadline",
    "parse_listing_file",
    "parse_off_loop",
    "split_terms",
]

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_COLUMNS = 200


@dataclass(slots=True)
class ImportRow:
    """A row that passed validation (text kept as given, only trimmed)."""

    row_number: int
    kind: str  # "opportunity" | "offering"
    external_id: str | None
    title: str
    organisation: str
    organisation_kind: str | None
    credit_code: str | None
    region: str
    description: str
    tracks: list[str]
    domains: list[str]
    budget_text: str
    budget_min: Decimal | None  # 万元
    budget_max: Decimal | None  # 万元
    deadline: date | None
    contact: str
    maturity: str | None
    reference_cases: str
    certifications: str
    requirements: str
    batch: int | None


@dataclass(slots=True)
class RowError:
    row_number: int
    field: str | None
    reason: str  # in Chinese


class ImportFileError(ValueError):
    """The whole file cannot be read; the message is in Chinese."""


# --------------------------------------------------------------------------- columns

FIELDS: tuple[str, ...] = (
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
)
REQUIRED_COLUMNS: tuple[str, ...] = ("kind", "title", "organisation")

FIELD_LABELS: dict[str, str] = {
    "kind": "类型",
    "external_id": "编号",
    "title": "名称",
    "organisation": "单位",
    "organisation_kind": "单位类型",
    "credit_code": "统一社会信用代码",
    "region": "地区",
    "description": "描述",
    "tracks": "赛道",
    "domains": "场景领域",
    "budget": "预算",
    "deadline": "截止日期",
    "contact": "联系方式",
    "maturity": "成熟度",
    "reference_cases": "案例",
    "certifications": "资质",
    "requirements": "要求",
    "batch": "批次",
}

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "kind": ("kind", "type", "listing_kind", "类型", "清单类型"),
    "external_id": ("external_id", "id", "编号", "外部编号", "项目编号", "场景编号", "产品编号"),
    "title": (
        "title",
        "name",
        "名称",
        "标题",
        "场景名称",
        "项目名称",
        "产品名称",
        "需求名称",
        "机会名称",
        "解决方案名称",
    ),
    "organisation": (
        "organisation",
        "organization",
        "org",
        "issuer",
        "enterprise",
        "company",
        "单位",
        "发布单位",
        "企业名称",
        "单位名称",
        "企业",
        "需求单位",
        "发布方",
        "出卷方",
        "提供单位",
        "申报单位",
    ),
    "organisation_kind": (
        "organisation_kind",
        "organization_kind",
        "org_kind",
        "issuer_kind",
        "单位类型",
        "单位性质",
    ),
    "credit_code": ("credit_code", "统一社会信用代码", "社会信用代码", "信用代码"),
    "region": ("region", "地区", "所在地区", "所属地区", "区域", "所在地", "地市"),
    "description": (
        "description",
        "desc",
        "描述",
        "简介",
        "场景描述",
        "场景简介",
        "需求描述",
        "产品简介",
        "主要内容",
    ),
    "tracks": ("tracks", "track", "赛道", "行业领域", "类别", "所属赛道", "所属行业"),
    "domains": ("domains", "domain", "场景领域", "领域", "应用领域"),
    "budget": ("budget", "预算", "投资规模", "预算金额", "投资金额", "投资额"),
    "deadline": ("deadline", "截止日期", "截止时间", "截止"),
    "contact": ("contact", "联系方式", "联系人", "联系电话"),
    "maturity": ("maturity", "成熟度", "产品成熟度"),
    "reference_cases": ("reference_cases", "cases", "案例", "应用案例", "典型案例"),
    "certifications": ("certifications", "资质", "认证", "资质认证"),
    "requirements": ("requirements", "要求", "技术要求", "答题要求"),
    "batch": ("batch", "批次"),
}

_PARENTHETICAL_TAIL = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")
_HEADER_DROP = re.compile(r"[\s_\-*]+")


def _normalise_header(value: Any) -> tuple[str, str]:
    """Return (key, parenthetical hint) of a header cell: NFKC, case folded, no spaces."""
    text = unicodedata.normalize("NFKC", _to_text(value)).casefold()
    text = text.strip().strip("*").strip()
    hint = ""
    match = _PARENTHETICAL_TAIL.search(text)
    if match and match.start() > 0:
        hint = match.group(0)
        text = text[: match.start()]
    return _HEADER_DROP.sub("", text), hint


# --------------------------------------------------------------------------- values

_KIND_VALUES: dict[str, str] = {
    "opportunity": "opportunity",
    "opportunities": "opportunity",
    "机会": "opportunity",
    "机会清单": "opportunity",
    "需求": "opportunity",
    "需求清单": "opportunity",
    "场景需求": "opportunity",
    "应用场景需求": "opportunity",
    "offering": "offering",
    "offerings": "offering",
    "产品": "offering",
    "产品清单": "offering",
    "能力": "offering",
    "能力清单": "offering",
}

_ORGANISATION_KIND_VALUES: dict[str, str] = {
    "government": "government",
    "政府": "government",
    "政府部门": "government",
    "省直部门": "government",
    "city": "city",
    "设区市": "city",
    "地市": "city",
    "市": "city",
    "soe": "soe",
    "国企": "soe",
    "国有企业": "soe",
    "enterprise": "enterprise",
    "企业": "enterprise",
    "民营企业": "enterprise",
    "lab": "lab",
    "实验室": "lab",
    "科研院所": "lab",
    "高校院所": "lab",
}

_MATURITY_VALUES: dict[str, str] = {
    "concept": "concept",
    "概念": "concept",
    "概念方案": "concept",
    "概念验证": "concept",
    "prototype": "prototype",
    "原型": "prototype",
    "样机": "prototype",
    "样机/原型": "prototype",
    "样机原型": "prototype",
    "研发": "prototype",
    "pilot": "pilot",
    "试点": "pilot",
    "试点应用": "pilot",
    "试用": "pilot",
    "中试": "pilot",
    "mature": "mature",
    "成熟": "mature",
    "成熟产品": "mature",
    "量产": "mature",
    "规模化应用": "mature",
}

# Length limits in characters; the tighter ones match the database columns.
_MAX_LENGTH: dict[str, int] = {
    "title": 200,
    "organisation": 200,
    "external_id": 100,
    "contact": 500,
    "budget": 100,
    "description": 20000,
}
_DEFAULT_MAX_LENGTH = 2000

_EDGE_JUNK = "\u200b\u200c\u200d\u2060\ufeff"


def _strip(text: str) -> str:
    return text.strip().strip(_EDGE_JUNK).strip()


class _NotText(TypeError):
    pass


def _to_text(value: Any) -> str:
    """A cell or JSON value as trimmed text; raises _NotText for lists and objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _strip(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    raise _NotText(type(value).__name__)


_HEADER_INDEX: dict[str, str] = {}
for _field, _aliases in _HEADER_ALIASES.items():
    for _alias in _aliases:
        _HEADER_INDEX[_normalise_header(_alias)[0]] = _field


def _field_for_header(value: Any) -> tuple[str | None, str]:
    key, hint = _normalise_header(value)
    return _HEADER_INDEX.get(key), hint


_TERM_SEPARATORS = re.compile(r"[、,，;；\r\n\u2028\u2029\x0b\x0c\x85､﹐﹑﹔]+")


def split_terms(value: Any) -> list[str]:
    """Split a free-form list ("智慧农业、气象/物联网；5G") into trimmed, unique terms in order.

    Splits on 、 , ， ; ； and line breaks (not on "/": the taxonomy mapper decides that).
    Lists and tuples are flattened; ``None`` gives an empty list.
    """
    if value is None:
        return []
    pieces: Iterable[Any] = value if isinstance(value, (list, tuple)) else (value,)
    terms: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        if isinstance(piece, (list, tuple)):
            candidates: Iterable[str] = split_terms(piece)
        else:
            try:
                text = _to_text(piece)
            except _NotText:
                text = str(piece)
            candidates = _TERM_SEPARATORS.split(text)
        for candidate in candidates:
            term = _strip(candidate)
            if term and term not in seen:
                seen.add(term)
                terms.append(term)
    return terms


# --------------------------------------------------------------------------- budget

_NO_BUDGET = frozenset(
    {
        "",
        "面议",
        "待定",
        "另议",
        "协商",
        "商议",
        "议价",
        "面谈",
        "待议",
        "未定",
        "无",
        "暂无",
        "不限",
        "未知",
        "/",
        "-",
        "--",
        "—",
        "——",
        "n/a",
        "na",
        "none",
        "null",
        "tbd",
    }
)
_UNIT_FACTORS: dict[str, Decimal] = {
    "元": Decimal("0.0001"),
    "千": Decimal("0.1"),
    "w": Decimal(1),
    "万": Decimal(1),
    "十万": Decimal(10),
    "百万": Decimal(100),
    "千万": Decimal(1000),
    "亿": Decimal(10000),
}
_NUMBER = r"([0-9]{1,20}(?:\.[0-9]{1,10})?)"
_UNIT = r"(十万|百万|千万|万|亿|千|w)?(元)?"
_AMOUNT = _NUMBER + _UNIT
_RANGE_SEP = r"(?:-+|~+|—+|–+|至|到)"
_BUDGET_SINGLE = re.compile(rf"{_AMOUNT}")
_BUDGET_RANGE = re.compile(rf"{_AMOUNT}{_RANGE_SEP}{_AMOUNT}")
_UPPER_PREFIX = r"(?:<=|=<|≤|<|≦|不超过|不高于|不多于|不大于|最多|最高|上限|低于|少于|小于)"
_UPPER_SUFFIX = r"(?:以内|以下|之内|内)"
_LOWER_PREFIX = r"(?:>=|=>|≥|>|≧|不低于|不少于|不小于|至少|最低|下限|超过|高于|多于|大于)"
_LOWER_SUFFIX = r"(?:及以上|以上|起)"
_BUDGET_UPPER = re.compile(rf"{_UPPER_PREFIX}{_AMOUNT}|{_AMOUNT}{_UPPER_SUFFIX}")
_BUDGET_LOWER = re.compile(rf"{_LOWER_PREFIX}{_AMOUNT}|{_AMOUNT}{_LOWER_SUFFIX}")
_BUDGET_PREFIX = re.compile(
    r"^(?:总投资额?|计划投资|投资额?|总预算|预算金额|预算|人民币|rmb|cny|¥|约|大约|预计|估计|合计|共)+"
)
_BUDGET_SUFFIX = re.compile(r"(?:左右|上下|人民币)+$")
_BRACKETED = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]")
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_BUDGET_CAP = Decimal("1e12")  # the database keeps Numeric(14, 2) 万元


def _clean_decimal(value: Decimal) -> Decimal:
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _amount(number: str, multiplier: str | None, yuan: str | None, default: Decimal) -> Decimal:
    if multiplier:
        factor = _UNIT_FACTORS[multiplier]
    elif yuan:
        factor = _UNIT_FACTORS["元"]
    else:
        factor = default
    return Decimal(number) * factor


def _has_unit(multiplier: str | None, yuan: str | None) -> bool:
    return bool(multiplier or yuan)


def _parse_budget(text: Any, default_factor: Decimal = Decimal(1)) -> tuple[Decimal | None, Decimal | None]:
    if text is None:
        return None, None
    if isinstance(text, bool) or not isinstance(text, (str, int, float, Decimal)):
        raise ValueError(f"预算格式无法识别：{_shorten(str(text))}")
    if isinstance(text, float) and not math.isfinite(text):
        raise ValueError(f"预算格式无法识别：{text!r}")
    raw = _to_text(text)
    s = unicodedata.normalize("NFKC", raw).casefold()
    s = re.sub(r"\s+", "", s)
    if s in _NO_BUDGET:
        return None, None
    without_notes = _BRACKETED.sub("", s)
    s = without_notes if without_notes else re.sub(r"[()\[\]【】]", "", s)
    s = _THOUSANDS.sub("", s)
    s = _BUDGET_PREFIX.sub("", s)
    s = _BUDGET_SUFFIX.sub("", s)
    if s in _NO_BUDGET:
        return None, None

    low: Decimal | None
    high: Decimal | None
    try:
        if m := _BUDGET_SINGLE.fullmatch(s):
            low = high = _amount(m[1], m[2], m[3], default_factor)
        elif m := _BUDGET_RANGE.fullmatch(s):
            left_unit, right_unit = (m[2], m[3]), (m[5], m[6])
            if not _has_unit(*left_unit):
                left_unit = right_unit
            if not _has_unit(*right_unit):
                right_unit = left_unit
            low = _amount(m[1], *left_unit, default_factor)
            high = _amount(m[4], *right_unit, default_factor)
        elif m := _BUDGET_UPPER.fullmatch(s):
            groups = m.groups()[0:3] if m[1] is not None else m.groups()[3:6]
            low, high = None, _amount(*groups, default_factor)
        elif m := _BUDGET_LOWER.fullmatch(s):
            groups = m.groups()[0:3] if m[1] is not None else m.groups()[3:6]
            low, high = _amount(*groups, default_factor), None
        else:
            raise ValueError(f"预算格式无法识别：{_shorten(raw)}")
    except ArithmeticError as exc:  # the regex keeps numbers sane; this is a safety net
        raise ValueError(f"预算格式无法识别：{_shorten(raw)}") from exc

    for value in (low, high):
        if value is not None and value >= _BUDGET_CAP:
            raise ValueError(f"预算数值过大：{_shorten(raw)}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"预算下限大于上限：{_shorten(raw)}")
    return (
        None if low is None else _clean_decimal(low),
        None if high is None else _clean_decimal(high),
    )


def parse_budget(text: str) -> tuple[Decimal | None, Decimal | None]:
    """Parse a budget into (min, max) in 万元; ``(None, None)`` when empty or negotiable (面议).

    "50-100万元" → (50, 100); "200万" → (200, 200); "1.2亿元" → (12000, 12000);
    "≤300万" / "300万以内" → (None, 300); "500万以上" → (500, None); "500000元" → (50, 50).
    A bare number is read as 万元. Raises ValueError (message in Chinese) otherwise.
    """
    return _parse_budget(text)


# --------------------------------------------------------------------------- deadline

_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31
_TIME = r"(?:[t\s]*(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.\d{1,9})?)?(?:z|[+-]\d{2}:?\d{2})?|\s*(\d{1,2})[时点](?:(\d{1,2})分)?)?"
_UNTIL = r"(?:之前|以前|前|为止|止|截止)?"
_DATE_PATTERNS = (
    re.compile(rf"(\d{{4}})\s*([-/.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,2}}){_TIME}{_UNTIL}"),
    re.compile(rf"(\d{{4}})\s*(年)\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*[日号]?{_TIME}{_UNTIL}"),
    re.compile(rf"(\d{{4}})()(\d{{2}})(\d{{2}}){_TIME}{_UNTIL}"),
)
_MONTH_END = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*月?\s*(?:底|末)" + _UNTIL)


def _excel_serial(value: float) -> date:
    whole = math.floor(value)
    if whole < 1 or whole > _EXCEL_MAX_SERIAL or whole == 60:  # 60 is Excel's 1900-02-29
        raise ValueError
    if whole < 60:
        return date(1899, 12, 31) + timedelta(days=whole)
    return _EXCEL_EPOCH + timedelta(days=whole)


def parse_deadline(value: Any) -> date | None:
    """Parse a deadline: dates and datetimes, Excel serial numbers, and text such as
    "2026-12-31", "2026/12/31", "2026.12.31", "2026年12月31日", "20261231",
    ISO datetimes and "2026年12月底". Empty gives ``None``; raises ValueError (in Chinese)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        try:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            if number == int(number) and 19000101 <= number <= 99991231:
                return _date_from_text(str(int(number)), str(value))
            return _excel_serial(number)
        except (ValueError, OverflowError, ArithmeticError):
            raise ValueError(f"截止日期格式无法识别：{_shorten(str(value))}") from None
    if isinstance(value, str):
        text = _strip(value)
        if not text:
            return None
        return _date_from_text(text, text)
    raise ValueError(f"截止日期格式无法识别：{_shorten(str(value))}")


def _date_from_text(text: str, shown: str) -> date:
    s = unicodedata.normalize("NFKC", text).casefold().strip()
    error = ValueError(f"截止日期格式无法识别：{_shorten(shown)}")
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        year, month, day = int(m[1]), int(m[3]), int(m[4])
        hour = m[5] or m[8]
        minute = m[6] or m[9]
        second = m[7]
        if (hour and int(hour) > 23) or (minute and int(minute) > 59) or (second and int(second) > 59):
            raise error
        try:
            return date(year, month, day)
        except ValueError:
            raise error from None
    if m := _MONTH_END.fullmatch(s):
        year, month = int(m[1]), int(m[2])
        if not 1 <= year <= 9999 or not 1 <= month <= 12:
            raise error
        return date(year, month, calendar.monthrange(year, month)[1])
    raise error


# --------------------------------------------------------------------------- batch

_CHINESE_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_BATCH_TEXT = re.compile(r"第?\s*([0-9]{1,9}|[零〇一二两三四五六七八九十百]{1,6})\s*(?:批次?|期)?")


def _chinese_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in _CHINESE_DIGITS:
            current = _CHINESE_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            raise ValueError
    return total + current


def _parse_batch(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = unicodedata.normalize("NFKC", _to_text(value))
        if not text:
            return None
        m = _BATCH_TEXT.fullmatch(text)
        if m is None:
            raise ValueError
        number = _chinese_number(m[1])
    if number < 1:
        raise ValueError
    return number


# --------------------------------------------------------------------------- credit code

_CREDIT_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}")


# --------------------------------------------------------------------------- rows


def _shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(slots=True)
class _Context:
    budget_factor: Decimal = Decimal(1)
    # Set when some bytes of a text file could not be read in its encoding (shown as U+FFFD).
    lossy_encoding: str | None = None


class _RowBuilder:
    """Validates one record (field → raw value) into an ImportRow or RowErrors."""

    __slots__ = ("errors", "row_number", "values")

    def __init__(self, row_number: int, values: dict[str, Any]) -> None:
        self.row_number = row_number
        self.values = values
        self.errors: list[RowError] = []

    def error(self, field: str | None, reason: str) -> None:
        self.errors.append(RowError(self.row_number, field, reason))

    def text(self, field: str, *, joiner: str | None = None) -> str:
        value = self.values.get(field)
        try:
            if joiner is not None and isinstance(value, (list, tuple)):
                text = joiner.join(t for t in (_to_text(v) for v in value) if t)
            else:
                text = _to_text(value)
        except _NotText:
            self.error(field, f"{FIELD_LABELS[field]}应为文本")
            return ""
        if FORBIDDEN.search(text):
            self.error(field, f"{FIELD_LABELS[field]}含有不允许的控制字符（如 NUL），请删除后重新导入")
            return ""
        limit = _MAX_LENGTH.get(field, _DEFAULT_MAX_LENGTH)
        if len(text) > limit:
            self.error(field, f"{FIELD_LABELS[field]}过长（最多 {limit} 个字符，实际 {len(text)} 个字符）")
            return ""
        return text

    def terms(self, field: str) -> list[str]:
        value = self.values.get(field)
        if isinstance(value, (list, tuple)):
            try:
                parts = [_to_text(v) for v in value]
            except _NotText:
                self.error(field, f"{FIELD_LABELS[field]}应为文本或文本列表")
                return []
            joined = "、".join(parts)
        else:
            try:
                joined = _to_text(value)
            except _NotText:
                self.error(field, f"{FIELD_LABELS[field]}应为文本或文本列表")
                return []
            parts = [joined]
        if len(joined) > _DEFAULT_MAX_LENGTH:
            self.error(
                field, f"{FIELD_LABELS[field]}过长（最多 {_DEFAULT_MAX_LENGTH} 个字符，实际 {len(joined)} 个字符）"
            )
            return []
        return split_terms(parts)

    def choice(self, field: str, table: dict[str, str], allowed: str) -> str | None:
        text = self.text(field)
        if not text:
            return None
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())
        found = table.get(key)
        if found is None:
            self.error(field, f"{FIELD_LABELS[field]}无法识别：{_shorten(text)}（应为 {allowed}）")
        return found

    def build(self, context: _Context) -> ImportRow | None:
        kind_hint = "opportunity/机会清单 或 offering/产品清单"
        kind = self.choice("kind", _KIND_VALUES, kind_hint)
        if kind is None and not self.errors:
            self.error("kind", f"类型不能为空（应为 {kind_hint}）")

        title = self.text("title")
        if not title and not any(e.field == "title" for e in self.errors):
            self.error("title", "名称不能为空")
        organisation = self.text("organisation")
        if not organisation and not any(e.field == "organisation" for e in self.errors):
            self.error("organisation", "单位不能为空")

        external_id = self.text("external_id") or None
        organisation_kind = self.choice(
            "organisation_kind",
            _ORGANISATION_KIND_VALUES,
            "government/政府、city/设区市、soe/国企、enterprise/企业 或 lab/实验室",
        )
        credit_code = self.text("credit_code")
        if credit_code:
            normalised = unicodedata.normalize("NFKC", credit_code).upper().replace(" ", "")
            if _CREDIT_CODE.fullmatch(normalised):
                credit_code = normalised
            else:
                self.error(
                    "credit_code", f"统一社会信用代码格式不正确：{_shorten(credit_code)}（应为 18 位数字或大写字母）"
                )
        region = self.text("region")
        description = self.text("description")
        tracks = self.terms("tracks")
        domains = self.terms("domains")

        raw_budget = self.values.get("budget")
        if isinstance(raw_budget, float) and math.isfinite(raw_budget):
            budget_text = _to_text(raw_budget)
        else:
            budget_text = self.text("budget")
        budget_min = budget_max = None
        if budget_text:
            try:
                budget_min, budget_max = _parse_budget(budget_text, context.budget_factor)
            except ValueError as exc:
                self.error("budget", str(exc))

        deadline: date | None = None
        raw_deadline = self.values.get("deadline")
        if isinstance(raw_deadline, str) and len(raw_deadline) > _DEFAULT_MAX_LENGTH:
            self.error("deadline", f"截止日期格式无法识别：{_shorten(raw_deadline)}")
        else:
            try:
                deadline = parse_deadline(raw_deadline)
            except ValueError as exc:
                self.error("deadline", str(exc))

        contact = self.text("contact")
        maturity = self.choice("maturity", _MATURITY_VALUES, "concept/概念、prototype/原型、pilot/试点 或 mature/成熟")
        reference_cases = self.text("reference_cases", joiner="\n")
        certifications = self.text("certifications", joiner="\n")
        requirements = self.text("requirements", joiner="\n")

        batch: int | None = None
        raw_batch = self.values.get("batch")
        try:
            batch = _parse_batch(raw_batch)
        except (ValueError, _NotText):
            shown = raw_batch if isinstance(raw_batch, str) else json.dumps(raw_batch, ensure_ascii=False, default=str)
            self.error("batch", f"批次应为正整数：{_shorten(str(shown))}")

        if self.errors or kind is None:
            return None
        return ImportRow(
            row_number=self.row_number,
            kind=kind,
            external_id=external_id,
            title=title,
            organisation=organisation,
            organisation_kind=organisation_kind,
            credit_code=credit_code or None,
            region=region,
            description=description,
            tracks=tracks,
            domains=domains,
            budget_text=budget_text,
            budget_min=budget_min,
            budget_max=budget_max,
            deadline=deadline,
            contact=contact,
            maturity=maturity,
            reference_cases=reference_cases,
            certifications=certifications,
            requirements=requirements,
            batch=batch,
        )


# The header and a few title or note rows above the data are not data rows.
_ROWS_BEFORE_DATA = 10


class _Collector:
    """Builds rows, reports duplicates of (kind, external_id), and enforces max_rows."""

    def __init__(self, max_rows: int, context: _Context) -> None:
        self.max_rows = max_rows
        self.context = context
        self.rows: list[ImportRow] = []
        self.errors: list[RowError] = []
        self.data_rows = 0
        self.rows_read = 0
        self.seen_ids: dict[tuple[str, str], int] = {}

    def read(self) -> None:
        """Every row or line read counts, blank or not: a file of empty rows cannot run for ever."""
        self.rows_read += 1
        if self.rows_read > self.max_rows + _ROWS_BEFORE_DATA:
            raise ImportFileError(
                f"文件行数超过上限（最多读取 {self.max_rows} 行数据，空行也计算在内），请删除多余的空行或拆分后分批导入"
            )

    def count(self) -> None:
        self.data_rows += 1
        if self.data_rows > self.max_rows:
            raise ImportFileError(f"文件数据行数超过上限（最多 {self.max_rows} 行），请拆分后分批导入")

    def add(self, row_number: int, values: dict[str, Any]) -> None:
        builder = _RowBuilder(row_number, values)
        row = builder.build(self.context)
        if row is not None and row.external_id is not None:
            key = (row.kind, row.external_id)
            first = self.seen_ids.get(key)
            if first is not None:
                builder.error("external_id", f"编号重复：{_shorten(row.external_id)} 与第 {first} 行相同")
                row = None
            else:
                self.seen_ids[key] = row_number
        self.errors.extend(builder.errors)
        if row is not None:
            self.rows.append(row)


# --------------------------------------------------------------------------- formats

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".xlsx", ".csv", ".jsonl")
_EXTENSION_ALIASES = {".xlsx": ".xlsx", ".xlsm": ".xlsx", ".csv": ".csv", ".jsonl": ".jsonl", ".ndjson": ".jsonl"}


def parse_listing_file(
    data: bytes, filename: str, *, max_rows: int = 20000, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> tuple[list[ImportRow], list[RowError]]:
    """Parse an import file into (good rows, row errors), both in file order.

    Raises ImportFileError when the file as a whole cannot be read, or exceeds the bounds.
    """
    extension = PurePath(_strip(filename or "")).suffix.casefold()
    kind = _EXTENSION_ALIASES.get(extension)
    if kind is None:
        shown = extension or "（无扩展名）"
        hint = "，请在 Excel 中另存为 .xlsx" if extension == ".xls" else ""
        raise ImportFileError(f"不支持的文件类型：{shown}（仅支持 .xlsx、.csv、.jsonl）{hint}")
    if not data or not data.strip():
        raise ImportFileError("文件为空")
    context = _Context()
    collector = _Collector(max_rows, context)
    if kind == ".jsonl":
        _parse_jsonl(data, collector)
    elif kind == ".csv":
        _parse_table(_csv_records(data, collector.context), collector)
    else:
        _parse_xlsx(data, collector, max_unpacked_bytes)
    return collector.rows, collector.errors


def _is_blank(record: Iterable[Any]) -> bool:
    for value in record:
        if value is None:
            continue
        if isinstance(value, str) and not _strip(value):
            continue
        return False
    return True


def _parse_table(records: Iterator[tuple[int, list[Any] | tuple[Any, ...]]], collector: _Collector) -> None:
    """Shared by csv and xlsx: the first non-blank record is the header."""
    header: list[Any] | tuple[Any, ...] | None = None
    for _, record in records:
        collector.read()
        if not _is_blank(record):
            header = record
            break
    if header is None:
        raise ImportFileError("文件为空：没有找到表头行")

    columns: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        field, hint = _field_for_header(cell)
        if field is None:
            continue
        columns.setdefault(field, []).append(index)
        if field == "budget" and hint:
            if "亿" in hint:
                collector.context.budget_factor = _UNIT_FACTORS["亿"]
            elif "万" in hint:
                collector.context.budget_factor = _UNIT_FACTORS["万"]
            elif "元" in hint:
                collector.context.budget_factor = _UNIT_FACTORS["元"]
    missing = [f for f in REQUIRED_COLUMNS if f not in columns]
    if missing:
        names = "、".join(f"{FIELD_LABELS[f]}（{f}）" for f in missing)
        raise ImportFileError(f"缺少必填列：{names}")

    plan = list(columns.items())
    lossy = collector.context.lossy_encoding
    for row_number, record in records:
        collector.read()
        if _is_blank(record):
            continue
        collector.count()
        if lossy and any(isinstance(cell, str) and "\ufffd" in cell for cell in record):
            collector.errors.append(
                RowError(row_number, None, f"该行有无法按 {lossy} 编码读取的字节，已跳过；请检查文件编码或另存为 UTF-8")
            )
            continue
        width = len(record)
        values: dict[str, Any] = {}
        for field, indexes in plan:
            if field == "contact" and len(indexes) > 1:
                parts: list[str] = []
                for i in indexes:
                    if i < width:
                        text = _to_text(record[i])
                        if text and text not in parts:
                            parts.append(text)
                values[field] = " ".join(parts)
                continue
            chosen: Any = None
            for i in indexes:
                if i < width:
                    cell = record[i]
                    if cell is not None and not (isinstance(cell, str) and not _strip(cell)):
                        chosen = cell
                        break
            values[field] = chosen
        collector.add(row_number, values)


# Codec used to read each accepted family, and the name people know it by.
_GB, _BIG5 = "gb18030", "cp950"
_ENCODING_NAMES = {_GB: "GB18030", _BIG5: "Big5", "utf_8": "UTF-8"}
_FAMILIES = {
    "gb18030": _GB,
    "gbk": _GB,
    "gb2312": _GB,
    "hz": _GB,
    "big5": _BIG5,
    "big5hkscs": _BIG5,
    "cp950": _BIG5,
    "utf_8": "utf_8",
    "ascii": "utf_8",
}
_REFUSED_NAMES = {
    "cp932": "Shift_JIS",
    "shift_jis": "Shift_JIS",
    "shift_jis_2004": "Shift_JIS",
    "shift_jisx0213": "Shift_JIS",
    "euc_jp": "EUC-JP",
    "euc_jis_2004": "EUC-JP",
    "cp949": "EUC-KR",
    "euc_kr": "EUC-KR",
    "johab": "Johab",
}
# How much worse (charset-normalizer's "chaos", 0..1) a Chinese reading may be than the best reading.
_CHAOS_MARGIN = 0.1
# Below this share of common characters a Chinese reading is taken for garbage.
_MIN_COMMON_SHARE = 0.6


def _is_common_chinese(char: str) -> bool:
    """In GB2312 (the 6,763 everyday simplified characters) or in Big5's level 1 (5,401 frequent traditional ones)."""
    try:
        char.encode("gb2312")
        return True
    except UnicodeEncodeError:
        pass
    try:
        return char.encode("big5")[0] < 0xC6
    except UnicodeEncodeError:
        return False


def _common_share(text: str) -> float:
    """The share of common Chinese characters among the CJK and private-use characters of a reading."""
    seen = total = 0
    for char in text:
        code = ord(char)
        if code < 0x2E80:
            continue
        total += 1
        if not (0xE000 <= code <= 0xF8FF) and _is_common_chinese(char):
            seen += 1
        if total >= 20000:  # a sample is enough
            break
    return 1.0 if total == 0 else seen / total


def _first_bad_line(data: bytes) -> int:
    """The line where the bytes stop being UTF-8 (a person looks there first)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 1


def _decode_text(data: bytes, context: _Context | None = None) -> str:
    """The text of a CSV file: UTF-8/UTF-16 by BOM, strict UTF-8, else GB18030 or Big5 (see the module rules)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(
                "文件以 UTF-16 标记开头，但内容无法按 UTF-16 读取，请另存为 UTF-8 编码的 CSV 后重试"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass

    matches = list(from_bytes(data))
    best_chaos = min((m.chaos for m in matches), default=1.0)
    candidates = {
        _FAMILIES[m.encoding]
        for m in matches
        if m.encoding in _FAMILIES and _FAMILIES[m.encoding] != "utf_8" and m.chaos <= best_chaos + _CHAOS_MARGIN
    }
    if not candidates and not matches:
        # No clean reading at all: a few bad bytes in an otherwise Chinese file are reported per row.
        for codec in (_GB, _BIG5):
            text = data.decode(codec, errors="replace")
            if text.count("\ufffd") <= max(3, len(text) // 1000):
                candidates.add(codec)
    if not candidates:
        detected = next((m.encoding for m in matches), None)
        shown = _REFUSED_NAMES.get(detected or "", detected)
        hint = f"（看起来是 {shown}）" if shown else f"（第 {_first_bad_line(data)} 行起无法读取）"
        raise ImportFileError(
            f"无法识别文件编码{hint}：仅支持 UTF-8、GB18030（GBK）和 Big5，请将文件另存为 UTF-8 编码的 CSV 后重试"
        )
    readings: list[tuple[float, int, str, str]] = []
    for position, codec in enumerate((_GB, _BIG5)):  # GB18030 first: it wins a tie
        if codec not in candidates:
            continue
        text = data.decode(codec, errors="replace")
        readings.append((_common_share(text), -position, codec, text))
    share, _, codec, text = max(readings)
    if share < _MIN_COMMON_SHARE:
        raise ImportFileError(
            "无法可靠识别文件编码（按 GB18030 或 Big5 读取都得到大量生僻字），请将文件另存为 UTF-8 编码的 CSV 后重试"
        )
    if "\ufffd" in text and context is not None:
        context.lossy_encoding = _ENCODING_NAMES[codec]
    return text


def _csv_records(data: bytes, context: _Context | None = None) -> Iterator[tuple[int, list[str]]]:
    text = _decode_text(data, context)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row_number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"CSV 文件第 {row_number + 1} 行格式错误，无法读取（{exc}）") from exc
        row_number += 1
        yield row_number, record


def _check_unpacked_size(data: bytes, limit: int) -> None:
    """Refuse an .xlsx whose parts would inflate beyond `limit` (a zip bomb) before inflating any.

    The sizes come from the archive's directory; zipfile never inflates a member beyond its
    declared size (and fails its checksum if the data disagree), so the sum is a true bound."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip: openpyxl reports the file as unreadable
    if total > limit:
        raise ImportFileError(
            f"Excel 文件解压后超过上限（{total // (1024 * 1024)} MB，最多 {limit // (1024 * 1024)} MB），"
            "文件可能已损坏或含有大量空白内容，请另存为新文件或拆分后分批导入"
        )


def _load_workbook_unsized(data: bytes) -> Any:
    """openpyxl's read-only workbook, without its size probe of every sheet.

    Opening a sheet, openpyxl (3.1.5) looks for the sheet's <dimension> element, and when the
    sheet has none (it is optional; hand-made and hostile files omit it) parses the whole sheet
    part to find out: two million blank rows cost 15-20 s of CPU before the first row is read,
    and the row bound could not help. The stored dimensions are discarded anyway (they are often
    wrong in files from other tools), so the probe is skipped; rows are then read until the end
    of the data or the row bound."""
    from openpyxl.reader.excel import ExcelReader  # imported lazily: only xlsx needs it
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class UnsizedSheet(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            self._max_row = self._max_column = None

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_worksheets(self) -> None:
            # openpyxl's read-only branch of ExcelReader.read_worksheets, with the unsized sheet.
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                worksheet = UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)

    reader = Reader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _parse_xlsx(data: bytes, collector: _Collector, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
    corrupt = "无法读取 Excel 文件，文件可能已损坏或不是 .xlsx 格式"
    _check_unpacked_size(data, max_unpacked_bytes)
    try:
        workbook = _load_workbook_unsized(data)
    except Exception as exc:  # openpyxl raises many kinds (zip, xml, key errors)
        raise ImportFileError(corrupt) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError("Excel 文件中没有工作表")
        sheet = workbook.worksheets[0]  # its stored dimensions were never read (see above)
        # Only the first MAX_COLUMNS columns: a cell in column XFD would otherwise widen a row to 16,384 values.
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)

        def records() -> Iterator[tuple[int, tuple[Any, ...]]]:
            row_number = 0
            while True:
                try:
                    record = next(rows)
                except StopIteration:
                    return
                except Exception as exc:  # a broken sheet part surfaces during iteration
                    raise ImportFileError(corrupt) from exc
                row_number += 1
                yield row_number, record

        _parse_table(records(), collector)
    finally:
        workbook.close()


def _parse_jsonl(data: bytes, collector: _Collector) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("JSONL 文件必须是 UTF-8 编码，请另存为 UTF-8 后重试") from None
    for line_number, line in enumerate(text.split("\n"), start=1):
        collector.read()
        if not _strip(line):
            continue
        collector.count()
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            collector.errors.append(RowError(line_number, None, f"JSON 格式错误，无法解析（第 {exc.colno} 列附近）"))
            continue
        except RecursionError:
            collector.errors.append(RowError(line_number, None, "JSON 嵌套过深，无法解析"))
            continue
        if not isinstance(obj, dict):
            collector.errors.append(RowError(line_number, None, "每行应为一个 JSON 对象"))
            continue
        values: dict[str, Any] = {}
        for key, value in obj.items():
            field, _ = _field_for_header(key)
            if field is None or (field in values and values[field] not in (None, "")):
                continue
            values[field] = value
        collector.add(line_number, values)


_parse_limiter: Any = None


async def parse_off_loop(
    data: bytes, filename: str, *, max_rows: int = 20000, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> tuple[list[ImportRow], list[RowError]]:
    """`parse_listing_file` in a worker thread, so the server answers other requests meanwhile.

    At most two files are parsed at once; further imports wait their turn rather than multiply the memory."""
    global _parse_limiter
    from functools import partial

    from anyio import CapacityLimiter, to_thread

    if _parse_limiter is None:
        _parse_limiter = CapacityLimiter(2)
    work = partial(parse_listing_file, data, filename, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes)
    return await to_thread.run_sync(work, limiter=_parse_limiter)
