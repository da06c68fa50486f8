"""Every kind of notification, declared once, with its Chinese label and default delivery.

A kind is stored as text on the notification (new kinds need no migration), but `notify()`
refuses a kind that is not declared here, so that the preferences page lists every kind a
person can receive. Add a kind here, then call `backend.notifications.service.notify(...,
kind="the_kind")`.

Delivery of the email (the inbox entry is always written):
- `immediate`: an email per notification, queued in the caller's transaction;
- `digest`: collected and sent as one email a day (see `service.send_digests`);
- `off`: no email.
"""

from dataclasses import dataclass
from enum import StrEnum


class Delivery(StrEnum):
    immediate = "immediate"
    digest = "digest"
    off = "off"


DELIVERY_LABELS = {
    Delivery.immediate: "立即发送邮件",
    Delivery.digest: "每日汇总邮件",
    Delivery.off: "不发邮件（仅站内通知）",
}


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    # Who receives it, for the preferences page.
    audience: str
    default: Delivery = Delivery.immediate


_DECLARED = [
    # Saved searches and interests (existing).
    Kind("subscription_match", "订阅条件有新发布的机会或产品（即时）", "订阅者"),
    Kind("subscription_digest", "订阅的每日/每周汇总", "订阅者"),
    Kind("interest_received", "收到合作意向", "出卷方"),
    Kind("interest_approved", "合作意向获同意（联系方式已开放）", "企业"),
    Kind("interest_declined", "合作意向被婉拒", "企业"),
    Kind("interest_reminder", "合作意向待审批提醒", "出卷方"),
    # Accounts: enterprise registrations (入驻申请) and join requests.
    Kind("registration_received", "收到入驻申请", "撮合专员、组织管理员"),
    Kind("registration_approved", "入驻申请已通过", "申请人"),
    Kind("registration_refused", "入驻申请未通过", "申请人"),
    # Listings.
    Kind("listing_published", "清单已发布", "发布单位"),
    Kind("listing_sent_back", "清单被退回修改", "发布单位"),
    # The answer cycle.
    Kind("answer_submitted", "收到新的答题", "出卷方"),
    Kind("consortium_invitation", "联合体邀请待确认", "企业"),
    Kind("reviewer_assigned", "被邀请担任评审人", "评审人"),
    Kind("answer_shortlisted", "答题入围", "企业"),
    Kind("answer_selected", "答题中选", "企业"),
    Kind("answer_not_selected", "答题未中选", "企业"),
    Kind("answer_deadline_reminder", "答题截止提醒（草稿未提交）", "企业"),
    Kind("answer_invitation", "受邀答题", "企业"),
    # 结果公示 / 异议.
    Kind("result_notice_published", "中选结果公示开始", "出卷方、答题企业"),
    Kind("objection_filed", "收到异议", "出卷方、撮合专员"),
    Kind("objection_answered", "异议已答复", "异议人"),
    Kind("result_notice_ending", "公示期即将结束", "出卷方"),
    Kind("result_final", "中选结果已生效", "出卷方、中选企业、异议人"),
    Kind("result_reopened", "异议成立，中选结果重新评审", "出卷方、答题企业"),
    # Events.
    Kind("meeting_proposed", "一对一洽谈安排待确认", "出卷方、企业"),
    # Pairings (对接): the matchmaker moves one on, or marks it 未达成.
    Kind("pairing_moved", "对接阶段更新（含未达成）", "出卷方、企业"),
    # Changes after publication.
    Kind("deadline_changed", "答题截止日期变更", "答题企业"),
    Kind("opportunity_closed", "机会提前截止或撤回", "答题企业"),
    Kind("edit_request_decided", "已发布清单的修改申请有结果", "发布单位"),
]

KINDS: dict[str, Kind] = {kind.name: kind for kind in _DECLARED}


def get(name: str) -> Kind:
    """The declared kind; an undeclared one is a programming error, not user input."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"notification kind {name!r} is not declared in backend/notifications/kinds.py") from None


def label(name: str) -> str:
    kind = KINDS.get(name)
    return kind.label if kind else name
