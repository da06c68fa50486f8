from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized, error_responses
from backend.kit.params import DbId, IdPath
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present_mixed
from backend.listings.public_cache import looked_stamp
from backend.listings.ranges import (
    BudgetFromQuery,
    BudgetToQuery,
    DeadlineFromQuery,
    DeadlineToQuery,
    OpenQuery,
    range_filters,
)
from backend.listings.schemas import OfferingPublic, OpportunityPublic
from backend.searching import service
from backend.searching.models import MatchVerdict
from search import SearchEngine

router = APIRouter(tags=["搜索与匹配"])


def _engine(request: Request) -> SearchEngine:
    return request.app.state.search_engine


class FacetValuePublic(BaseModel):
    value: str = Field(description="筛选时使用的值（赛道/领域代码、地区代码）")
    label: str
    count: int


class SearchHitPublic(BaseModel):
    id: int
    kind: Literal["opportunity", "offering"]
    title: str
    title_html: str = Field(description="标题，匹配词以 <mark> 标出，其余已转义")
    snippet: str = Field(description="摘要，匹配词以 <mark> 标出，其余已转义")
    score: float
    matched_terms: list[str]
    listing: OpportunityPublic | OfferingPublic


class SearchResponse(BaseModel):
    hits: list[SearchHitPublic]
    total: int
    page: int
    page_size: int
    facets: dict[str, list[FacetValuePublic]]
    took_ms: float


async def _present_rows(session: Any, actor: Any, rows: list[tuple[ListingKind, Any]]) -> dict[tuple[str, int], Any]:
    return {(item.kind, item.id): item for item in await present_mixed(session, actor=actor, rows=rows)}


@router.get("/search", response_model=SearchResponse, responses=error_responses(ServiceUnavailable))
async def search_listings(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=200, description="关键词；留空按发布时间列出")] = "",
    kind: ListingKind | None = None,
    track: Annotated[list[str] | None, Query(description="赛道代码，可多选")] = None,
    domain: Annotated[list[str] | None, Query(description="场景领域代码，可多选")] = None,
    region: Annotated[list[str] | None, Query(description="设区市代码（含下辖县区），可多选")] = None,
    status: Annotated[
        list[ListingStatus] | None, Query(description="状态（仅撮合专员可用；其他人只看到已发布）")
    ] = None,
    batch: Annotated[int | None, Query(ge=1, le=10000)] = None,
    budget_from: BudgetFromQuery = None,
    budget_to: BudgetToQuery = None,
    deadline_from: DeadlineFromQuery = None,
    deadline_to: DeadlineToQuery = None,
    still_open: OpenQuery = False,
    sort: Annotated[
        Literal["relevance", "newest", "deadline", "updated", "maturity"],
        Query(
            description="排序：relevance 相关度，newest 最新发布，deadline 截止日期，updated 最近更新，maturity 成熟度"
        ),
    ] = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResponse:
    """Full-text search over both lists with facet counts for the current query."""
    params = service.SearchParams(
        q=q,
        kind=kind,
        tracks=track or [],
        domains=domain or [],
        regions=region or [],
        statuses=status or [],
        batch=batch,
        sort=sort,
        page=page,
        page_size=page_size,
        **range_filters(budget_from, budget_to, deadline_from, deadline_to, still_open),
    )
    # Visitors all see the same of a published listing: their hits come from the process's cache.
    cache = None if actor.is_authenticated else request.app.state.public_listings
    result = await service.search_presented(
        session, _engine(request), actor=actor, params=params, cache=cache, stamp=looked_stamp(request)
    )
    return SearchResponse(
        hits=[
            SearchHitPublic(
                id=h.listing.id,
                kind=h.kind.value,
                title=h.listing.title,
                title_html=h.title_html,
                snippet=h.snippet_html,
                score=h.score,
                matched_terms=h.matched_terms,
                listing=h.listing,
            )
            for h in result.hits
        ],
        total=result.total,
        page=page,
        page_size=page_size,
        facets={k: [FacetValuePublic(**vars(v)) for v in values] for k, values in result.facets.items()},
        took_ms=result.took_ms,
    )


class SimilarSentencesPublic(BaseModel):
    listing: str = Field(description="本清单中的句子")
    match: str = Field(description="推荐清单中语义最相近的句子")


class MatchReasonsPublic(BaseModel):
    matched_terms: list[str]
    shared_tracks: list[str]
    shared_domains: list[str]
    same_region: bool
    similar_sentences: list[SimilarSentencesPublic] = Field(
        default_factory=list, description="语义相近：主要因含义相近而推荐时，两条清单中最相近的句子"
    )


class MatchPublic(BaseModel):
    score: float
    reasons: MatchReasonsPublic
    accepted: bool = Field(description="撮合专员已采纳")
    listing: OpportunityPublic | OfferingPublic


def _match_route(kind: ListingKind) -> Any:
    async def list_matches(
        listing_id: IdPath,
        request: Request,
        session: SessionDep,
        actor: ActorDep,
        limit: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> list[MatchPublic]:
        rows = await service.matches_for(
            session, _engine(request), actor=actor, kind=kind, listing_id=listing_id, limit=limit
        )
        presented = await _present_rows(session, actor, [(r.kind, r.listing) for r in rows])
        return [
            MatchPublic(
                score=r.score,
                reasons=MatchReasonsPublic(
                    matched_terms=r.matched_terms,
                    shared_tracks=r.shared_tracks,
                    shared_domains=r.shared_domains,
                    same_region=r.same_region,
                    similar_sentences=[SimilarSentencesPublic(listing=a, match=b) for a, b in r.similar_sentences],
                ),
                accepted=r.accepted,
                listing=presented[(r.kind.value, r.listing.id)],
            )
            for r in rows
        ]

    return list_matches


_MATCH_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, ServiceUnavailable)
router.add_api_route(
    "/opportunities/{listing_id}/matches",
    _match_route(ListingKind.opportunity),
    methods=["GET"],
    response_model=list[MatchPublic],
    responses=_MATCH_ERRORS,
    summary="Offerings that suit this opportunity, best first, with reasons",
)
router.add_api_route(
    "/offerings/{listing_id}/matches",
    _match_route(ListingKind.offering),
    methods=["GET"],
    response_model=list[MatchPublic],
    responses=_MATCH_ERRORS,
    summary="Open opportunities this offering could answer, best first, with reasons",
)


class MatchDecisionRequest(BaseModel):
    opportunity_id: DbId
    offering_id: DbId
    verdict: MatchVerdict
    reason: str = Field(default="", max_length=2000)


class MatchDecisionPublic(BaseModel):
    opportunity_id: int
    offering_id: int
    verdict: MatchVerdict
    reason: str


@router.post(
    "/matches/decisions",
    response_model=MatchDecisionPublic,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def decide_match(data: MatchDecisionRequest, session: SessionDep, actor: ActorDep) -> MatchDecisionPublic:
    """Accept or dismiss a suggested pair; a dismissed pair is not suggested again."""
    decision = await service.decide(
        session,
        actor=actor,
        opportunity_id=data.opportunity_id,
        offering_id=data.offering_id,
        verdict=data.verdict,
        reason=data.reason,
    )
    return MatchDecisionPublic(
        opportunity_id=decision.opportunity_id,
        offering_id=decision.offering_id,
        verdict=MatchVerdict(decision.verdict),
        reason=decision.reason,
    )
