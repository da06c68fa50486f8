"""开放数据: the published lists as CSV and JSON downloads, and the Atom feed of new items."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backend.dependencies import SessionDep
from backend.kit.db import utcnow
from backend.listings.models import ListingKind
from backend.opendata import feed
from backend.opendata.router import attachment
from backend.opendata.service import LIST_NAMES, LIST_SLUGS, OPEN_FIELDS, published_records, records_csv, records_json
from web.kit.templating import render

router = APIRouter()

# Open data may be cached briefly by proxies and readers; it is public by definition.
_PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}


def _base_url(request: Request) -> str:
    # SCENEMATCH_SITE_URL, never the request's Host header: a crafted Host would otherwise put
    # another site's address into the feed and the downloads that proxies and readers cache.
    return request.app.state.settings.site_url.rstrip("/")


@router.get("/opendata", name="opendata:opendata_page")
async def opendata_page(request: Request) -> Response:
    lists = [
        {"kind": kind.value, "slug": LIST_SLUGS[kind], "name": LIST_NAMES[kind], "fields": OPEN_FIELDS[kind]}
        for kind in ListingKind
    ]
    return render(request, "opendata/index.html", {"lists": lists, "feed_size": feed.FEED_SIZE})


@router.get("/docs", name="opendata:api_docs")
async def api_docs(request: Request) -> Response:
    """The interactive documentation of the open API (Swagger UI from this site's own static files)."""
    return render(request, "opendata/api_docs.html", {"openapi_url": request.app.openapi_url})


def _add_downloads(kind: ListingKind) -> None:
    slug = LIST_SLUGS[kind]

    @router.get(f"/opendata/{slug}.csv", name=f"opendata:{slug}_as_csv")
    async def as_csv(request: Request, session: SessionDep) -> Response:
        records = await published_records(session, kind=kind, base_url=_base_url(request))
        response = attachment(records_csv(kind, records), media_type="text/csv; charset=utf-8", filename=f"{slug}.csv")
        response.headers.update(_PUBLIC_CACHE)
        return response

    @router.get(f"/opendata/{slug}.json", name=f"opendata:{slug}_as_json")
    async def as_json(request: Request, session: SessionDep) -> Response:
        records = await published_records(session, kind=kind, base_url=_base_url(request))
        return JSONResponse(records_json(kind, records, generated_at=utcnow()), headers=_PUBLIC_CACHE)


for _kind in ListingKind:
    _add_downloads(_kind)


@router.get("/feed.atom", name="opendata:atom_feed")
async def atom_feed(request: Request, session: SessionDep) -> Response:
    entries = await feed.newest_entries(session)
    body = feed.render_atom(entries, base_url=_base_url(request))
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=_PUBLIC_CACHE)
