"""/opportunities/similar (issuers typing a new opportunity) and /duplicates (matchmakers)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from backend.dependencies import ActorDep, SessionDep
from backend.duplicates import service
from backend.duplicates.schemas import (
    DismissalPublic,
    DismissRequest,
    DuplicatePairPublic,
    Kind,
    ListingRef,
    MergeRequest,
    MergeResult,
    SimilarityPublic,
    SimilarListing,
)
from backend.duplicates.similarity import Similarity
from backend.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from backend.listings.models import ListingKind
from backend.listings.service import Listing

# Registered before the listings router: `/opportunities/similar` must not be read as an id.
similar_router = APIRouter(prefix="/opportunities", tags=["疑似重复"])
router = APIRouter(prefix="/duplicates", tags=["疑似重复"])


def ref(listing: Listing, kind: ListingKind, labels: service.Labels) -> ListingRef:
    return ListingRef(
        id=listing.id,
        kind=kind.value,
        title=listing.title,
        organisation=labels.organisation(listing),
        status=listing.status,
        batch=labels.batch(listing),
        merged_into_id=listing.merged_into_id,
    )


def similarity_public(value: Similarity) -> SimilarityPublic:
    return SimilarityPublic(
        score=value.score,
        text=value.text,
        title=value.title,
        tracks=value.tracks,
        region=value.region,
        shared_words=value.shared_words,
        likely_duplicate=value.likely_duplicate,
    )


@similar_router.get(
    "/similar",
    response_model=list[SimilarListing],
    responses=error_responses(Unauthorized, Forbidden, Unprocessable, ServiceUnavailable),
)
async def similar_opportunities(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    title: Annotated[str, Query(max_length=200, description="正在填写的标题")] = "",
    description: Annotated[str, Query(max_length=5000, description="正在填写的描述")] = "",
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[SimilarListing]:
    """Existing opportunities of any department that resemble a new one being written, most similar first."""
    rows = await service.similar_to_draft(
        session, request.app.state.search_engine, actor=actor, title=title, description=description, limit=limit
    )
    labels = await service.labels(session, [r.listing for r in rows])
    return [
        SimilarListing(listing=ref(r.listing, r.kind, labels), similarity=similarity_public(r.similarity)) for r in rows
    ]


@router.get(
    "",
    response_model=list[DuplicatePairPublic],
    responses=error_responses(Unauthorized, Forbidden, ServiceUnavailable),
)
async def likely_duplicates(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    kind: Kind = "opportunity",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DuplicatePairPublic]:
    """Likely duplicate pairs across departments and batches (matchmakers), most similar first."""
    listing_kind = ListingKind(kind)
    pairs = await service.likely_pairs(
        session, request.app.state.search_engine, actor=actor, kind=listing_kind, limit=limit
    )
    labels = await service.labels(session, [listing for p in pairs for listing in (p.first, p.second)])
    return [
        DuplicatePairPublic(
            first=ref(p.first, listing_kind, labels),
            second=ref(p.second, listing_kind, labels),
            similarity=similarity_public(p.similarity),
        )
        for p in pairs
    ]


@router.post(
    "/merge",
    response_model=MergeResult,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def merge_duplicates(data: MergeRequest, session: SessionDep, actor: ActorDep) -> MergeResult:
    """合并: B is closed (or withdrawn) as "已合并到 #A" and A gains B's tags, tracks and domains."""
    kind = ListingKind(data.kind)
    kept, merged = await service.merge(session, actor=actor, kind=kind, keep_id=data.keep_id, merge_id=data.merge_id)
    labels = await service.labels(session, [kept, merged])
    return MergeResult(kept=ref(kept, kind, labels), merged=ref(merged, kind, labels))


@router.post(
    "/dismiss",
    response_model=DismissalPublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Unprocessable),
)
async def dismiss_pair(data: DismissRequest, session: SessionDep, actor: ActorDep) -> DismissalPublic:
    """不是重复: the pair is never listed again."""
    dismissal = await service.dismiss(
        session,
        actor=actor,
        kind=ListingKind(data.kind),
        first_id=data.first_id,
        second_id=data.second_id,
        reason=data.reason,
    )
    return DismissalPublic.model_validate(dismissal)
