"""Ranked matches for a listing, with their reasons in Chinese (the listing pages and the matchmakers' desk)."""

from dataclasses import dataclass, field

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.kit.params import MAX_ID, whole_number
from backend.listings.models import ListingKind
from backend.listings.presenter import present
from web.kit.urls import url_to

# What a matchmaker sees after acting on a suggestion (the list page and the listing page alike).
MATCH_NOTICES = {
    "accepted": "已采纳，已创建“推荐”阶段的对接。",
    "dismissed": "已忽略，该推荐不会再出现。",
    "restored": "已撤销忽略，该推荐会重新出现。",
}


@dataclass
class MatchNotice:
    text: str
    # The opportunity acted on (the desk shows the notice beside it) and, after a dismissal, the
    # pair, so that the notice can offer 撤销忽略.
    opportunity_id: int | None = None
    undo: tuple[int, int] | None = None


def match_notice(request: Request) -> MatchNotice | None:
    """The notice for `?done=…` after a match decision, with the pair to restore after a dismissal."""
    done = request.query_params.get("done", "")
    if done not in MATCH_NOTICES:
        return None
    pair = (
        whole_number(request.query_params.get("opportunity_id"), 1, MAX_ID),
        whole_number(request.query_params.get("offering_id"), 1, MAX_ID),
    )
    undo = (pair[0], pair[1]) if done == "dismissed" and pair[0] is not None and pair[1] is not None else None
    return MatchNotice(MATCH_NOTICES[done], pair[0], undo)


@dataclass
class MatchView:
    title: str
    url: str
    organisation: str
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    kind: str = ""
    listing_id: int = 0
    organisation_id: int = 0
    accepted: bool = False


async def find_matches(
    request: Request, session: AsyncSession, actor: Actor, kind: ListingKind, listing_id: int
) -> list[MatchView] | None:
    """Ranked matches for a listing with their reasons in Chinese; None when the engine is down."""
    from backend.kit.errors import ServiceUnavailable
    from backend.searching import service as searching

    try:
        rows = await searching.matches_for(
            session, request.app.state.search_engine, actor=actor, kind=kind, listing_id=listing_id, limit=10
        )
    except ServiceUnavailable:
        return None
    organisations = {
        item.id: item.organisation.name
        for target in {r.kind for r in rows}
        for item in await present(
            session, actor=actor, kind=target, listings=[r.listing for r in rows if r.kind == target]
        )
    }
    views = []
    for row in rows:
        reasons = []
        if row.shared_tracks:
            reasons.append("同属赛道：" + "、".join(row.shared_tracks))
        if row.shared_domains:
            reasons.append("同一场景领域：" + "、".join(row.shared_domains))
        if row.matched_terms:
            reasons.append("关键词：" + "、".join(row.matched_terms[:6]))
        if row.same_region:
            reasons.append("同一地区")
        for mine, theirs in row.similar_sentences:
            reasons.append(f"语义相近：“{mine}”与“{theirs}”")
        if row.accepted:
            reasons.append("撮合专员已采纳")
        views.append(
            MatchView(
                title=row.listing.title,
                url=url_to(request, f"listings:{row.kind.value}_detail", listing_id=row.listing.id),
                organisation=organisations.get(row.listing.id, ""),
                score=round(row.score, 2),
                reasons=reasons,
                kind=row.kind.value,
                listing_id=row.listing.id,
                organisation_id=row.listing.organisation_id,
                accepted=row.accepted,
            )
        )
    return views
