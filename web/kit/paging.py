"""The one reading of a list page's `?page=`: a whole number from 1, anything else is page 1."""

from fastapi import Request

from backend.kit.params import whole_number

# Beyond any list the site holds; larger numbers are treated as a typo, not an error page.
MAX_PAGE = 100_000


def page_number(request: Request, limit: int = MAX_PAGE) -> int:
    return whole_number(request.query_params.get("page"), 1, limit) or 1
