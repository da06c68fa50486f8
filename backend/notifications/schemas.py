from datetime import datetime

from pydantic import BaseModel

from backend.kit.pagination import Page


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
