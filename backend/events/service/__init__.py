"""Events (场景沙龙 / 对接会): the rules for running them, registering, scheduling 1:1 meetings and outcomes.

Who may do what:
- matchmakers create, open, close and finish events, choose the featured opportunities, generate
  the meeting plan and record outcomes;
- enterprise accounts register their organisation (one registration per organisation, within
  capacity, while registration is open) and say when they are free;
- the host of a featured opportunity (a person of the issuing organisation) says when they are free;
- a meeting is seen and answered only by its two people (and seen by matchmakers); anyone else
  is told it does not exist.

The package is split along the aggregates; every name is re-exported here, so
`from backend.events.service import x` and `service.x` keep working."""

from backend.events.service._common import (  # noqa: F401
    BASE_SCORE_WITH_OFFERING,
    BASE_SCORE_WITHOUT_OFFERING,
    MATCH_POOL,
    MAX_SLOTS,
    REGISTRATION_OPEN,
    SCHEDULING,
    TRANSITIONS,
    person,
    user_of,
)
from backend.events.service.events import (  # noqa: F401
    _check_link,
    _check_schedule,
    _check_where,
    _get,
    _host_for,
    create,
    featured,
    get_visible,
    list_events,
    registered_count,
    set_featured,
    set_status,
    status_choices,
    update,
)
from backend.events.service.meetings import (  # noqa: F401
    _offering_scores,
    _Pick,
    get_meeting,
    is_in,
    meeting_calendar,
    meetings,
    my_meetings,
    propose,
    reply,
)
from backend.events.service.outcomes import (  # noqa: F401
    _offering_still_theirs,
    outcomes_for,
    record_outcome,
)
from backend.events.service.registration import (  # noqa: F401
    availability_of,
    cancel_registration,
    hosts,
    is_participant,
    my_registration,
    register,
    registrations,
    set_availability,
)
