"""China time: dates and local times as people in Jiangxi count them (UTC+8, no daylight saving).

Timestamps are stored in UTC (`kit.db.utcnow`); this is the one place that turns them into a
local date or time, for plan years and months, default dates and what pages show.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def china_now() -> datetime:
    return datetime.now(CHINA)


def china_today() -> date:
    """Plan years and months are counted as people in Jiangxi count them."""
    return china_now().date()


def in_china(moment: datetime) -> datetime:
    """An aware moment in China time; a naive one is taken to be China time already."""
    return moment.astimezone(CHINA) if moment.tzinfo else moment.replace(tzinfo=CHINA)
