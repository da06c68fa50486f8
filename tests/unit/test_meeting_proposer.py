"""The 1:1 meeting proposer never double-books, respects limits and availability, and is deterministic."""

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.events.scheduling import Candidate, ProposedMeeting, propose_meetings

issuers = st.sampled_from([f"user:{i}" for i in range(1, 5)])
enterprises = st.sampled_from([f"user:{i}" for i in range(10, 18)])
candidates = st.lists(
    st.builds(
        Candidate, opportunity_id=st.integers(1, 4), issuer=issuers, enterprise=enterprises, score=st.floats(0, 1)
    ),
    max_size=40,
)
slot_sets = st.sets(st.integers(0, 7), min_size=1, max_size=8)
availability = st.dictionaries(
    st.sampled_from([f"user:{i}" for i in range(1, 18)]), st.sets(st.integers(0, 7), max_size=8)
)


@settings(max_examples=300, deadline=None)
@given(candidates, slot_sets, availability, st.integers(1, 4))
def test_nobody_is_double_booked_and_limits_and_availability_hold(cands, slots, avail, limit):
    plan = propose_meetings(cands, slots, avail, default_limit=limit)
    seen: set[tuple[str, int]] = set()
    per_person: Counter[str] = Counter()
    pairs: set[tuple[str, str]] = set()
    for meeting in plan:
        assert meeting.slot in slots
        for person in (meeting.issuer, meeting.enterprise):
            assert (person, meeting.slot) not in seen
            seen.add((person, meeting.slot))
            per_person[person] += 1
            if person in avail:
                assert meeting.slot in avail[person]
        assert (meeting.issuer, meeting.enterprise) not in pairs
        pairs.add((meeting.issuer, meeting.enterprise))
    assert all(count <= limit for count in per_person.values())


@settings(max_examples=200, deadline=None)
@given(candidates, slot_sets, availability, st.integers(1, 4), st.randoms(use_true_random=False))
def test_same_input_in_any_order_gives_the_same_plan(cands, slots, avail, limit, rnd: random.Random):
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    assert propose_meetings(cands, slots, avail, default_limit=limit) == propose_meetings(
        shuffled, list(reversed(sorted(slots))), avail, default_limit=limit
    )


def test_best_match_gets_the_earliest_slot_and_limits_are_per_person():
    plan = propose_meetings(
        [
            Candidate(1, "user:1", "user:10", 0.9),
            Candidate(1, "user:1", "user:11", 0.5),
            Candidate(1, "user:1", "user:12", 0.7),
        ],
        slots=[0, 1, 2],
        availability={"user:10": {1, 2}},
        default_limit=2,
    )
    assert [(m.enterprise, m.slot) for m in plan] == [("user:12", 0), ("user:10", 1)]


def test_per_person_limit_overrides_the_default():
    plan = propose_meetings(
        [Candidate(1, "user:1", f"user:{10 + i}", 1 - i / 10) for i in range(3)],
        slots=range(5),
        availability={},
        default_limit=3,
        limits={"user:1": 1},
    )
    assert len(plan) == 1 and plan[0].enterprise == "user:10"


def _valid_plan(meetings: list[ProposedMeeting]) -> list[ProposedMeeting]:
    """Kept meetings are themselves a valid plan: nobody twice in one slot, a pair once."""
    out, taken, pairs = [], set(), set()
    for m in meetings:
        if {(m.issuer, m.slot), (m.enterprise, m.slot)} & taken or (m.issuer, m.enterprise) in pairs:
            continue
        taken |= {(m.issuer, m.slot), (m.enterprise, m.slot)}
        pairs.add((m.issuer, m.enterprise))
        out.append(m)
    return out


fixed_meetings = st.lists(
    st.builds(
        ProposedMeeting,
        slot=st.integers(0, 7),
        opportunity_id=st.integers(1, 4),
        issuer=issuers,
        enterprise=enterprises,
        score=st.just(1.0),
    ),
    max_size=6,
).map(_valid_plan)


@settings(max_examples=300, deadline=None)
@given(
    candidates,
    slot_sets,
    availability,
    st.integers(1, 4),
    fixed_meetings,
    st.lists(st.tuples(issuers, enterprises), max_size=5),
)
def test_kept_meetings_hold_their_slots_and_declined_pairs_never_return(cands, slots, avail, limit, kept, declined):
    plan = propose_meetings(cands, slots, avail, default_limit=limit, fixed=kept, exclude_pairs=declined)
    taken = {(person, m.slot) for m in kept for person in (m.issuer, m.enterprise)}
    per_person: Counter[str] = Counter(person for m in kept for person in (m.issuer, m.enterprise))
    kept_pairs = {(m.issuer, m.enterprise) for m in kept}
    for meeting in plan:
        for person in (meeting.issuer, meeting.enterprise):
            assert (person, meeting.slot) not in taken
            taken.add((person, meeting.slot))
            per_person[person] += 1
        assert (meeting.issuer, meeting.enterprise) not in kept_pairs | set(declined)
    # Kept meetings count towards the limit: nobody gets a new meeting beyond it.
    assert all(per_person[p] <= limit for m in plan for p in (m.issuer, m.enterprise))


def test_re_proposing_around_an_accepted_meeting_does_not_move_it():
    kept = [ProposedMeeting(0, 1, "user:1", "user:10", 0.9)]
    plan = propose_meetings(
        [
            Candidate(1, "user:1", "user:10", 0.9),
            Candidate(1, "user:1", "user:11", 0.8),
            Candidate(1, "user:1", "user:12", 0.7),
        ],
        slots=[0, 1, 2],
        availability={},
        default_limit=2,
        fixed=kept,
        exclude_pairs=[("user:1", "user:11")],
    )
    assert [(m.enterprise, m.slot) for m in plan] == [("user:12", 1)]
