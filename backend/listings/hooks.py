"""The listings domain's hooks: the domains above it react to a listing without listings importing them.

- `opportunity_published(session, opportunity)`: after an opportunity became published, inside the
  same transaction.
- `opportunity_changed(session, opportunity, change, message)`: after a published opportunity's
  deadline changed (`change` = "deadline_changed") or it was closed early or withdrawn
  ("opportunity_closed"), inside the same transaction; `message` says what happened, in Chinese
  (answers tell the enterprises that have a draft or submitted answer).
- `owner_notice(session, *, user_ids, kind, title, body, link)`: tell a listing's organisation
  something (an edit request decided); the notifications domain delivers it.
- `released_contacts(session, *, actor, opportunity_ids) -> set[int]`: the opportunities among
  `opportunity_ids` whose contact the actor may see although it is not theirs (interests: an
  approved introduction). The presenter shows a contact if any handler releases it.
- `listing_reviewed(session, listing, kind, decision, note)`: after a matchmaker published
  (`decision="published"`, note = the batch number or "") or sent back (`"sent_back"`, note = the
  reason) a listing, inside the same transaction (notifications tell the owning organisation;
  subscriptions queue the saved-search alerts, which run once the index holds the listing).
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.kit.hooks import Hook
from backend.listings.models import ListingKind, Offering, Opportunity


class ReleasedContacts(Protocol):
    def __call__(
        self, session: AsyncSession, *, actor: Actor, opportunity_ids: Sequence[int]
    ) -> Awaitable[set[int]]: ...


opportunity_published: Hook[Callable[[AsyncSession, Opportunity], Awaitable[object]]] = Hook(
    "listings.opportunity_published"
)
released_contacts: Hook[ReleasedContacts] = Hook("listings.released_contacts")
listing_reviewed: Hook[Callable[[AsyncSession, Offering | Opportunity, ListingKind, str, str], Awaitable[object]]] = (
    Hook("listings.listing_reviewed")
)


async def run_listing_reviewed(
    session: AsyncSession, listing: Offering | Opportunity, kind: ListingKind, decision: str, note: str = ""
) -> None:
    for handler in listing_reviewed.handlers:
        await handler(session, listing, kind, decision, note)


class OwnerNotice(Protocol):
    def __call__(
        self, session: AsyncSession, *, user_ids: Sequence[int], kind: str, title: str, body: str, link: str
    ) -> Awaitable[object]: ...


owner_notice: Hook[OwnerNotice] = Hook("listings.owner_notice")
opportunity_changed: Hook[Callable[[AsyncSession, Opportunity, str, str], Awaitable[object]]] = Hook(
    "listings.opportunity_changed"
)


async def run_opportunity_published(session: AsyncSession, opportunity: Opportunity) -> None:
    for handler in opportunity_published.handlers:
        await handler(session, opportunity)


async def run_opportunity_changed(session: AsyncSession, opportunity: Opportunity, change: str, message: str) -> None:
    for handler in opportunity_changed.handlers:
        await handler(session, opportunity, change, message)


async def run_owner_notice(
    session: AsyncSession, *, user_ids: Sequence[int], kind: str, title: str, body: str, link: str
) -> None:
    for handler in owner_notice.handlers:
        await handler(session, user_ids=user_ids, kind=kind, title=title, body=body, link=link)


async def released_contact_ids(session: AsyncSession, *, actor: Actor, opportunity_ids: Sequence[int]) -> set[int]:
    released: set[int] = set()
    if not opportunity_ids:
        return released
    for handler in released_contacts.handlers:
        released |= await handler(session, actor=actor, opportunity_ids=opportunity_ids)
    return released
