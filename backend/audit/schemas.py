from datetime import datetime

from pydantic import BaseModel


class AuditEntryPublic(BaseModel):
    action: str
    from_state: str | None
    to_state: str | None
    note: str
    actor: str | None
    at: datetime
