"""Every table, imported in one place for Alembic and the test database."""

from backend.accounts.models import Invitation
from backend.accounts.models import Registration as AccountRegistration
from backend.answers.models import (
    Answer,
    AnswerAttachment,
    AnswerMember,
    AnswerOffering,
    Review,
    ReviewCriterion,
    Reviewer,
)
from backend.audit.models import AuditEntry
from backend.auth.models import AccountToken, AuthSession, ThrottleCounter, User
from backend.demonstration.models import (
    DemoProject,
    DemoProjectEnterprise,
    DemoZone,
    GrowthEnterprise,
    Milestone,
    MilestoneEvidence,
    Target,
)
from backend.duplicates.models import DuplicateDismissal
from backend.events.models import Availability, Event, EventOpportunity, Meeting, Outcome, Registration
from backend.interests.models import Interest
from backend.kit.files import StoredFile
from backend.listings.models import (
    ListingAttachment,
    ListingImport,
    ListingRevision,
    Offering,
    OfferingDomain,
    OfferingTrack,
    Opportunity,
    OpportunityDomain,
    OpportunityTrack,
)
from backend.notifications.models import EmailMessage, Notification, NotificationPreference, ReminderSent
from backend.organisations.models import Organisation
from backend.outbox.models import OutboxEvent
from backend.pairings.models import Pairing, PairingStep
from backend.results.models import Objection, ResultNotice
from backend.searching.models import MatchDecision
from backend.subscriptions.models import Subscription, SubscriptionAlert
from backend.taxonomy.models import Batch, Domain, Region, Track

__all__ = [
    "AccountRegistration",
    "AccountToken",
    "Answer",
    "AnswerAttachment",
    "AnswerMember",
    "AnswerOffering",
    "AuditEntry",
    "AuthSession",
    "Availability",
    "Batch",
    "DemoProject",
    "DemoProjectEnterprise",
    "DemoZone",
    "Domain",
    "DuplicateDismissal",
    "EmailMessage",
    "Event",
    "EventOpportunity",
    "GrowthEnterprise",
    "Interest",
    "Invitation",
    "ListingAttachment",
    "ListingImport",
    "ListingRevision",
    "MatchDecision",
    "Meeting",
    "Milestone",
    "MilestoneEvidence",
    "Notification",
    "NotificationPreference",
    "Objection",
    "Offering",
    "OfferingDomain",
    "OfferingTrack",
    "Opportunity",
    "OpportunityDomain",
    "OpportunityTrack",
    "Organisation",
    "OutboxEvent",
    "Outcome",
    "Pairing",
    "PairingStep",
    "Region",
    "Registration",
    "ReminderSent",
    "ResultNotice",
    "Review",
    "ReviewCriterion",
    "Reviewer",
    "StoredFile",
    "Subscription",
    "SubscriptionAlert",
    "Target",
    "ThrottleCounter",
    "Track",
    "User",
]
