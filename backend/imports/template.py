"""The import template: the layout the export writes, one example row per list, and what each column means.

The columns are the importer's FIELDS with its Chinese headers (FIELD_LABELS), exactly as
`backend.opendata.exports` writes them, so a template filled in, an export edited in Excel and
a file from another system all read the same way. The examples are values the importer accepts.
"""

from dataclasses import dataclass

from backend.imports.parsing import FIELD_LABELS, FIELDS
from backend.opendata.tabular import xlsx_bytes


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    required: bool
    meaning: str
    example: str


_COLUMNS: dict[str, tuple[bool, str, str]] = {
    "kind": (True, "“机会”或“产品”（也可写 机会清单 / 产品清单）", "机会"),
    "external_id": (False, "来源系统的编号；再次导入同一编号会更新而不是新增", "NC-2026-017"),
    "title": (True, "场景或产品名称，最多 200 字", "南昌县水稻种植智慧农业示范"),
    "organisation": (True, "发布单位或企业的全称；平台没有的单位会自动新建", "南昌县农业农村局"),
    "organisation_kind": (False, "政府部门、设区市、国有企业、企业或实验室", "政府部门"),
    "credit_code": (False, "18 位统一社会信用代码，用于准确识别单位", "11360121MB12345678"),
    "region": (True, "设区市或县区；省外写全称，如“四川省成都市”，全省写“江西省”", "南昌市南昌县"),
    "description": (False, "需求或产品的描述", "建设稻田墒情、虫情监测和无人机植保调度平台。"),
    "tracks": (False, "赛道，多个用顿号分隔；平台没有的写法保留为标签", "物联网、人工智能"),
    "domains": (False, "场景领域，多个用顿号分隔", "智慧农业"),
    "budget": (False, "预算，万元；可写区间或“面议”", "300-500万元"),
    "deadline": (False, "答题截止日期（机会）", "2026-12-31"),
    "contact": (False, "联系人和电话，只对登录企业公开", "农技站 张工 0791-8XXX0000"),
    "maturity": (False, "产品成熟度：概念、原型、试点或成熟（产品）", "成熟"),
    "reference_cases": (False, "应用案例（产品）", "已在抚州 3 个县区应用"),
    "certifications": (False, "资质证书（产品）", "ISO 27001"),
    "requirements": (False, "答题要求（机会）", "须提供本地化部署方案"),
    "batch": (False, "发布批次号，整数", "3"),
}

COLUMNS = [Column(f, FIELD_LABELS[f], *_COLUMNS[f]) for f in FIELDS]

_OFFERING_EXAMPLE = {
    "kind": "产品",
    "external_id": "",
    "title": "智能巡检机器人",
    "organisation": "江西某智能科技有限公司",
    "organisation_kind": "企业",
    "credit_code": "",
    "region": "南昌市",
    "description": "变电站、管廊自主巡检，红外测温和表计识别。",
    "tracks": "人工智能、物联网",
    "domains": "智能制造",
    "budget": "",
    "deadline": "",
    "contact": "销售部 0791-8XXX1111",
    "maturity": "成熟",
    "reference_cases": "国网江西某供电公司",
    "certifications": "CE",
    "requirements": "",
    "batch": "",
}


def template_xlsx() -> bytes:
    """An .xlsx with the import headers, an example opportunity and an example offering."""
    opportunity = [c.example for c in COLUMNS]
    opportunity[FIELDS.index("maturity")] = ""
    opportunity[FIELDS.index("reference_cases")] = ""
    opportunity[FIELDS.index("certifications")] = ""
    offering = [_OFFERING_EXAMPLE[f] for f in FIELDS]
    widths = [36 if f in ("title", "description", "organisation") else 16 for f in FIELDS]
    return xlsx_bytes("导入模板", [FIELD_LABELS[f] for f in FIELDS], [opportunity, offering], widths=widths)
