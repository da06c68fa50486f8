"""Every table, imported in one place for Alembic and the test database."""

from backend.auth.models import AuthSession, User
from backend.listings.models import (
    Offering,
    OfferingDomain,
    OfferingTrack,
    Opportunity,
    OpportunityDomain,
    OpportunityTrack,
)
from backend.organisations.models import Organisation
from backend.outbox.models import OutboxEvent
from backend.searching.models import MatchDecision
from backend.taxonomy.models import Batch, Domain, Region, Track

__all__ = [
    "AuthSession",
    "Batch",
    "Domain",
    "MatchDecision",
    "Offering",
    "OfferingDomain",
    "OfferingTrack",
    "Opportunity",
    "OpportunityDomain",
    "OpportunityTrack",
    "Organisation",
    "OutboxEvent",
    "Region",
    "Track",
    "User",
]
