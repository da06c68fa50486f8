"""Page URLs built from route names, so that a path is written once: on its route.

Every page route is named `"<area>:<page>"` (the area is its folder under `web/pages/`).
Templates call `url("listings:opportunity_detail", listing_id=3)`; Python code calls
`url_to(request, "…", …)`. Both give a path (no scheme or host), so redirects stay local.
"""

from collections.abc import Iterator
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.routing import BaseRoute, NoMatchFound
from starlette.types import ASGIApp


def url_to(request: Request, name: str, /, **params: Any) -> str:
    """The path of the named route, with its path parameters filled in."""
    values = {k: str(v) for k, v in params.items()}
    return str(_route_named(request.app, name, values).url_path_for(name, **values))


def _route_named(app: ASGIApp, name: str, params: dict[str, str]) -> Any:
    """The route that builds `name`'s path, found once per app, name and parameter names.

    `app.url_path_for` tries every route of every included router in turn, each refusal an
    exception: that was 40 % of a list page's CPU time (some 60 links per page)."""
    state = app.state  # type: ignore[attr-defined]
    routes: dict[tuple[str, frozenset[str]], Any] | None = getattr(state, "url_routes", None)
    if routes is None:
        routes = state.url_routes = {}
    key = (name, frozenset(params))
    route = routes.get(key)
    if route is None:
        for candidate in _leaf_routes(app.router.routes):  # type: ignore[attr-defined]
            try:
                candidate.url_path_for(name, **params)
            except NoMatchFound:
                continue
            route = routes[key] = candidate
            break
        else:
            raise NoMatchFound(name, params)
    return route


def _leaf_routes(routes: list[BaseRoute]) -> Iterator[Any]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)  # FastAPI's included routers
        yield from contexts() if callable(contexts) else (route,)


@pass_context
def template_url(context: Context, name: str, /, **params: Any) -> str:
    return url_to(context["request"], name, **params)


# A listing page's route name holds its kind ("listings:opportunity_detail"); templates often only have the slug.
_KINDS = {"opportunities": "opportunity", "offerings": "offering", "opportunity": "opportunity", "offering": "offering"}


@pass_context
def listing_url(context: Context, kind_or_slug: str, page: str, /, **params: Any) -> str:
    """`listing_url(slug, "detail", listing_id=3)` → /opportunities/3 (kind or slug, either works)."""
    return url_to(context["request"], f"listings:{_KINDS[str(kind_or_slug)]}_{page}", **params)
