"""Install the website on the app: page routes, static files, security headers, HTML error pages."""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.dependencies import actor_for_error_page
from web import (
    account,
    answering,
    batch_pages,
    demonstration,
    duplicate_pages,
    events,
    inbox,
    interest_pages,
    judging,
    opendata_pages,
    pairing_board,
    public,
    review,
    statistics_pages,
    workspace,
)
from web.security import SecurityHeaders
from web.templating import render

STATIC_DIR = Path(__file__).parent / "static"


async def render_error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """Every non-API error as a Chinese page that keeps the site's navigation."""
    if status == 401:
        # A page that needs a login sends the visitor to sign in, then back.
        target = request.url.path if request.method == "GET" else request.headers.get("referer", "/")
        return RedirectResponse(account.login_url(target), status_code=303)
    # The request's session is closed by now: the navigation reads the copy of the actor made when it was resolved.
    request.state.actor = await actor_for_error_page(request)
    return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def install_web(app: FastAPI) -> None:
    """Mount the pages, static files and the HTML error renderer on the app."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        public,
        account,
        workspace,
        review,
        answering,
        judging,
        interest_pages,
        pairing_board,
        inbox,
        statistics_pages,
        opendata_pages,
        events,
        demonstration,
        batch_pages,
        duplicate_pages,
    ):
        # count_unread: the unread-notification count shown in every page's navigation.
        app.include_router(module.router, include_in_schema=False, dependencies=[Depends(inbox.count_unread)])
    app.state.render_error_page = render_error_page
    app.add_middleware(SecurityHeaders)
