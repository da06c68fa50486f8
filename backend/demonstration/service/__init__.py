"""十百千 registry rules: matchmakers keep zones, projects and high-growth enterprises; admins set targets.

Progress is never stored: it is counted from the registry on every request, against the Target rows.

The package is split along the aggregates; every name is re-exported here, so
`from backend.demonstration.service import x` and `service.x` keep working."""

from backend.demonstration.permissions import project_enterprise_ids  # noqa: F401 -- the presenter reads it from here
from backend.demonstration.service._common import (  # noqa: F401
    CITY_LEVELS,
    ENTERPRISE_KINDS,
    PLAN_TARGETS,
    Places,
    Row,
    _check_region,
    _check_tracks,
    _enterprise,
    _require_admin,
    _write,
    load_places,
    organisation_names,
    track_names,
)
from backend.demonstration.service.enterprises import (  # noqa: F401
    create_enterprise,
    get_enterprise,
    list_enterprises,
    update_enterprise,
)
from backend.demonstration.service.milestones import (  # noqa: F401
    add_evidence,
    add_milestone,
    get_evidence,
    milestones_of,
    remove_evidence,
    update_milestone,
)
from backend.demonstration.service.progress import (  # noqa: F401
    _figure,
    _Item,
    _registry_items,
    _row,
    progress,
)
from backend.demonstration.service.projects import (  # noqa: F401
    _demonstration_pairing,
    _guess_zone,
    _set_enterprises,
    create_from_pairing,
    create_project,
    get_project_readable,
    list_projects,
    move_project,
    proposal_from_pairing,
    update_project,
)
from backend.demonstration.service.targets import (  # noqa: F401
    TARGET_ORDER,
    _scope_code,
    _targets_query,
    delete_target,
    even_split,
    list_targets,
    seed_targets,
    set_target,
    targets_for,
    targets_page,
)
from backend.demonstration.service.zones import (  # noqa: F401
    ZONE_ORDER,
    _check_zone_name,
    all_zones,
    create_zone,
    get_zone,
    list_zones,
    update_zone,
    zone_project_counts,
)
from backend.kit.china_time import china_today  # noqa: F401 -- web/ and the tests read it from here
