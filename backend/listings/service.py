"""The listing lifecycle: draft → pending_review → published → closed / withdrawn.

Every rule about who may see or change a listing lives here; every change writes an
outbox row in the same transaction so that the search index follows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, literal, or_, union_all
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.auth.models import Role
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.kit.pagination import PageParams
from backend.listings import hooks
from backend.listings.models import (
    DOMAIN_LINKS,
    LISTING_MODELS,
    TRACK_LINKS,
    ListingKind,
    ListingStatus,
    Maturity,
    Offering,
    Opportunity,
)
from backend.listings.permissions import (
    KIND_LABELS,
    Listing,
    can_read,
    can_see_private_fields,
    check_can_edit,
    get_readable,
)
from backend.listings.ranges import BudgetRange, DeadlineWindow
from backend.listings.schemas import ListingCreate, ListingUpdate
from backend.organisations import service as organisation_service
from backend.organisations.models import Organisation, OrganisationKind, OrganisationStatus
from backend.outbox.service import record_listing_change, record_listing_changes
from backend.taxonomy import service as taxonomy_service
from backend.taxonomy.mapping import load_taxonomy
from backend.taxonomy.models import Batch, Domain, Region, Track
from backend.taxonomy.regions import resolve_region

# Which account may post which list, and on behalf of which kinds of organisation.
_AUTHOR_ROLE = {ListingKind.opportunity: Role.issuer, ListingKind.offering: Role.enterprise}
_AUTHOR_ORGANISATION_KINDS = {
    ListingKind.opportunity: {
        OrganisationKind.government,
        OrganisationKind.city,
        OrganisationKind.soe,
        OrganisationKind.lab,
    },
    ListingKind.offering: {OrganisationKind.enterprise, OrganisationKind.soe, OrganisationKind.lab},
}
_FINAL_STATUS = {ListingKind.opportunity: ListingStatus.closed, ListingKind.offering: ListingStatus.withdrawn}


def _visible_clause(model: type[Listing], actor: Actor) -> Any:
    if actor.is_staff:
        return None
    published = model.status == ListingStatus.published
    if actor.organisation_id is not None:
        return or_(published, model.organisation_id == actor.organisation_id)
    return published


async def get_visible(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    """Compatibility name (web/ calls it): `permissions.get_readable` is the loader."""
    return await get_readable(session, actor=actor, kind=kind, id=listing_id)


# A merge never targets a listing that is itself merged, but the kept one may be merged later
# (B → A, then A → C); the bound and the `seen` set stop a loop written straight into the database.
MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class MergedInto:
    """A listing the actor may not see lives on, after a merge, as `listing_id`, which they may see."""

    listing_id: int


async def locate(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int) -> Listing | MergedInto:
    """The listing if the actor may see it, else the first listing down its merge chain that they may see.

    Old links to a merged listing (search engines, e-mails, printed lists) thus lead to the
    listing it became. When nothing down the chain is visible, the answer is the same plain
    "不存在" as `get_readable`: a merge into a draft or a closed listing reveals neither.
    """
    model = LISTING_MODELS[kind]
    listing = await session.get(model, listing_id)
    if listing is not None and can_read(actor, listing):
        return listing
    seen = {listing_id}
    current = listing
    for _ in range(MAX_MERGE_HOPS):
        if current is None or current.merged_into_id is None or current.merged_into_id in seen:
            break
        seen.add(current.merged_into_id)
        current = await session.get(model, current.merged_into_id)
        if current is not None and can_read(actor, current):
            return MergedInto(current.id)
    raise NotFound(f"{KIND_LABELS[kind]}不存在")


async def was_merged_into(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, merged_id: int, listing_id: int
) -> bool:
    """Whether `locate` would send this actor from `merged_id` to `listing_id` (the "merged here" notice).

    Checked rather than trusted so a hand-made `?merged_from=` shows nothing; it tells no more
    than opening `merged_id` itself would.
    """
    try:
        found = await locate(session, actor=actor, kind=kind, listing_id=merged_id)
    except NotFound:
        return False
    return isinstance(found, MergedInto) and found.listing_id == listing_id


def _text_clause(model: type[Listing], kind: ListingKind, text: str) -> Any:
    """Every word of the query in the title, description, place, or a track or domain name (case-insensitive)."""
    fields = (col(model.title), col(model.description), col(model.place))
    track_link, domain_link = TRACK_LINKS[kind], DOMAIN_LINKS[kind]
    clauses = []
    for word in text.split()[:10]:
        pattern = _like_pattern(word)
        tracks = (
            select(track_link.listing_id)
            .join(Track, Track.code == track_link.track_code)
            .where(col(Track.name).ilike(pattern, escape="\\"))
        )
        domains = (
            select(domain_link.listing_id)
            .join(Domain, Domain.code == domain_link.domain_code)
            .where(col(Domain.name).ilike(pattern, escape="\\"))
        )
        clauses.append(
            or_(*(f.ilike(pattern, escape="\\") for f in fields), col(model.id).in_(tracks), col(model.id).in_(domains))
        )
    return and_(*clauses)


def _like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def build_list_query(
    *,
    actor: Actor,
    kind: ListingKind,
    statuses: Sequence[ListingStatus] = (),
    organisation_id: int | None = None,
    track: str | None = None,
    domain: str | None = None,
    region: str | None = None,
    batch: int | None = None,
    mine: bool = False,
    text: str | None = None,
    budget: BudgetRange | None = None,
    deadline: DeadlineWindow | None = None,
) -> Any:
    """The listings the actor may see, filtered; None when the filter can match nothing."""
    model = LISTING_MODELS[kind]
    query = select(model)
    visible = _visible_clause(model, actor)
    if visible is not None:
        query = query.where(visible)
    if mine:
        if actor.organisation_id is None:
            return None
        query = query.where(model.organisation_id == actor.organisation_id)
    if statuses:
        query = query.where(col(model.status).in_(list(statuses)))
    if organisation_id is not None:
        query = query.where(model.organisation_id == organisation_id)
    if track:
        link = TRACK_LINKS[kind]
        query = query.where(col(model.id).in_(select(link.listing_id).where(link.track_code == track)))
    if domain:
        link = DOMAIN_LINKS[kind]
        query = query.where(col(model.id).in_(select(link.listing_id).where(link.domain_code == domain)))
    if region:
        # A city includes its counties; the province (江西省) means the province-level listings only,
        # not every city's (those are the whole list).
        children = select(Region.code).where(Region.parent_code == region, Region.level == "county")
        query = query.where(or_(model.region_code == region, col(model.region_code).in_(children)))
    if batch is not None:
        # Batch membership is public only once the batch is published (staff see it while it is assembled).
        batches = select(Batch.id).where(Batch.number == batch)
        if not actor.is_staff:
            batches = batches.where(col(Batch.published_at).is_not(None))
        query = query.where(col(model.batch_id).in_(batches))
    if text and text.strip():
        query = query.where(_text_clause(model, kind, text))
    if budget is not None:
        if model is not Opportunity:
            return None  # offerings carry no budget
        query = query.where(_budget_clause(budget))
    if deadline is not None:
        if model is not Opportunity:
            # Offerings have no deadline: only "still open" (undated included) keeps them.
            return query if deadline.undated and deadline.end is None else None
        query = query.where(_deadline_clause(deadline))
    return query


# "maturity" order: 成熟产品 first (the enum runs from 概念方案 up), as the search engine ranks it.
MATURITY_RANKS = {m.value: rank for rank, m in enumerate(Maturity, start=1)}

# Above any budget (万元): the upper bound of a budget that has none.
_NO_BUDGET_MAX = Decimal(10) ** 12


def _budget_clause(budget: BudgetRange) -> Any:
    """`search.engine.budget_matches` in SQL: with lo = min or 0 and hi = max or ∞, a listing
    with a budget matches [start, end) when lo < end and (hi > start or lo >= start)."""
    low = func.coalesce(Opportunity.budget_min, 0)
    high = func.coalesce(Opportunity.budget_max, _NO_BUDGET_MAX)
    clauses = [or_(col(Opportunity.budget_min).is_not(None), col(Opportunity.budget_max).is_not(None))]
    if budget.end is not None:
        clauses.append(low < budget.end)
    if budget.start is not None:
        clauses.append(or_(high > budget.start, low >= budget.start))
    return and_(*clauses)


def _deadline_clause(window: DeadlineWindow) -> Any:
    dated = [col(Opportunity.deadline).is_not(None)]
    if window.start is not None:
        dated.append(col(Opportunity.deadline) >= window.start)
    if window.end is not None:
        dated.append(col(Opportunity.deadline) <= window.end)
    return or_(and_(*dated), col(Opportunity.deadline).is_(None)) if window.undated else and_(*dated)


async def list_listings(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: ListingKind,
    page: PageParams,
    statuses: Sequence[ListingStatus] = (),
    organisation_id: int | None = None,
    track: str | None = None,
    domain: str | None = None,
    region: str | None = None,
    batch: int | None = None,
    mine: bool = False,
    sort: str = "newest",
    text: str | None = None,
    budget: BudgetRange | None = None,
    deadline: DeadlineWindow | None = None,
    known_total: int | None = None,
) -> tuple[list[Listing], int]:
    """One page of listings and how many match; `known_total` (a count the caller kept, see
    web/pages/listings/query.py) saves counting them again."""
    query = build_list_query(
        actor=actor,
        kind=kind,
        statuses=statuses,
        organisation_id=organisation_id,
        track=track,
        domain=domain,
        region=region,
        batch=batch,
        mine=mine,
        text=text,
        budget=budget,
        deadline=deadline,
    )
    if query is None:
        return [], 0
    total = (
        known_total
        if known_total is not None
        else (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    )
    rows = await session.exec(query.order_by(*list_order(kind, sort, text)).offset(page.offset).limit(page.page_size))
    return list(rows.all()), total


def list_order(kind: ListingKind, sort: str, text: str | None = None) -> list[Any]:
    """The ORDER BY of a browsed list (the list pages, the list API and the exports share it)."""
    model = LISTING_MODELS[kind]
    newest = [func.coalesce(model.published_at, model.created_at).desc(), col(model.id).desc()]
    if sort == "deadline" and model is Opportunity:
        return [col(Opportunity.deadline).asc().nulls_last(), col(model.id).desc()]
    if sort == "updated":
        return [col(model.modified_at).desc(), col(model.id).desc()]
    if sort == "maturity" and model is Offering:
        # 成熟产品 first, down to 概念方案; offerings that state none last; newest first within one.
        ranks = case(*((col(Offering.maturity) == value, rank) for value, rank in MATURITY_RANKS.items()), else_=0)
        return [ranks.desc(), *newest]
    if sort == "relevance" and text and text.strip():
        # Without the search engine, relevance is only "the title matches every word" first.
        in_title = and_(*(col(model.title).ilike(_like_pattern(w), escape="\\") for w in text.split()[:10]))
        return [case((in_title, 0), else_=1), *newest]
    return newest


async def _author_organisation(session: AsyncSession, actor: Actor, kind: ListingKind, requested: int | None) -> int:
    require_signed_in(actor)
    if actor.is_staff:
        if requested is None:
            raise Unprocessable("代为填报时请选择发布单位", field="organisation_id")
        organisation_id = requested
    else:
        if actor.role != _AUTHOR_ROLE[kind]:
            raise Forbidden(f"当前账号不能发布{KIND_LABELS[kind]}清单")
        if requested is not None and requested != actor.organisation_id:
            raise Forbidden("只能以本组织名义发布")
        if actor.organisation_id is None:
            raise Forbidden("账号未关联组织")
        organisation_id = actor.organisation_id
    organisation = await session.get(Organisation, organisation_id)
    # A pending organisation (registration awaiting approval) may keep drafts; submitting is refused.
    if organisation is None or organisation.status not in (OrganisationStatus.active, OrganisationStatus.pending):
        raise Unprocessable("发布单位不存在或已撤销", field="organisation_id")
    if organisation.kind not in _AUTHOR_ORGANISATION_KINDS[kind]:
        raise Unprocessable(f"该类型的组织不能发布{KIND_LABELS[kind]}清单", field="organisation_id")
    return organisation_id


def place_to_region(place: str) -> str | None:
    """The region code for a place as written ("江西省新余市" → 新余); None outside the province."""
    if not place.strip():
        return None
    return resolve_region(place, load_taxonomy()["regions"]).code


async def _apply_classification(
    session: AsyncSession, kind: ListingKind, listing_id: int, *, tracks: list[str] | None, domains: list[str] | None
) -> None:
    if tracks is not None:
        link = TRACK_LINKS[kind]
        await session.exec(delete(link).where(link.listing_id == listing_id))  # type: ignore[call-overload]
        for code in dict.fromkeys(tracks):
            session.add(link(listing_id=listing_id, track_code=code))
    if domains is not None:
        link = DOMAIN_LINKS[kind]
        await session.exec(delete(link).where(link.listing_id == listing_id))  # type: ignore[call-overload]
        for code in dict.fromkeys(domains):
            session.add(link(listing_id=listing_id, domain_code=code))
    await session.flush()


async def create(session: AsyncSession, *, actor: Actor, kind: ListingKind, data: ListingCreate) -> Listing:
    """Create a draft in the author's organisation (staff may author for any organisation)."""
    organisation_id = await _author_organisation(session, actor, kind, data.organisation_id)
    await taxonomy_service.check_codes(session, tracks=data.tracks, domains=data.domains)
    fields = data.model_dump(exclude={"organisation_id", "tracks", "domains"})
    if fields["region_code"] is None:
        fields["region_code"] = place_to_region(fields["place"])
    else:
        await taxonomy_service.check_region(session, fields["region_code"])
    fields["tags"] = list(dict.fromkeys(fields["tags"]))
    listing = LISTING_MODELS[kind](**fields, organisation_id=organisation_id, created_by_id=actor.user_id)
    session.add(listing)
    await session.flush()
    await _apply_classification(session, kind, listing.id, tracks=data.tracks, domains=data.domains)
    await record_listing_change(session, kind=kind, listing_id=listing.id)
    await audit.record(
        session, actor=actor, entity_kind=kind.value, entity_id=listing.id, action="created", to_state=listing.status
    )
    return listing


async def update(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, data: ListingUpdate
) -> Listing:
    """Change a listing: its organisation while it is a draft, staff at any stage."""
    listing = await session.get(LISTING_MODELS[kind], listing_id)
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    check_can_edit(actor, kind, listing)
    changes = data.model_dump(exclude_unset=True)
    for required in ("title",):
        if required in changes and changes[required] is None:
            raise Unprocessable("标题不能为空", field=required)
    tracks, domains = changes.pop("tracks", None), changes.pop("domains", None)
    await taxonomy_service.check_codes(session, tracks=tracks or [], domains=domains or [])
    if changes.get("region_code") is not None:
        await taxonomy_service.check_region(session, changes["region_code"])
    elif "place" in changes and "region_code" not in changes:
        changes["region_code"] = place_to_region(changes["place"] or "")
    if isinstance(listing, Opportunity):
        low = changes.get("budget_min", listing.budget_min)
        high = changes.get("budget_max", listing.budget_max)
        if low is not None and high is not None and low > high:
            raise Unprocessable("预算下限不能高于上限", field="budget_min")
    nullable = {"region_code", "budget_min", "budget_max", "deadline", "maturity"}
    for key, value in changes.items():
        if value is None and key not in nullable:
            value = [] if key == "tags" else ""
        setattr(listing, key, value)
    listing.modified_at = utcnow()
    session.add(listing)
    await session.flush()
    await _apply_classification(session, kind, listing.id, tracks=tracks, domains=domains)
    await record_listing_change(session, kind=kind, listing_id=listing.id)
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=listing.id,
        action="edited",
        note="、".join(sorted(changes)),
    )
    return listing


async def _transition(
    session: AsyncSession,
    listing: Listing,
    kind: ListingKind,
    *,
    actor: Actor,
    allowed_from: set[ListingStatus],
    to: ListingStatus,
    message: str,
    note: str = "",
) -> Listing:
    if listing.status not in allowed_from:
        raise Conflict(message, field="status")
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=listing.id,
        action=f"status:{to.value}",
        from_state=listing.status,
        to_state=to.value,
        note=note,
    )
    listing.status = to
    listing.modified_at = utcnow()
    session.add(listing)
    await session.flush()
    await record_listing_change(session, kind=kind, listing_id=listing.id)
    return listing


async def _get_for_owner_or_staff(session: AsyncSession, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    require_signed_in(actor)
    listing = await session.get(LISTING_MODELS[kind], listing_id)
    if listing is None or not can_see_private_fields(actor, listing):
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    return listing


async def submit(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    """The organisation sends its draft to the matchmakers for review (once its registration is approved)."""
    listing = await _get_for_owner_or_staff(session, actor, kind, listing_id)
    await organisation_service.require_approved(session, actor)
    if not listing.description.strip():
        raise Unprocessable("提交审核前请填写描述", field="description")
    return await _transition(
        session,
        listing,
        kind,
        actor=actor,
        allowed_from={ListingStatus.draft},
        to=ListingStatus.pending_review,
        message="只有草稿可以提交审核",
    )


async def publish(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, batch_number: int | None
) -> Listing:
    """A matchmaker publishes a reviewed listing, optionally into a numbered batch."""
    require_staff(actor, "只有撮合专员可以发布")
    listing = await session.get(LISTING_MODELS[kind], listing_id)
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    if isinstance(listing, Opportunity) and listing.deadline is not None and listing.deadline < date.today():
        raise Unprocessable("截止日期已过，不能发布", field="deadline")
    if batch_number is not None:
        listing.batch_id = (await taxonomy_service.get_or_create_batch(session, number=batch_number)).id
    listing.published_at = listing.published_at or utcnow()
    listing.review_note = ""
    listing = await _transition(
        session,
        listing,
        kind,
        actor=actor,
        allowed_from={ListingStatus.draft, ListingStatus.pending_review},
        to=ListingStatus.published,
        message="只有草稿或待审核的内容可以发布",
    )
    if isinstance(listing, Opportunity):
        await hooks.run_opportunity_published(session, listing)
    await hooks.run_listing_reviewed(
        session, listing, kind, "published", str(batch_number) if batch_number is not None else ""
    )
    return listing


async def send_back(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int, reason: str) -> Listing:
    """A matchmaker returns a submission to its organisation with a reason."""
    require_staff(actor, "只有撮合专员可以退回")
    listing = await session.get(LISTING_MODELS[kind], listing_id)
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]}不存在")
    listing.review_note = reason
    listing = await _transition(
        session,
        listing,
        kind,
        actor=actor,
        allowed_from={ListingStatus.pending_review},
        to=ListingStatus.draft,
        message="只有待审核的内容可以退回",
        note=reason,
    )
    await hooks.run_listing_reviewed(session, listing, kind, "sent_back", reason)
    return listing


async def finish(session: AsyncSession, *, actor: Actor, kind: ListingKind, listing_id: int) -> Listing:
    """Close an opportunity or withdraw an offering (its organisation or staff)."""
    listing = await _get_for_owner_or_staff(session, actor, kind, listing_id)
    final = _FINAL_STATUS[kind]
    if kind == ListingKind.opportunity:
        allowed = {ListingStatus.published}
        message = "只有已发布的机会可以截止"
        listing.closed_at = utcnow()  # type: ignore[union-attr]
    else:
        allowed = {ListingStatus.draft, ListingStatus.pending_review, ListingStatus.published}
        message = "该产品已撤回"
        listing.withdrawn_at = utcnow()  # type: ignore[union-attr]
    return await _transition(session, listing, kind, actor=actor, allowed_from=allowed, to=final, message=message)


async def load_classification(
    session: AsyncSession, kind: ListingKind, listing_ids: Sequence[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Track and domain codes for a page of listings, in one query."""
    tracks: dict[int, list[str]] = {i: [] for i in listing_ids}
    domains: dict[int, list[str]] = {i: [] for i in listing_ids}
    if not listing_ids:
        return tracks, domains
    track_link, domain_link = TRACK_LINKS[kind], DOMAIN_LINKS[kind]
    ids = list(listing_ids)
    both = union_all(
        select(literal("t").label("which"), track_link.listing_id, track_link.track_code.label("code")).where(
            col(track_link.listing_id).in_(ids)
        ),
        select(literal("d").label("which"), domain_link.listing_id, domain_link.domain_code.label("code")).where(
            col(domain_link.listing_id).in_(ids)
        ),
    )
    # Link rows come back in insertion order within each table, as the forms list them.
    for which, listing_id, code in (await session.exec(both)).all():
        (tracks if which == "t" else domains)[listing_id].append(code)
    return tracks, domains


@organisation_service.renamed.register
async def _queue_under_the_new_name(session: AsyncSession, organisation_id: int) -> None:
    """Every listing of a renamed organisation goes to the index again (it holds the name), and
    visitors' kept views of them are dropped (backend/listings/public_cache.py)."""
    for kind, model in LISTING_MODELS.items():
        ids = (await session.exec(select(model.id).where(model.organisation_id == organisation_id))).all()
        await record_listing_changes(session, kind=kind.value, listing_ids=[i for i in ids if i is not None])
