"""Open data: the published lists as CSV and JSON, with documented fields and no contacts."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import ANONYMOUS
from backend.listings.models import LISTING_MODELS, MATURITY_LABELS, ListingKind, ListingStatus, Maturity
from backend.listings.presenter import present
from backend.opendata.tabular import csv_bytes
from backend.organisations.models import ORGANISATION_KIND_LABELS

_CHUNK = 500
LIST_SLUGS = {ListingKind.opportunity: "opportunities", ListingKind.offering: "offerings"}
LIST_NAMES = {ListingKind.opportunity: "机会清单", ListingKind.offering: "产品清单"}


@dataclass(frozen=True)
class OpenField:
    name: str
    label: str
    description: str


_COMMON_HEAD = [
    OpenField("id", "编号", "平台内的唯一编号（整数）"),
    OpenField("url", "链接", "详情页地址"),
    OpenField("title", "名称", "标题"),
    OpenField("organisation", "发布单位", "发布该条目的单位名称"),
    OpenField("organisation_kind", "单位类型", "政府部门、设区市、国有企业、企业或实验室/科研机构"),
    OpenField("region_code", "地区代码", "行政区划代码（设区市、县区；赣江新区为 GJXQ）；省外或未注明时为空"),
    OpenField("region", "地区", "地区名称"),
    OpenField("place", "地点原文", "发布时填写的地点，原样保留（可能在省外或为“全国”）"),
    OpenField("tracks", "赛道", "所属赛道名称；CSV 中以“、”分隔，JSON 中为列表"),
    OpenField("track_codes", "赛道代码", "赛道代码；CSV 中以“、”分隔，JSON 中为列表"),
    OpenField("domains", "场景领域", "所属场景领域名称；分隔方式同上"),
    OpenField("domain_codes", "场景领域代码", "场景领域代码；分隔方式同上"),
    OpenField("tags", "标签", "未归入赛道或场景领域的原始分类；分隔方式同上"),
    OpenField("description", "描述", "正文"),
]
_COMMON_TAIL = [
    OpenField("batch", "批次", "发布批次号（整数）；未编入批次时为空"),
    OpenField("published_at", "发布时间", "ISO 8601 格式，UTC"),
    OpenField("modified_at", "更新时间", "ISO 8601 格式，UTC"),
]
OPEN_FIELDS: dict[ListingKind, list[OpenField]] = {
    ListingKind.opportunity: [
        *_COMMON_HEAD,
        OpenField("budget_text", "预算", "预算原文（如“50-100万元”“面议”）"),
        OpenField("budget_min", "预算下限（万元）", "从预算原文解析出的下限，单位万元；无法确定时为空"),
        OpenField("budget_max", "预算上限（万元）", "从预算原文解析出的上限，单位万元；无法确定时为空"),
        OpenField("deadline", "截止日期", "答题截止日期（YYYY-MM-DD）；长期有效时为空"),
        OpenField("requirements", "要求", "对答题方的要求"),
        *_COMMON_TAIL,
    ],
    ListingKind.offering: [
        *_COMMON_HEAD,
        OpenField("maturity", "成熟度代码", "concept、prototype、pilot 或 mature；未填写时为空"),
        OpenField("maturity_label", "成熟度", "概念方案、样机/原型、试点应用或成熟产品"),
        OpenField("reference_cases", "应用案例", "已有的应用案例"),
        OpenField("certifications", "资质认证", "资质与认证"),
        *_COMMON_TAIL,
    ],
}
_LIST_FIELDS = {"tracks", "track_codes", "domains", "domain_codes", "tags"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def published_records(session: AsyncSession, *, kind: ListingKind, base_url: str) -> list[dict[str, Any]]:
    """Every published listing of one list as a record of OPEN_FIELDS (no contact, no review notes)."""
    model = LISTING_MODELS[kind]
    listings = list(
        (await session.exec(select(model).where(model.status == ListingStatus.published).order_by(col(model.id)))).all()
    )
    base = base_url.rstrip("/")
    records: list[dict[str, Any]] = []
    for start in range(0, len(listings), _CHUNK):
        # Presented as a visitor sees them, so nothing private can slip into the open data.
        for item in await present(session, actor=ANONYMOUS, kind=kind, listings=listings[start : start + _CHUNK]):
            record: dict[str, Any] = {
                "id": item.id,
                "url": f"{base}/{LIST_SLUGS[kind]}/{item.id}",
                "title": item.title,
                "organisation": item.organisation.name,
                "organisation_kind": ORGANISATION_KIND_LABELS.get(item.organisation.kind, item.organisation.kind),
                "region_code": item.region.code if item.region else None,
                "region": item.region.name if item.region else None,
                "place": item.place,
                "tracks": [t.name for t in item.tracks],
                "track_codes": [t.code for t in item.tracks],
                "domains": [d.name for d in item.domains],
                "domain_codes": [d.code for d in item.domains],
                "tags": list(item.tags),
                "description": item.description,
                "batch": item.batch,
                "published_at": _iso(item.published_at),
                "modified_at": _iso(item.modified_at),
            }
            if kind == ListingKind.opportunity:
                record.update(
                    budget_text=item.budget_text,  # type: ignore[union-attr]
                    budget_min=float(item.budget_min) if item.budget_min is not None else None,  # type: ignore[union-attr]
                    budget_max=float(item.budget_max) if item.budget_max is not None else None,  # type: ignore[union-attr]
                    deadline=item.deadline.isoformat() if item.deadline else None,  # type: ignore[union-attr]
                    requirements=item.requirements,  # type: ignore[union-attr]
                )
            else:
                maturity = item.maturity  # type: ignore[union-attr]
                record.update(
                    maturity=maturity,
                    maturity_label=MATURITY_LABELS[Maturity(maturity)] if maturity in Maturity.__members__ else None,
                    reference_cases=item.reference_cases,  # type: ignore[union-attr]
                    certifications=item.certifications,  # type: ignore[union-attr]
                )
            records.append({f.name: record[f.name] for f in OPEN_FIELDS[kind]})
    return records


def records_csv(kind: ListingKind, records: list[dict[str, Any]]) -> bytes:
    """The records as CSV: the field names as the header row, list fields joined with 、."""
    names = [f.name for f in OPEN_FIELDS[kind]]
    rows = [[("、".join(r[n]) if n in _LIST_FIELDS else r[n]) for n in names] for r in records]
    return csv_bytes([names, *rows])


def records_json(kind: ListingKind, records: list[dict[str, Any]], *, generated_at: datetime) -> dict[str, Any]:
    """The records with what a reuser needs to read them: the list, the time and the field descriptions."""
    return {
        "list": LIST_NAMES[kind],
        "generated_at": generated_at.isoformat(),
        "count": len(records),
        "fields": [{"name": f.name, "label": f.label, "description": f.description} for f in OPEN_FIELDS[kind]],
        "items": records,
    }
