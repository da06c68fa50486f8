"""Install the website on the app: page routes, static files, security headers, HTML error pages.

Layout (one rule for every page):
- `web/pages/<area>/` holds the routes of one backend domain (`backend/<area>/`); its templates are in
  `web/templates/<area>/`. An area that presents one thing has `routes.py`; an area that presents
  several aggregates has one module per aggregate, named for it (`events/registration.py`,
  `demonstration/zones.py` …), and `shared.py` for what they share.
- Every route is named `"<area>:<page>"`; templates build links with `url(...)` / `listing_url(...)`,
  Python with `web.kit.urls.url_to`.
- Page machinery (templating, csrf, security headers, forms, flow, charts, history wording) is in
  `web/kit/`. A page module imports `backend/` and `web/kit/`, never another area's page module.
"""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.dependencies import actor_for_error_page
from web.kit.security import SecurityHeaders
from web.kit.templating import compile_all, render
from web.kit.urls import url_to
from web.pages.account import passwords
from web.pages.account import registration as account_registration
from web.pages.account import routes as account
from web.pages.admin import desk as admin_desk
from web.pages.answers import judging, submission
from web.pages.batches import routes as batches
from web.pages.demonstration import enterprises, progress, projects, targets, zones
from web.pages.duplicates import routes as duplicates
from web.pages.events import events, meetings, outcomes, registration
from web.pages.inbox import routes as inbox
from web.pages.interests import routes as interests
from web.pages.listings import browse, workspace
from web.pages.listings import changes as listing_changes
from web.pages.opendata import routes as opendata
from web.pages.organisations import routes as organisations
from web.pages.pairings import routes as pairings
from web.pages.registrations import routes as registrations
from web.pages.results import routes as results
from web.pages.review import routes as review
from web.pages.site import routes as site
from web.pages.statistics import routes as statistics

STATIC_DIR = Path(__file__).parent.parent / "static"


async def render_error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """Every non-API error as a Chinese page that keeps the site's navigation."""
    if status == 401:
        # A page that needs a login sends the visitor to sign in, then back.
        target = (
            request.url.path
            if request.method == "GET"
            else request.headers.get("referer", url_to(request, "listings:home"))
        )
        return RedirectResponse(account.login_url(request, target), status_code=303)
    # The request's session is closed by now: the navigation reads a copy of who is signed in.
    request.state.actor = await actor_for_error_page(request)
    return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def install_web(app: FastAPI) -> None:
    """Mount the pages, static files and the HTML error renderer on the app."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        browse,
        account,
        account_registration,
        passwords,
        registrations,
        admin_desk,
        workspace,
        listing_changes,
        organisations,
        review,
        submission,
        judging,
        results,
        interests,
        pairings,
        inbox,
        statistics,
        opendata,
        events,
        registration,
        meetings,
        outcomes,
        progress,
        zones,
        projects,
        enterprises,
        targets,
        batches,
        duplicates,
        site,
    ):
        # count_unread: the unread-notification count shown in every page's navigation.
        app.include_router(module.router, include_in_schema=False, dependencies=[Depends(inbox.count_unread)])
    app.state.render_error_page = render_error_page
    app.state.build_at_start.append(compile_all)
    app.add_middleware(SecurityHeaders)
