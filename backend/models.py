"""Every table, imported in one place for Alembic and the test database."""

from backend.answers.models import Answer, AnswerAttachment, AnswerMember, AnswerOffering, Review, ReviewCriterion, Reviewer
from backend.audit.models import AuditEntry
from backend.demonstration.models import DemoProject, DemoProjectEnterprise, DemoZone, GrowthEnterprise, Milestone, MilestoneEvidence, Target
from backend.duplicates.models import DuplicateDismissal
from backend.events.models import Availability, Event, EventOpportunity, Meeting, Outcome, Registration
from backend.auth.models import AuthSession, User
from backend.interests.models import Interest
from backend.listings.models import (
    Offering,
    OfferingDomain,
    OfferingTrack,
    Opportunity,
    OpportunityDomain,
    OpportunityTrack,
)
from backend.notifications.models import EmailMessage, Notification
from backend.organisations.models import Organisation
from backend.outbox.models import OutboxEvent
from backend.pairings.models import Pairing, PairingStep
from backend.searching.models import MatchDecision
from backend.subscriptions.models import Subscription
from backend.taxonomy.models import Batch, Domain, Region, Track

__all__ = [
    "DemoProject",
    "DemoProjectEnterprise",
    "DemoZone",
    "GrowthEnterprise",
    "Milestone",
    "MilestoneEvidence",
    "Target",
    "Answer",
    "AnswerAttachment",
    "AnswerMember",
    "AnswerOffering",
    "Pairing",
    "PairingStep",
    "Review",
    "ReviewCriterion",
    "Reviewer",
    "AuditEntry",
    "Availability",
    "Event",
    "EventOpportunity",
    "Meeting",
    "Outcome",
    "Registration",
    "AuthSession",
    "Batch",
    "Domain",
    "DuplicateDismissal",
    "EmailMessage",
    "Interest",
    "MatchDecision",
    "Notification",
    "Offering",
    "OfferingDomain",
    "OfferingTrack",
    "Opportunity",
    "OpportunityDomain",
    "OpportunityTrack",
    "Organisation",
    "OutboxEvent",
    "Region",
    "Subscription",
    "Track",
    "User",
]
