"""Publishing a numbered batch (第N批) and its change log against the previous batch.

**The window of batch N.** Batches are ordered by number; the previous batch P is the
existing batch with the greatest number below N (numbers may skip).

- `start` = P's publication moment: `P.published_at`, or — when P was never published
  with "发布第N批" (older batches created by an import) — the latest `published_at` of
  P's listings; no start (the beginning of time) when there is no P or P has no listings.
- `end` = `N.published_at`; no end (up to now) while batch N is still open.
- Batches may be published in any order (a later number first): each window is still computed
  as above, so an earlier batch published afterwards gets the window up to its own publication.
- An event is in the window when `start < event.at <= end`.

**The three sections** (both kinds of listing; each listing appears at most once, in
the first section of withdrawn → added → changed that it qualifies for):

- **withdrawn (撤回)**: a published listing (`published_at` set) of batch N or an earlier
  batch with a `status:closed` or `status:withdrawn` audit entry in the window — closing
  an opportunity, withdrawing an offering, or merging a duplicate into another listing.
- **added (新增)**: every listing published into batch N (`batch_id` = N and `published_at`
  set), whenever it was published — a listing published into a batch that is not yet
  published simply counts towards it.
- **changed (变更)**: a listing of an earlier batch (number < N) that was published and,
  within the window, was edited after its publication (`edited` audit entries), absorbed
  a merged duplicate (`merged`), or was published again (any `status:published` entry
  other than its first).

Listings published without a batch belong to no batch list and appear in no change log.
Within a section, items are ordered opportunities first, then by id, so the same data
always gives the same page.

**Who sees what.** Staff see every item. Everyone else sees added and changed items only
while the listing is published (what they can open), and withdrawn items by title — the
title was public when the listing was.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.audit.models import AuditEntry
from backend.auth.actor import Actor, require_staff
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus
from backend.organisations.service import names_of as organisation_names_of
from backend.outbox.service import record_listing_change
from backend.taxonomy.models import Batch

WITHDRAW_ACTIONS = ("status:closed", "status:withdrawn")
CHANGE_ACTIONS = ("edited", "merged", "status:published")
KIND_ORDER = {ListingKind.opportunity: 0, ListingKind.offering: 1}


@dataclass
class ChangeItem:
    kind: ListingKind
    id: int
    title: str
    organisation_id: int
    status: str
    batch: int | None
    at: datetime | None
    organisation: str = ""
    # For changed items: the edited fields (listing field names), "merged" or "republished".
    changed_fields: list[str] = field(default_factory=list)
    merged_into_id: int | None = None


@dataclass
class BatchChanges:
    batch: Batch
    previous: int | None
    start: datetime | None
    end: datetime | None
    added: list[ChangeItem]
    changed: list[ChangeItem]
    withdrawn: list[ChangeItem]


@dataclass
class BatchSummary:
    batch: Batch
    added: int
    changed: int
    withdrawn: int


async def get_batch(session: AsyncSession, number: int) -> Batch:
    batch = (await session.exec(select(Batch).where(Batch.number == number))).first()
    if batch is None:
        raise NotFound(f"第{number}批不存在")
    return batch


async def publish_batch(session: AsyncSession, *, actor: Actor, number: int) -> Batch:
    """发布第N批: record the batch's publication moment, which closes its change-log window."""
    require_staff(actor, "只有撮合专员可以发布批次")
    batch = await get_batch(session, number)
    if batch.published_at is not None:
        raise Conflict(f"第{number}批已经发布过", field="number")
    # Any order is allowed: a batch's window starts at the previous number's moment and ends at
    # its own publication, so publishing 第3批 before 第1批 leaves 第1批 publishable (its window
    # simply ends later) rather than stranding it for ever.
    batch.published_at = utcnow()
    session.add(batch)
    await session.flush()
    # The search index shows a listing's batch only once it is published: re-index its listings.
    for kind, model in LISTING_MODELS.items():
        for listing_id in (await session.exec(select(model.id).where(model.batch_id == batch.id))).all():
            if listing_id is not None:
                await record_listing_change(session, kind=kind, listing_id=listing_id)
    await audit.record(
        session, actor=actor, entity_kind="batch", entity_id=batch.id, action="published", to_state="published"
    )
    return batch


async def _previous(session: AsyncSession, number: int) -> Batch | None:
    return (
        await session.exec(select(Batch).where(Batch.number < number).order_by(col(Batch.number).desc()).limit(1))
    ).first()


async def _moment(session: AsyncSession, batch: Batch) -> datetime | None:
    if batch.published_at is not None:
        return batch.published_at
    latest: datetime | None = None
    for model in LISTING_MODELS.values():
        value = (await session.exec(select(func.max(model.published_at)).where(model.batch_id == batch.id))).one()
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


@dataclass
class _Row:
    kind: ListingKind
    id: int
    title: str
    organisation_id: int
    status: str
    published_at: datetime | None
    batch: int | None
    merged_into_id: int | None


async def _rows(session: AsyncSession, kind: ListingKind, where: Sequence[object]) -> list[_Row]:
    model = LISTING_MODELS[kind]
    query = (
        select(
            model.id,
            model.title,
            model.organisation_id,
            model.status,
            model.published_at,
            Batch.number,
            model.merged_into_id,
        )
        .join(Batch, col(Batch.id) == col(model.batch_id))
        .where(*where)
    )
    return [_Row(kind, *row) for row in (await session.exec(query)).all()]


async def changes(session: AsyncSession, *, actor: Actor, number: int) -> BatchChanges:
    """Batch N compared with the batch before it (see the module docstring for the rules)."""
    batch = await get_batch(session, number)
    previous = await _previous(session, number)
    start = await _moment(session, previous) if previous is not None else None
    end = batch.published_at

    added: dict[tuple[ListingKind, int], _Row] = {}
    for kind, model in LISTING_MODELS.items():
        for row in await _rows(session, kind, [model.batch_id == batch.id, col(model.published_at).is_not(None)]):
            added[(kind, row.id)] = row

    # Audit entries in the window, per listing.
    window = select(AuditEntry).where(
        col(AuditEntry.entity_kind).in_([k.value for k in ListingKind]),
        col(AuditEntry.action).in_([*WITHDRAW_ACTIONS, *CHANGE_ACTIONS]),
    )
    if start is not None:
        window = window.where(AuditEntry.at > start)
    if end is not None:
        window = window.where(AuditEntry.at <= end)
    entries = list((await session.exec(window.order_by(col(AuditEntry.at), col(AuditEntry.id)))).all())
    by_listing: dict[tuple[ListingKind, int], list[AuditEntry]] = {}
    for entry in entries:
        by_listing.setdefault((ListingKind(entry.entity_kind), entry.entity_id), []).append(entry)

    touched: dict[tuple[ListingKind, int], _Row] = {}
    for kind, model in LISTING_MODELS.items():
        ids = [i for (k, i) in by_listing if k == kind]
        if ids:
            rows = await _rows(
                session, kind, [col(model.id).in_(ids), col(model.published_at).is_not(None), Batch.number <= number]
            )
            touched.update({(kind, r.id): r for r in rows})
    first_publication = await _first_publications(session, [key for key in touched])

    withdrawn_items: list[ChangeItem] = []
    changed_items: list[ChangeItem] = []
    withdrawn_keys: set[tuple[ListingKind, int]] = set()
    for key, row in touched.items():
        events = by_listing[key]
        closing = [e for e in events if e.action in WITHDRAW_ACTIONS]
        if closing:
            withdrawn_keys.add(key)
            withdrawn_items.append(_item(row, closing[-1].at))
            continue
        if key in added or row.batch is None or row.batch >= number:
            continue
        fields: list[str] = []
        last: datetime | None = None
        for e in events:
            if e.action == "edited" and row.published_at is not None and e.at > row.published_at:
                fields += [f for f in e.note.split("、") if f]
            elif e.action == "merged":
                fields.append("merged")
            elif e.action == "status:published" and e.id != first_publication.get(key):
                fields.append("republished")
            else:
                continue
            last = e.at
        if last is not None:
            changed_items.append(_item(row, last, changed_fields=list(dict.fromkeys(fields))))
    added_items = [_item(row, row.published_at) for key, row in added.items() if key not in withdrawn_keys]

    names = await _organisation_names(session, [*added.values(), *touched.values()])
    return BatchChanges(
        batch=batch,
        previous=previous.number if previous else None,
        start=start,
        end=end,
        added=_visible(added_items, actor, names),
        changed=_visible(changed_items, actor, names),
        withdrawn=_visible(withdrawn_items, actor, names, withdrawn=True),
    )


async def _first_publications(
    session: AsyncSession, keys: list[tuple[ListingKind, int]]
) -> dict[tuple[ListingKind, int], int]:
    """The id of each listing's first `status:published` audit entry."""
    out: dict[tuple[ListingKind, int], int] = {}
    for kind in ListingKind:
        ids = [i for k, i in keys if k == kind]
        if not ids:
            continue
        rows = await session.exec(
            select(AuditEntry.entity_id, func.min(AuditEntry.id))
            .where(
                AuditEntry.entity_kind == kind.value,
                AuditEntry.action == "status:published",
                col(AuditEntry.entity_id).in_(ids),
            )
            .group_by(col(AuditEntry.entity_id))
        )
        out.update({(kind, entity_id): first for entity_id, first in rows.all()})
    return out


def _item(row: _Row, at: datetime | None, *, changed_fields: list[str] | None = None) -> ChangeItem:
    return ChangeItem(
        kind=row.kind,
        id=row.id,
        title=row.title,
        organisation_id=row.organisation_id,
        status=row.status,
        batch=row.batch,
        at=at,
        changed_fields=changed_fields or [],
        merged_into_id=row.merged_into_id,
    )


async def _organisation_names(session: AsyncSession, rows: list[_Row]) -> dict[int, str]:
    return await organisation_names_of(session, {r.organisation_id for r in rows})


def _visible(
    items: list[ChangeItem], actor: Actor, names: dict[int, str], *, withdrawn: bool = False
) -> list[ChangeItem]:
    out = []
    for item in sorted(items, key=lambda i: (KIND_ORDER[i.kind], i.id)):
        if not (actor.is_staff or withdrawn or item.status == ListingStatus.published):
            continue
        item.organisation = names.get(item.organisation_id, "")
        out.append(item)
    return out


async def overview(session: AsyncSession, *, actor: Actor) -> list[BatchSummary]:
    """Every batch, newest first, with the sizes of its three sections as the actor sees them."""
    batches = (await session.exec(select(Batch).order_by(col(Batch.number).desc()))).all()
    out = []
    for batch in batches:
        log = await changes(session, actor=actor, number=batch.number)
        out.append(
            BatchSummary(batch=batch, added=len(log.added), changed=len(log.changed), withdrawn=len(log.withdrawn))
        )
    return out


async def open_batches(session: AsyncSession) -> list[Batch]:
    """Batches not yet published, lowest number first (the review queue offers them)."""
    rows = await session.exec(select(Batch).where(col(Batch.published_at).is_(None)).order_by(col(Batch.number)))
    return list(rows.all())


async def next_number(session: AsyncSession) -> int:
    """The number a new batch would get: one above the highest existing number."""
    highest = (await session.exec(select(func.max(Batch.number)))).one()
    return (highest or 0) + 1
