"""Limits, state rules and small helpers shared by the event aggregates."""

from backend.events.models import (
    EventStatus,
)

MAX_SLOTS = 96
# An enterprise is met for its offerings' fit; with no matching offering (or none at all) it
# still gets a small score, so a registered enterprise can be met when time allows.
BASE_SCORE_WITH_OFFERING = 0.05
BASE_SCORE_WITHOUT_OFFERING = 0.01
MATCH_POOL = 100
# Which event states allow what.
REGISTRATION_OPEN = {EventStatus.open}
SCHEDULING = {EventStatus.open, EventStatus.closed}
TRANSITIONS = {
    EventStatus.draft: {EventStatus.open},
    EventStatus.open: {EventStatus.closed, EventStatus.finished},
    EventStatus.closed: {EventStatus.open, EventStatus.finished},
    EventStatus.finished: set(),
}


def person(user_id: int) -> str:
    return f"user:{user_id}"


def user_of(key: str) -> int:
    return int(key.removeprefix("user:"))
