"""Helpers shared by the page modules (answering, judging, pairing, inbox, events, the matchmakers' desk …).

`attempt` runs one service call inside a savepoint: when the service refuses (409, 422 …)
whatever it had already flushed is undone, and the page shows the Chinese message instead
of an error page. Missing objects and missing logins still raise, so that confidential
objects stay "not found" and a visitor is sent to sign in.
"""

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from fastapi.responses import RedirectResponse
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData

from backend.kit.errors import AppError
from web.kit.forms import text

T = TypeVar("T")


# Statuses that stay as an error page rather than a message on the form.
RAISED = (401, 404)
# Pages that also show a refused permission (403) as the error page rather than on the form.
RAISED_WITH_FORBIDDEN = (401, 403, 404)


async def attempt(
    session: AsyncSession, work: Callable[[], Awaitable[T]], *, raised: Collection[int] = RAISED
) -> tuple[T | None, AppError | None]:
    """(result, None) on success; (None, error) when the service refused, with nothing kept.

    Errors whose status is in `raised` propagate (after the savepoint is rolled back)."""
    try:
        async with session.begin_nested():
            return await work(), None
    except AppError as exc:
        if exc.status_code in raised:
            raise
        return None, exc


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(form: FormData, default: str) -> str:
    """A local path to go back to after a form (never another site)."""
    target = text(form, "next", 500)
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default
