"""Who may save a search of which list.

- 机会清单 (opportunities): enterprise accounts, who answer them.
- 产品清单 (offerings): issuers (government departments and other 出卷方), who look for products
  to use, and matchmakers, who pair the two lists.
- A subscription is its owner's alone: anyone else's is reported as missing (see the service).

Alerts apply the same rule when they run, so an account whose role changed stops hearing of a
list it may no longer save searches of.
"""

from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role
from backend.kit.errors import Forbidden
from backend.listings.models import ListingKind

SAVERS: dict[ListingKind, frozenset[str]] = {
    ListingKind.opportunity: frozenset({Role.enterprise}),
    ListingKind.offering: frozenset({Role.issuer, Role.matchmaker}),
}

REFUSALS = {
    ListingKind.opportunity: "只有企业账号可以订阅机会清单",
    ListingKind.offering: "只有出卷方和撮合专员账号可以订阅产品清单",
}


def role_can_save(role: str | None, kind: str) -> bool:
    return role is not None and role in SAVERS.get(ListingKind(kind), frozenset())


def can_save(actor: Actor, kind: str) -> bool:
    """May the actor save a search of this list (and hear of its new listings)?"""
    return role_can_save(actor.role, kind)


def kinds_for(actor: Actor) -> list[ListingKind]:
    """The lists the actor may save searches of, 机会清单 first."""
    return [kind for kind in ListingKind if can_save(actor, kind)]


def check_can_save(actor: Actor, kind: str) -> int:
    """401 for visitors, 403 with the reason in Chinese for other accounts; answers the user id."""
    user_id = require_signed_in(actor)
    if not can_save(actor, kind):
        raise Forbidden(REFUSALS[ListingKind(kind)])
    return user_id
