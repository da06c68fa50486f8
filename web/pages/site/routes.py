"""The site's own pages: 使用帮助, 联系我们, 隐私声明, and /robots.txt and /sitemap.xml for crawlers.

Who runs the site (主办/承办单位), the contact details and the record numbers are settings
(backend/settings.py), so each deployment states its own and nothing is invented here.
"""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from backend.dependencies import SessionDep
from backend.opendata.sitemap import robots_txt, sitemap_xml
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

_CRAWLER_CACHE = {"Cache-Control": "public, max-age=3600"}


def _has_route(request: Request, name: str) -> bool:
    # Registration is a separate feature; the help page links to it once the route exists.
    return any(getattr(route, "name", None) == name for route in request.app.router.routes)


@router.get("/help", name="site:help")
async def help_page(request: Request) -> Response:
    return render(request, "site/help.html", {"can_register": _has_route(request, "account:register")})


@router.get("/contact", name="site:contact")
async def contact_page(request: Request) -> Response:
    return render(request, "site/contact.html")


@router.get("/privacy", name="site:privacy")
async def privacy_page(request: Request) -> Response:
    return render(request, "site/privacy.html")


@router.get("/robots.txt", name="site:robots")
async def robots(request: Request) -> Response:
    return PlainTextResponse(robots_txt(request.app.state.settings.site_url), headers=_CRAWLER_CACHE)


@router.get("/sitemap.xml", name="site:sitemap")
async def sitemap(request: Request, session: SessionDep) -> Response:
    names = (
        "listings:home",
        "listings:opportunity_list",
        "listings:offering_list",
        "batches:batch_list",
        "events:event_list",
        "statistics:statistics_page",
        "demonstration:progress_page",
        "opendata:opendata_page",
        "site:help",
        "site:contact",
        "site:privacy",
    )
    pages = [url_to(request, name) for name in names]
    body = await sitemap_xml(session, site_url=request.app.state.settings.site_url, pages=pages)
    return Response(body, media_type="application/xml; charset=utf-8", headers=_CRAWLER_CACHE)
