"""What the events pages share: notices, form parsing, option lists."""

from datetime import datetime

from fastapi import Request

from backend.events.models import (
    REPLY_LABELS,
    EventStatus,
)
from web.kit.templating import CHINA, environment


def _clock(value: datetime | None) -> str:
    """A moment as people in Jiangxi read it: 2026年12月1日 09:30."""
    if value is None:
        return ""
    local = value.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _hhmm(value: datetime) -> str:
    return f"{value.astimezone(CHINA):%H:%M}"


environment.filters.update(clock=_clock, hhmm=_hhmm)


environment.globals.update(REPLY_LABELS={k.value: v for k, v in REPLY_LABELS.items()})


NOTICES = {
    "registered": "报名成功。请填写可参会时段，撮合专员安排洽谈后会显示在“我的洽谈”中。",
    "cancelled": "已取消报名，相关洽谈已取消。",
    "availability": "可参会时段已保存。",
    "accepted": "已接受该洽谈。",
    "declined": "已谢绝该洽谈。",
    "created": "活动已创建（草稿）。设置推介机会后即可开放报名。",
    "status": "活动状态已更新。",
    "featured": "推介机会已保存。",
    "proposed": "对接安排已生成：已答复的洽谈保持原时段，未答复的已重新安排。",
    "outcome": "洽谈成效已记录。",
}


STATUS_ACTIONS = {
    EventStatus.draft: [("open", "开放报名")],
    EventStatus.open: [("closed", "截止报名"), ("finished", "标记为已结束")],
    EventStatus.closed: [("open", "重新开放报名"), ("finished", "标记为已结束")],
    EventStatus.finished: [],
}


EVENT_FIELD_LABELS = {
    "title": "活动名称",
    "kind": "活动类型",
    "description": "活动介绍",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "place": "地点",
    "online_link": "线上链接",
    "capacity": "企业名额",
    "slot_minutes": "每场洽谈时长",
    "meeting_limit": "每人洽谈上限",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))
