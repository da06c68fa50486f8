"""The listings domain's words as people read them: one vocabulary for forms, history, pages and facets.

Keys are plain strings (enum values, field names) so that templates and audit entries can use them as stored.
"""

from backend.listings.models import MATURITY_LABELS as _MATURITY
from backend.listings.models import STATUS_LABELS as _STATUS
from backend.listings.models import ListingKind

STATUS_LABELS: dict[str, str] = {k.value: v for k, v in _STATUS.items()}
MATURITY_LABELS: dict[str, str] = {k.value: v for k, v in _MATURITY.items()}
KIND_NAMES = {ListingKind.opportunity: "机会清单", ListingKind.offering: "产品清单"}

# Field names on the listing forms, the batch change lists and the duplicate comparison.
FIELD_LABELS = {
    "title": "标题",
    "description": "描述",
    "requirements": "答题要求",
    "budget_text": "预算说明",
    "budget_min": "预算下限",
    "budget_max": "预算上限",
    "deadline": "答题截止日期",
    "maturity": "成熟度",
    "reference_cases": "应用案例",
    "certifications": "资质认证",
    "region_code": "所在地区",
    "place": "地点原文",
    "tracks": "赛道",
    "domains": "场景领域",
    "tags": "其他标签",
    "contact": "联系方式",
    "status": "状态",
    "organisation_id": "发布单位",
}

FACET_LABELS = {"track": "赛道", "domain": "场景领域", "region": "地区", "batch": "批次", "status": "状态"}
