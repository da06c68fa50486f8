"""Who may read an event: everyone once it is published; a draft only matchmakers and admins.

Meetings are readable by their two people and matchmakers (see the meetings functions in the
service); anything the actor may not read is reported as missing, never as forbidden.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.events.models import Event, EventStatus
from backend.kit.errors import NotFound

NOT_FOUND = "活动不存在"


def can_read(actor: Actor, event: Event) -> bool:
    return event.status != EventStatus.draft or actor.is_staff


def can_edit(actor: Actor) -> bool:
    return actor.is_staff


async def get_readable(session: AsyncSession, *, actor: Actor, id: int) -> Event:
    """Published events for everyone; drafts only for matchmakers (others are told it does not exist)."""
    event = await session.get(Event, id)
    if event is None or not can_read(actor, event):
        raise NotFound(NOT_FOUND)
    return event
