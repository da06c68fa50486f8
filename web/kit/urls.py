"""Page URLs built from route names, so that a path is written once: on its route.

Every page route is named `"<area>:<page>"` (the area is its folder under `web/pages/`).
Templates call `url("listings:opportunity_detail", listing_id=3)`; Python code calls
`url_to(request, "…", …)`. Both give a path (no scheme or host), so redirects stay local.
"""

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request


def url_to(request: Request, name: str, /, **params: Any) -> str:
    """The path of the named route, with its path parameters filled in."""
    return str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))


@pass_context
def template_url(context: Context, name: str, /, **params: Any) -> str:
    return url_to(context["request"], name, **params)


# A listing page's route name holds its kind ("listings:opportunity_detail"); templates often only have the slug.
_KINDS = {"opportunities": "opportunity", "offerings": "offering", "opportunity": "opportunity", "offering": "offering"}


@pass_context
def listing_url(context: Context, kind_or_slug: str, page: str, /, **params: Any) -> str:
    """`listing_url(slug, "detail", listing_id=3)` → /opportunities/3 (kind or slug, either works)."""
    return url_to(context["request"], f"listings:{_KINDS[str(kind_or_slug)]}_{page}", **params)
