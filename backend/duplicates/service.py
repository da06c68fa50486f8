"""Likely duplicates: what resembles a draft being typed, the pair list, merge and dismiss.

Candidates come from the search engine (a listing's key terms as a weighted OR query,
same kind, any status but withdrawn, itself excluded); each candidate is then scored
precisely in Python (`similarity.py`), so the engine only decides who is looked at, never
the score. Listings already merged into another one, and pairs a matchmaker marked
"不是重复", never come back.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from anyio import to_thread
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.auth.models import Role
from backend.duplicates.models import DuplicateDismissal
from backend.duplicates.similarity import LIKELY_DUPLICATE, WORTH_SHOWING, Profile, Similarity, profile, similarity
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from backend.listings.models import DOMAIN_LINKS, LISTING_MODELS, TRACK_LINKS, ListingKind, ListingStatus, Opportunity
from backend.listings.service import KIND_LABELS, Listing, load_classification
from backend.organisations.service import names_of as organisation_names_of
from backend.outbox.service import record_listing_change
from backend.searching.documents import build_documents, city_codes
from backend.taxonomy.models import Batch
from search import ListingDocument, SearchEngine, SearchQuery, SearchUnavailable, extract_key_terms

UNAVAILABLE = "搜索服务暂时不可用，暂时无法查找相似条目"
# Every status but withdrawn: a closed opportunity of an earlier batch is still worth knowing about.
CANDIDATE_STATUSES = [s.value for s in ListingStatus if s != ListingStatus.withdrawn]
SOURCE_STATUSES = (ListingStatus.published, ListingStatus.pending_review)
CANDIDATES_PER_SOURCE = 20
# The pair list looks from the newest listings backwards; a pair with an older listing is
# still found from its newer side, which is the side that would be built twice.
MAX_SOURCES = 300
FINAL_STATUS = {ListingKind.opportunity: ListingStatus.closed, ListingKind.offering: ListingStatus.withdrawn}


@dataclass
class SimilarRow:
    listing: Listing
    kind: ListingKind
    similarity: Similarity


@dataclass
class DuplicatePair:
    kind: ListingKind
    first: Listing
    second: Listing
    similarity: Similarity


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


async def _profiles(session: AsyncSession, kind: ListingKind, listings: Sequence[Listing]) -> dict[int, Profile]:
    tracks, _ = await load_classification(session, kind, [listing.id for listing in listings])
    cities = await city_codes(session)
    return {
        listing.id: profile(
            title=listing.title,
            description=listing.description,
            tracks=tracks[listing.id],
            region=cities.get(listing.region_code, listing.region_code) if listing.region_code else None,
        )
        for listing in listings
    }


def _search_candidates(
    engine: SearchEngine, docs: Sequence[ListingDocument], kind: ListingKind
) -> dict[str, list[int]]:
    """For each document, the ids of same-kind listings that share its key terms (runs in a worker thread)."""
    found: dict[str, list[int]] = {}
    for doc in docs:
        terms = extract_key_terms(doc, engine)
        if not terms:
            found[doc.id] = []
            continue
        query = SearchQuery(
            terms=terms,
            kind=kind.value,
            statuses=CANDIDATE_STATUSES,
            exclude_ids=[doc.id],
            page_size=CANDIDATES_PER_SOURCE,
            facets=False,
        )
        found[doc.id] = [hit.listing_id for hit in engine.search(query).hits]
    return found


async def _candidates(engine: SearchEngine, docs: Sequence[ListingDocument], kind: ListingKind) -> dict[str, list[int]]:
    try:
        return await to_thread.run_sync(_search_candidates, engine, list(docs), kind)
    except SearchUnavailable as exc:
        raise ServiceUnavailable(UNAVAILABLE) from exc


async def _load(session: AsyncSession, kind: ListingKind, ids: Sequence[int]) -> dict[int, Listing]:
    if not ids:
        return {}
    model = LISTING_MODELS[kind]
    rows = await session.exec(select(model).where(col(model.id).in_(list(set(ids)))))
    return {listing.id: listing for listing in rows.all()}


async def similar_to_draft(
    session: AsyncSession,
    engine: SearchEngine,
    *,
    actor: Actor,
    title: str,
    description: str = "",
    tracks: Sequence[str] = (),
    region_code: str | None = None,
    limit: int = 5,
) -> list[SimilarRow]:
    """Existing opportunities (any department) that resemble what an issuer is typing, most similar first.

    Issuers see published ones and their own organisation's; staff see any but withdrawn.
    """
    require_signed_in(actor)
    if not (actor.is_staff or actor.role == Role.issuer):
        raise Forbidden("只有出卷方和撮合专员可以查找相似机会")
    title, description = title.strip(), description.strip()
    if not title and not description:
        raise Unprocessable("请先填写标题或描述", field="title")
    kind = ListingKind.opportunity
    cities = await city_codes(session)
    region = cities.get(region_code, region_code) if region_code else None
    draft = ListingDocument(
        id=ListingDocument.make_id(kind.value, 0), kind=kind.value, listing_id=0, title=title, description=description
    )
    found = (await _candidates(engine, [draft], kind))[draft.id]
    rows = await _load(session, kind, found)
    visible = [
        row
        for row in rows.values()
        if row.merged_into_id is None
        and row.status != ListingStatus.withdrawn
        and (actor.is_staff or row.status == ListingStatus.published or actor.belongs_to(row.organisation_id))
    ]
    mine = profile(title=title, description=description, tracks=tracks, region=region)
    profiles = await _profiles(session, kind, visible)
    scored = [SimilarRow(row, kind, similarity(mine, profiles[row.id])) for row in visible]
    scored = [s for s in scored if s.similarity.score >= WORTH_SHOWING]
    scored.sort(key=lambda s: (-s.similarity.score, s.listing.id))
    return scored[:limit]


async def likely_pairs(
    session: AsyncSession,
    engine: SearchEngine,
    *,
    actor: Actor,
    kind: ListingKind = ListingKind.opportunity,
    limit: int = 100,
    threshold: float = LIKELY_DUPLICATE,
) -> list[DuplicatePair]:
    """Likely duplicate pairs across departments and batches, most similar first (staff only)."""
    require_staff(actor, "只有撮合专员可以查看疑似重复")
    model = LISTING_MODELS[kind]
    sources = list(
        (
            await session.exec(
                select(model)
                .where(col(model.status).in_(list(SOURCE_STATUSES)), col(model.merged_into_id).is_(None))
                .order_by(func.coalesce(model.published_at, model.created_at).desc(), col(model.id).desc())
                .limit(MAX_SOURCES)
            )
        ).all()
    )
    if not sources:
        return []
    docs = await build_documents(session, kind, sources)
    found = await _candidates(engine, docs, kind)
    by_source = {doc.id: doc.listing_id for doc in docs}
    wanted = {(by_source[doc_id], other) for doc_id, others in found.items() for other in others}
    listings = {s.id: s for s in sources}
    listings.update(await _load(session, kind, [other for _, other in wanted if other not in listings]))
    live = {
        i: row for i, row in listings.items() if row.merged_into_id is None and row.status != ListingStatus.withdrawn
    }
    dismissed = set(
        (
            await session.exec(
                select(DuplicateDismissal.first_id, DuplicateDismissal.second_id).where(
                    DuplicateDismissal.kind == kind.value
                )
            )
        ).all()
    )
    pairs = {_pair(a, b) for a, b in wanted if a != b and a in live and b in live} - dismissed
    profiles = await _profiles(session, kind, list(live.values()))
    out = []
    for first, second in pairs:
        score = similarity(profiles[first], profiles[second])
        if score.score >= threshold:
            out.append(DuplicatePair(kind, live[first], live[second], score))
    out.sort(key=lambda p: (-p.similarity.score, p.first.id, p.second.id))
    return out[:limit]


async def pair_similarity(session: AsyncSession, *, kind: ListingKind, first: Listing, second: Listing) -> Similarity:
    profiles = await _profiles(session, kind, [first, second])
    return similarity(profiles[first.id], profiles[second.id])


async def _get(session: AsyncSession, kind: ListingKind, listing_id: int) -> Listing:
    listing = await session.get(LISTING_MODELS[kind], listing_id)
    if listing is None:
        raise NotFound(f"{KIND_LABELS[kind]} #{listing_id} 不存在")
    return listing


async def merge(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, keep_id: int, merge_id: int
) -> tuple[Listing, Listing]:
    """Merge listing B (`merge_id`) into A (`keep_id`).

    B is closed (an opportunity) or withdrawn (an offering) with the note "已合并到 #A" and
    points to A; A gains B's tags, tracks and domains. Answers, interests and pairings of B
    stay where they are — B's page leads to A. Both get an audit entry and an outbox row.
    """
    require_staff(actor, "只有撮合专员可以合并重复条目")
    if keep_id == merge_id:
        raise Unprocessable("不能把条目合并到它自己", field="merge_id")
    keep = await _get(session, kind, keep_id)
    merged = await _get(session, kind, merge_id)
    if merged.merged_into_id is not None:
        raise Conflict(f"#{merge_id} 已经合并到 #{merged.merged_into_id}", field="merge_id")
    if keep.merged_into_id is not None:
        raise Conflict(f"#{keep_id} 已经合并到 #{keep.merged_into_id}，请合并到那一条", field="keep_id")
    if keep.status == ListingStatus.withdrawn:
        raise Conflict(f"#{keep_id} 已撤回，不能作为合并目标", field="keep_id")

    now = utcnow()
    tracks, domains = await load_classification(session, kind, [keep.id, merged.id])
    new_tracks = [t for t in tracks[merged.id] if t not in tracks[keep.id]]
    new_domains = [d for d in domains[merged.id] if d not in domains[keep.id]]
    new_tags = [t for t in merged.tags if t not in keep.tags]
    for code in new_tracks:
        session.add(TRACK_LINKS[kind](listing_id=keep.id, track_code=code))
    for code in new_domains:
        session.add(DOMAIN_LINKS[kind](listing_id=keep.id, domain_code=code))
    if new_tags:
        keep.tags = [*keep.tags, *new_tags]
    keep.modified_at = now
    session.add(keep)

    note = f"已合并到 #{keep.id}"
    final = FINAL_STATUS[kind]
    previous_status = merged.status
    merged.merged_into_id = keep.id
    merged.modified_at = now
    if merged.status != final:
        merged.status = final
        if isinstance(merged, Opportunity):
            merged.closed_at = now
        else:
            merged.withdrawn_at = now
    session.add(merged)
    await session.flush()

    if previous_status != final:
        await audit.record(
            session,
            actor=actor,
            entity_kind=kind.value,
            entity_id=merged.id,
            action=f"status:{final.value}",
            from_state=previous_status,
            to_state=final.value,
            note=note,
        )
    else:
        await audit.record(
            session, actor=actor, entity_kind=kind.value, entity_id=merged.id, action="merged_into", note=note
        )
    gained = [f"赛道 {len(new_tracks)} 个"] if new_tracks else []
    gained += [f"场景领域 {len(new_domains)} 个"] if new_domains else []
    gained += [f"标签 {len(new_tags)} 个"] if new_tags else []
    await audit.record(
        session,
        actor=actor,
        entity_kind=kind.value,
        entity_id=keep.id,
        action="merged",
        note=f"合并了重复条目 #{merged.id}“{merged.title}”" + (f"，新增{'、'.join(gained)}" if gained else ""),
    )
    await record_listing_change(session, kind=kind.value, listing_id=keep.id)
    await record_listing_change(session, kind=kind.value, listing_id=merged.id)
    return keep, merged


async def dismiss(
    session: AsyncSession, *, actor: Actor, kind: ListingKind, first_id: int, second_id: int, reason: str = ""
) -> DuplicateDismissal:
    """ "不是重复": the pair is never listed again. Dismissing twice is harmless."""
    require_staff(actor, "只有撮合专员可以处理疑似重复")
    if first_id == second_id:
        raise Unprocessable("请选择两个不同的条目", field="second_id")
    for listing_id in (first_id, second_id):
        await _get(session, kind, listing_id)
    low, high = _pair(first_id, second_id)
    existing = (
        await session.exec(
            select(DuplicateDismissal).where(
                DuplicateDismissal.kind == kind.value,
                DuplicateDismissal.first_id == low,
                DuplicateDismissal.second_id == high,
            )
        )
    ).first()
    if existing is not None:
        return existing
    dismissal = DuplicateDismissal(
        kind=kind.value, first_id=low, second_id=high, reason=reason, dismissed_by_id=actor.user_id
    )
    session.add(dismissal)
    await session.flush()
    return dismissal


async def is_dismissed(session: AsyncSession, *, kind: ListingKind, first_id: int, second_id: int) -> bool:
    low, high = _pair(first_id, second_id)
    query = select(DuplicateDismissal.id).where(
        DuplicateDismissal.kind == kind.value, DuplicateDismissal.first_id == low, DuplicateDismissal.second_id == high
    )
    return (await session.exec(query)).first() is not None


@dataclass
class Labels:
    """Organisation names and batch numbers for showing listings side by side."""

    organisations: dict[int, str]
    batches: dict[int, int]

    def organisation(self, listing: Listing) -> str:
        return self.organisations.get(listing.organisation_id, "")

    def batch(self, listing: Listing) -> int | None:
        return self.batches.get(listing.batch_id) if listing.batch_id else None


async def labels(session: AsyncSession, listings: Sequence[Listing]) -> Labels:
    organisation_ids = {listing.organisation_id for listing in listings}
    batch_ids = {listing.batch_id for listing in listings if listing.batch_id}
    organisations = await organisation_names_of(session, organisation_ids)
    batches = (
        dict((await session.exec(select(Batch.id, Batch.number).where(col(Batch.id).in_(batch_ids)))).all())
        if batch_ids
        else {}
    )
    return Labels(organisations, batches)
