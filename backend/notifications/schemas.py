from datetime import datetime

from pydantic import BaseModel, Field

from backend.kit.pagination import Page
from backend.notifications.kinds import Delivery


class NotificationPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread: int


class MarkedRead(BaseModel):
    marked: int


class PreferencePublic(BaseModel):
    kind: str
    label: str
    audience: str
    delivery: Delivery


class PreferencesUpdate(BaseModel):
    choices: dict[str, str] = Field(description="通知类型 → immediate / digest / off", max_length=100)
