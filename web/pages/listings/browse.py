"""Public pages: home, the two lists with search and facets, and the detail pages."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import ANONYMOUS
from backend.dependencies import ActorDep, SessionDep
from backend.kit.pagination import PageParams
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings import attachments, service
from backend.listings.labels import FACET_LABELS
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.listings.public_cache import PublicListings, looked_stamp
from backend.organisations import service as organisation_service
from web.kit.matches import find_matches, match_notice
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import KIND_NAMES, KIND_SLUGS
from web.pages.listings.extras import listing_extras
from web.pages.listings.query import (
    KIND_SORTS,
    RANGE_CHOICES,
    RANGE_FILTERS,
    RANGE_LABELS,
    SORTS,
    ListingParams,
    find_listings,
)

router = APIRouter()


async def _newest(session: SessionDep, kind: ListingKind, count: int) -> tuple[list, int]:
    # The home page shows what any visitor sees, whoever is signed in.
    rows, total = await service.list_listings(
        session,
        actor=ANONYMOUS,
        kind=kind,
        page=PageParams(page=1, page_size=count),
        statuses=(ListingStatus.published,),
    )
    return await present(session, actor=ANONYMOUS, kind=kind, listings=rows), total


@router.get("/", name="listings:home")
async def home(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    opportunities, opportunity_total = await _newest(session, ListingKind.opportunity, 6)
    offerings, offering_total = await _newest(session, ListingKind.offering, 6)
    _, organisation_total = await organisation_service.list_organisations(
        session, actor=ANONYMOUS, page=PageParams(page=1, page_size=1)
    )
    counts = {"opportunities": opportunity_total, "offerings": offering_total, "organisations": organisation_total}
    return render(
        request, "listings/home.html", {"opportunities": opportunities, "offerings": offerings, "counts": counts}
    )


def _list_route(kind: ListingKind) -> None:
    slug = KIND_SLUGS[kind]

    @router.get(f"/{slug}", name=f"listings:{kind}_list")
    async def list_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
        params = ListingParams.from_request(request, kind)
        results = await find_listings(request, session, actor, kind, params)
        context = {
            "kind": kind.value,
            "slug": slug,
            "kind_name": KIND_NAMES[kind],
            "params": params,
            "query_values": params.as_query(),
            "results": results,
            "facet_labels": {**FACET_LABELS, **RANGE_LABELS},
            "sorts": {k: SORTS[k] for k in KIND_SORTS[kind]},
            # Budget and deadline: fixed choices, on the opportunity list only (offerings have neither).
            "range_choices": {f: RANGE_CHOICES[f] for f in RANGE_FILTERS} if kind == ListingKind.opportunity else {},
        }
        return render(request, "listings/list.html", context, status=503 if results.unavailable else 200)

    @router.get(f"/{slug}/{{listing_id}}", name=f"listings:{kind}_detail")
    async def detail_page(listing_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> Response:
        found = await service.locate(session, actor=actor, kind=kind, listing_id=listing_id)
        if isinstance(found, service.MergedInto):
            # 301: a merge is never undone, and search engines carry an old address over to the
            # new one only on a permanent redirect. no-store, because browsers otherwise keep a
            # 301 for good, while the answer depends on who asks (the owner still sees B itself).
            return RedirectResponse(
                url_to(request, f"listings:{kind}_detail", listing_id=found.listing_id) + f"?merged_from={listing_id}",
                status_code=301,
                headers={"Cache-Control": "no-store"},
            )
        listing = found
        # Anything but an id (text, 0, too large) is ignored, not an error.
        merged_from = whole_number(request.query_params.get("merged_from"), 1, MAX_ID)
        if merged_from is not None and not await service.was_merged_into(
            session, actor=actor, kind=kind, merged_id=merged_from, listing_id=listing.id
        ):
            merged_from = None
        if actor.is_authenticated:
            item = (await present(session, actor=actor, kind=kind, listings=[listing]))[0]
        else:
            # What every visitor sees of it, kept by the process while it stays as it was.
            kept: PublicListings = request.app.state.public_listings
            await kept.follow(session, looked_stamp(request))
            (item,) = await kept.present(session, kind=kind, rows=[listing])
        # Suggestions are working material for the listing's own organisation and the matchmakers.
        show_matches = service.can_see_private_fields(actor, listing)
        matches = await find_matches(request, session, actor, kind, listing.id) if show_matches else None
        organisation = await organisation_service.get(session, organisation_id=listing.organisation_id)
        context = {
            "kind": kind.value,
            "slug": slug,
            "kind_name": KIND_NAMES[kind],
            "item": item,
            "organisation": organisation,
            "show_matches": show_matches,
            "matches": matches,
            "match_notice": match_notice(request) if show_matches else None,
            "merged_from": merged_from,
            "attachments": await attachments.list_presented(session, kind=kind, listing_id=listing.id),
            **await listing_extras(request, session, actor, kind, listing),
        }
        return render(request, f"listings/{kind.value}.html", context)


_list_route(ListingKind.opportunity)
_list_route(ListingKind.offering)
