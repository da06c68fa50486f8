"""Proposing 1:1 meetings at a matchmaking event (对接会).

Pure and deterministic: the same candidates, slots and availability always give the same
plan. Candidates are taken best match first; each gets the earliest slot in which both
people are available and free, as long as neither has reached their meeting limit. Nobody
is ever in two meetings in one slot, and a pair meets at most once.

Re-proposing keeps what people already answered: `fixed` meetings hold their slots and
count towards the limits, and `exclude_pairs` (declined meetings) never come back.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Candidate:
    """A suggested meeting: the issuer (for one featured opportunity) and a registered enterprise."""

    opportunity_id: int
    issuer: str  # a person key, e.g. "user:12"
    enterprise: str  # a person key
    score: float


@dataclass(frozen=True, order=True)
class ProposedMeeting:
    slot: int
    opportunity_id: int
    issuer: str
    enterprise: str
    score: float


def propose_meetings(
    candidates: Iterable[Candidate],
    slots: Iterable[int],
    availability: Mapping[str, Iterable[int]],
    *,
    default_limit: int,
    limits: Mapping[str, int] | None = None,
    fixed: Iterable[ProposedMeeting] = (),
    exclude_pairs: Iterable[tuple[str, str]] = (),
) -> list[ProposedMeeting]:
    """A plan of new meetings, in slot order. People missing from `availability` are available in every slot."""
    slot_order = sorted(set(slots))
    available = {person: set(chosen) for person, chosen in availability.items()}
    limits = limits or {}
    booked: dict[str, set[int]] = {}
    met: set[tuple[str, str]] = set(exclude_pairs)
    for kept in fixed:
        booked.setdefault(kept.issuer, set()).add(kept.slot)
        booked.setdefault(kept.enterprise, set()).add(kept.slot)
        met.add((kept.issuer, kept.enterprise))
    plan: list[ProposedMeeting] = []

    def free(person: str, slot: int) -> bool:
        return slot not in booked.get(person, set()) and (person not in available or slot in available[person])

    def under_limit(person: str) -> bool:
        return len(booked.get(person, set())) < limits.get(person, default_limit)

    # Best first; ties broken by ids so the plan never depends on input order.
    for candidate in sorted(set(candidates), key=lambda c: (-c.score, c.opportunity_id, c.issuer, c.enterprise)):
        pair = (candidate.issuer, candidate.enterprise)
        if candidate.issuer == candidate.enterprise or pair in met:
            continue
        if not (under_limit(candidate.issuer) and under_limit(candidate.enterprise)):
            continue
        slot = next((s for s in slot_order if free(candidate.issuer, s) and free(candidate.enterprise, s)), None)
        if slot is None:
            continue
        booked.setdefault(candidate.issuer, set()).add(slot)
        booked.setdefault(candidate.enterprise, set()).add(slot)
        met.add(pair)
        plan.append(
            ProposedMeeting(slot, candidate.opportunity_id, candidate.issuer, candidate.enterprise, candidate.score)
        )
    return sorted(plan)
