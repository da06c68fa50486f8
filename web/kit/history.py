"""The audit log in words: who changed what, from which state to which, as people read it.

Field and state names come from each domain's label vocabulary, so history, forms and pages say the same.
"""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import ANSWER_STATUS_LABELS
from backend.audit import service as audit
from backend.interests.models import INTEREST_STATUS_LABELS
from backend.listings.labels import STATUS_LABELS
from backend.pairings.models import STAGE_LABELS

_STATE_LABELS: dict[str, dict[str, str]] = {
    "answer": {k.value: v for k, v in ANSWER_STATUS_LABELS.items()},
    "pairing": {k.value: v for k, v in STAGE_LABELS.items()},
    "interest": {k.value: v for k, v in INTEREST_STATUS_LABELS.items()},
    "opportunity": STATUS_LABELS,
    "offering": STATUS_LABELS,
}
_ACTIONS = {
    "created": "创建",
    "edited": "修改",
    "member:confirmed": "联合体成员确认参与",
    "member:declined": "联合体成员拒绝参与",
    "role-changed": "修改角色",
    "activated": "启用",
    "deactivated": "停用",
    "merged": "并入其他组织",
    "merged-in": "合并了重复组织",
    "reset-link-sent": "发送重置密码链接",
    "password-reset": "通过邮件链接重置密码",
    "link-sign-in": "通过一次性链接登录",
    "applied": "提交入驻申请",
    "join-requested": "申请加入单位",
    "email-confirmed": "确认邮箱",
    "approved": "审核通过",
    "refused": "审核不通过",
    "invited": "发出邀请",
    "accepted": "接受邀请",
}
_FIELD_NAMES = {
    "title": "标题",
    "summary": "摘要",
    "solution": "解决方案",
    "price_text": "报价说明",
    "price_amount": "报价金额",
    "delivery_plan": "交付计划",
    "offering_ids": "依托产品",
    "member_organisation_ids": "联合体成员",
    "description": "描述",
    "requirements": "答题要求",
    "budget_text": "预算说明",
    "budget_min": "预算下限",
    "budget_max": "预算上限",
    "deadline": "截止日期",
    "contact": "联系方式",
    "tracks": "赛道",
    "domains": "场景领域",
    "region_code": "地区",
    "place": "地点",
    "tags": "标签",
    "maturity": "成熟度",
    "reference_cases": "应用案例",
    "certifications": "资质认证",
}


def _state(kind: str, value: str | None) -> str:
    return _STATE_LABELS.get(kind, {}).get(value or "", value or "")


def _describe(kind: str, action: str) -> str:
    if action in _ACTIONS:
        return _ACTIONS[action]
    prefix, _, state = action.partition(":")
    if prefix in ("status", "stage") and state:
        return f"变更为「{_state(kind, state)}」"
    return action


async def history(session: AsyncSession, *, entity_kind: str, entity_id: int) -> list[dict[str, Any]]:
    """The object's audit entries as people read them: who, when, what, from → to, note.

    Callers decide who may see them (the object's own parties and matchmakers)."""
    rows = await audit.history(session, entity_kind=entity_kind, entity_id=entity_id)
    out = []
    for entry, actor_name in rows:
        note = entry.note
        if entry.action == "edited" and note:
            note = "修改了：" + "、".join(_FIELD_NAMES.get(n, n) for n in note.split("、"))
        elif entry.action.startswith("member:"):
            note = ""  # the note holds an organisation id, meaningless to a reader
        out.append(
            {
                "at": entry.at,
                "actor": actor_name or "系统",
                "action": _describe(entity_kind, entry.action),
                "from_state": _state(entity_kind, entry.from_state) if entry.from_state else "",
                "to_state": _state(entity_kind, entry.to_state) if entry.to_state else "",
                "note": note,
            }
        )
    return out
