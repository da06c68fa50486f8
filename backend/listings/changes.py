"""Changes to a listing after it was published, and taking back a submission.

Who may do what:
- **Edit request** (修改申请): the listing's organisation asks for an edit of its *published*
  listing. The proposed fields are stored as a pending `ListingRevision`; the published version
  stays exactly as it was (on its page, in lists and in search) until a matchmaker approves.
  Approval applies the fields through `service.update` (outbox row, `edited` audit entry, so the
  batch change log lists it); rejection keeps the published version and tells the owner why.
  A new request while one is pending replaces it; the owner may cancel a pending one. Staff
  edit published listings directly (`service.update`) and need no request.
- **Deadline change**: the organisation or staff extend or shorten the deadline of a published
  opportunity (not into the past); enterprises with a draft or submitted answer are told
  (through `hooks.opportunity_changed`, which the answers domain handles).
- **Close early** (`close_early`) and **withdraw** (撤回, both kinds, with a
  reason that is shown publicly on the listing's page): the organisation or staff. Answerers of
  an opportunity are told in both cases.
- **Take back** (撤回审核): the organisation turns its pending submission back into a draft.

Every change writes an audit entry on the listing, so its history shows the request, the
decision and the change itself.
"""

from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.auth.models import User
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.listings import hooks
from backend.listings.models import (
    LISTING_MODELS,
    ListingKind,
    ListingRevision,
    ListingStatus,
    Offering,
    Opportunity,
    RevisionStatus,
)
from backend.listings.permissions import KIND_LABELS, Listing, can_see_private_fields
from backend.listings.schemas import ListingUpdate, OfferingUpdate, OpportunityUpdate
from backend.listings.service import _transition, load_classification, update
from backend.outbox.service import record_listing_change
from backend.taxonomy import service as taxonomy_service

UPDATE_SCHEMAS: dict[ListingKind, type[ListingUpdate]] = {
    ListingKind.opportunity: OpportunityUpdate,
    ListingKind.offering: OfferingUpdate,
}


async def _owned(session: AsyncSession, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    """The listing if the actor is of its organisation or staff; anyone else is told it is missing."""
    require_signed_in(actor)
    listing = cast(Listing | None, await session.get(LISTING_MODELS[kind], listing_id))
    if listing is None or not can_see_private_fields(actor, listing):
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    return listing


async def organisation_user_ids(session: AsyncSession, organisation_id: int) -> list[int]:
    rows = await session.exec(
        select(User.id).where(User.organisation_id == organisation_id, col(User.is_active)).order_by(col(User.id))
    )
    return [i for i in rows.all() if i is not None]


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out


def _same(current: Any, proposed: Any) -> bool:
    """A form sends every field: "" and None, or the same codes in another order, are no change."""
    if isinstance(current, list) or isinstance(proposed, list):
        return sorted(current or []) == sorted(proposed or [])
    return (current if current not in ("", None) else None) == (proposed if proposed not in ("", None) else None)


# --- edit requests -----------------------------------------------------------------------------


async def pending_revision(session: AsyncSession, *, kind: ListingKind, listing_id: int) -> ListingRevision | None:
    return (
        await session.exec(
            select(ListingRevision).where(
                ListingRevision.listing_kind == kind.value,
                ListingRevision.listing_id == listing_id,
                ListingRevision.status == RevisionStatus.pending,
            )
        )
    ).first()


async def revisions_of(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int
) -> list[ListingRevision]:
    """Every edit request of a listing, newest first (its organisation and staff)."""
    await _owned(session, actor, kind, listing_id)
    rows = await session.exec(
        select(ListingRevision)
        .where(ListingRevision.listing_kind == kind.value, ListingRevision.listing_id == listing_id)
        .order_by(col(ListingRevision.id).desc())
    )
    return list(rows.all())


async def request_edit(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, data: ListingUpdate, note: str = ""
) -> ListingRevision:
    """The organisation proposes an edit of its published listing; nothing visible changes yet."""
    listing = await _owned(session, actor, kind, listing_id)
    if listing.status != ListingStatus.published:
        raise Conflict("只有已发布的内容需要提交修改申请；草稿请直接修改", field="status")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise Unprocessable("没有要修改的内容", field="title")
    if "title" in changes and not (changes["title"] or "").strip():
        raise Unprocessable("标题不能为空", field="title")
    # Checked now so that an approval cannot fail on what the owner could have corrected.
    await taxonomy_service.check_codes(
        session, tracks=changes.get("tracks") or [], domains=changes.get("domains") or []
    )
    if changes.get("region_code"):
        await taxonomy_service.check_region(session, changes["region_code"])
    if isinstance(listing, Opportunity):
        if changes.get("deadline") is not None and changes["deadline"] < date.today():
            raise Unprocessable("截止日期不能早于今天", field="deadline")
        low = changes.get("budget_min", listing.budget_min)
        high = changes.get("budget_max", listing.budget_max)
        if low is not None and high is not None and low > high:
            raise Unprocessable("预算下限不能高于上限", field="budget_min")
    # Only what actually differs from the published version is a change.
    current: dict[str, Any] = {key: getattr(listing, key) for key in changes if hasattr(listing, key)}
    tracks, domains = await load_classification(session, kind, [listing_id])
    current["tracks"], current["domains"] = tracks[listing_id], domains[listing_id]
    changes = {k: v for k, v in changes.items() if not _same(current.get(k), v)}
    if not changes:
        raise Unprocessable("修改后的内容与已发布版本相同", field="title")
    revision = await pending_revision(session, kind=kind, listing_id=listing_id)
    if revision is None:
        revision = ListingRevision(listing_kind=kind.value, listing_id=listing_id)
    revision.changes = _jsonable(changes)
    revision.note = note[:2000]
    revision.requested_by_id = actor.user_id
    revision.created_at = utcnow()
    session.add(revision)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=listing_id,
        action="revision_requested",
        note="、".join(sorted(changes)),
    )
    return revision


async def _revision(session: AsyncSession, revision_id: int) -> tuple[ListingRevision, ListingKind]:
    revision = await session.get(ListingRevision, revision_id)
    if revision is None:
        raise NotFound("修改申请不存在")
    return revision, ListingKind(revision.listing_kind)


async def get_revision(session: AsyncSession, *, actor: Actor, revision_id: int) -> ListingRevision:
    revision, kind = await _revision(session, revision_id)
    try:
        await _owned(session, actor, kind, revision.listing_id)
    except NotFound:
        raise NotFound("修改申请不存在") from None
    return revision


async def pending_revisions(session: AsyncSession, *, actor: Actor) -> list[ListingRevision]:
    """Every pending edit request, oldest first (the matchmakers' queue)."""
    require_staff(actor, "只有撮合专员可以审核修改申请")
    rows = await session.exec(
        select(ListingRevision)
        .where(ListingRevision.status == RevisionStatus.pending)
        .order_by(col(ListingRevision.created_at), col(ListingRevision.id))
    )
    return list(rows.all())


async def _tell_owner(session: AsyncSession, listing: Listing, kind: ListingKind, *, title: str, body: str) -> None:
    await hooks.run_owner_notice(
        session,
        user_ids=await organisation_user_ids(session, listing.organisation_id),
        kind="edit_request_decided",
        title=title,
        body=body,
        link=f"/{'opportunities' if kind == ListingKind.opportunity else 'offerings'}/{listing.id}",
    )


async def approve_revision(session: AsyncSession, *, actor: Actor, revision_id: int, note: str = "") -> ListingRevision:
    """A matchmaker applies a pending edit request to the published listing."""
    require_staff(actor, "只有撮合专员可以审核修改申请")
    revision, kind = await _revision(session, revision_id)
    if revision.status != RevisionStatus.pending:
        raise Conflict("该修改申请已处理", field="status")
    listing = cast(Listing | None, await session.get(LISTING_MODELS[kind], revision.listing_id))
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    data = UPDATE_SCHEMAS[kind].model_validate(revision.changes)
    await update(session, actor=actor, kind=kind, listing_id=revision.listing_id, data=data)
    revision.status = RevisionStatus.approved
    revision.decided_by_id = actor.user_id
    revision.decided_at = utcnow()
    revision.decision_note = note[:2000]
    session.add(revision)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=revision.listing_id,
        action="revision_approved",
        note=note[:2000],
    )
    await _tell_owner(
        session,
        listing,
        kind,
        title=f"修改申请已批准：{listing.title}",
        body=f"您对“{listing.title}”提交的修改已由撮合专员批准并发布。" + (f"\n说明：{note}" if note else ""),
    )
    return revision


async def reject_revision(session: AsyncSession, *, actor: Actor, revision_id: int, note: str) -> ListingRevision:
    """A matchmaker refuses an edit request with a reason; the published version stays."""
    require_staff(actor, "只有撮合专员可以审核修改申请")
    if not note.strip():
        raise Unprocessable("请填写不批准的原因，发布单位会看到它", field="note")
    revision, kind = await _revision(session, revision_id)
    if revision.status != RevisionStatus.pending:
        raise Conflict("该修改申请已处理", field="status")
    listing = cast(Listing | None, await session.get(LISTING_MODELS[kind], revision.listing_id))
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    revision.status = RevisionStatus.rejected
    revision.decided_by_id = actor.user_id
    revision.decided_at = utcnow()
    revision.decision_note = note[:2000]
    session.add(revision)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=revision.listing_id,
        action="revision_rejected",
        note=note[:2000],
    )
    await _tell_owner(
        session,
        listing,
        kind,
        title=f"修改申请未获批准：{listing.title}",
        body=f"您对“{listing.title}”提交的修改未获批准，已发布的版本保持不变。\n原因：{note}",
    )
    return revision


async def cancel_revision(session: AsyncSession, *, actor: Actor, revision_id: int) -> ListingRevision:
    """The organisation withdraws its own pending edit request."""
    revision = await get_revision(session, actor=actor, revision_id=revision_id)
    if revision.status != RevisionStatus.pending:
        raise Conflict("该修改申请已处理", field="status")
    revision.status = RevisionStatus.cancelled
    revision.decided_by_id = actor.user_id
    revision.decided_at = utcnow()
    session.add(revision)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=revision.listing_kind,
        entity_id=revision.listing_id,
        action="revision_cancelled",
    )
    return revision


# --- deadline, close, withdraw, take back ---------------------------------------------------------


async def change_deadline(
    session: AsyncSession, *, actor: Actor, listing_id: int, deadline: date, note: str = ""
) -> Opportunity:
    """Extend or shorten a published opportunity's deadline; its answerers are told."""
    listing = await _owned(session, actor, ListingKind.opportunity, listing_id)
    assert isinstance(listing, Opportunity)
    if listing.status != ListingStatus.published:
        raise Conflict("只有已发布的机会可以调整截止日期", field="status")
    if deadline < date.today():
        raise Unprocessable("截止日期不能早于今天", field="deadline")
    if deadline == listing.deadline:
        raise Unprocessable("新的截止日期与原日期相同", field="deadline")
    before = listing.deadline
    listing.deadline = deadline
    listing.modified_at = utcnow()
    session.add(listing)
    await session.flush()
    await record_listing_change(session, kind=ListingKind.opportunity, listing_id=listing_id)
    await audit.record(
        session,
        actor=actor,
        entity_kind=ListingKind.opportunity.value,
        entity_id=listing_id,
        action="deadline_changed",
        from_state=before.isoformat() if before else "",
        to_state=deadline.isoformat(),
        note=note[:2000],
    )
    longer = before is None or deadline > before
    message = (
        f"“{listing.title}”的答题截止日期已{'延长' if longer else '提前'}："
        f"{before.isoformat() if before else '未设'} → {deadline.isoformat()}。" + (f"\n说明：{note}" if note else "")
    )
    await hooks.run_opportunity_changed(session, listing, "deadline_changed", message)
    return listing


async def close_early(session: AsyncSession, *, actor: Actor, listing_id: int, note: str = "") -> Opportunity:
    """Stop taking answers before the deadline (截止); the answerers are told."""
    listing = await _owned(session, actor, ListingKind.opportunity, listing_id)
    assert isinstance(listing, Opportunity)
    listing.closed_at = utcnow()
    await _transition(
        session,
        listing,
        ListingKind.opportunity,
        actor=actor,
        allowed_from={ListingStatus.published},
        to=ListingStatus.closed,
        message="只有已发布的机会可以截止",
        note=note[:2000],
    )
    message = f"“{listing.title}”已提前截止，不再接受新的答题。" + (f"\n说明：{note}" if note else "")
    await hooks.run_opportunity_changed(session, listing, "opportunity_closed", message)
    return listing


async def withdraw(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, reason: str) -> Listing:
    """Take a listing off the list for good, with a reason shown on its public page."""
    reason = reason.strip()
    if not reason:
        raise Unprocessable("请填写撤回原因，它会公开显示在该条目页面上", field="reason")
    listing = await _owned(session, actor, kind, listing_id)
    allowed = {ListingStatus.draft, ListingStatus.pending_review, ListingStatus.published}
    if kind == ListingKind.opportunity:
        allowed.add(ListingStatus.closed)
    listing.withdrawal_reason = reason[:2000]
    if isinstance(listing, Offering):
        listing.withdrawn_at = utcnow()
    was_open = listing.status == ListingStatus.published
    await _transition(
        session,
        listing,
        kind,
        actor=actor,
        allowed_from=allowed,
        to=ListingStatus.withdrawn,
        message="该条目已撤回",
        note=reason[:2000],
    )
    # A pending edit request has nothing left to apply to.
    revision = await pending_revision(session, kind=kind, listing_id=listing_id)
    if revision is not None:
        revision.status = RevisionStatus.cancelled
        revision.decided_at = utcnow()
        session.add(revision)
        await session.flush()
    if isinstance(listing, Opportunity) and was_open:
        message = f"“{listing.title}”已被发布单位撤回，不再接受答题。\n原因：{reason}"
        await hooks.run_opportunity_changed(session, listing, "opportunity_closed", message)
    return listing


async def take_back(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    """The organisation takes its pending submission back to a draft (before a matchmaker decides)."""
    listing = await _owned(session, actor, kind, listing_id)
    return await _transition(
        session,
        listing,
        kind,
        actor=actor,
        allowed_from={ListingStatus.pending_review},
        to=ListingStatus.draft,
        message="只有待审核的内容可以撤回审核",
        note="发布单位撤回审核",
    )
