"""The Jinja2 environment and the one `render` every page goes through."""

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.auth.actor import ANONYMOUS, Actor
from backend.auth.models import ROLE_LABELS
from backend.listings.models import MATURITY_LABELS, STATUS_LABELS
from backend.organisations.models import ORGANISATION_KIND_LABELS
from backend.subscriptions.models import FREQUENCY_LABELS
from backend.subscriptions.permissions import can_save as can_save_search
from web.kit.csrf import CSRF_FIELD, LazyToken, attach_csrf_cookie
from web.kit.urls import listing_url, template_url

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"
# Dates are shown as people in Jiangxi read them, whatever the server's time zone.
CHINA = ZoneInfo("Asia/Shanghai")


def _date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(CHINA).date() if value.tzinfo else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def _datetime(value: datetime | None) -> str:
    """Date and minute in China time, for logs and steps where the hour matters."""
    if value is None:
        return ""
    local = value.astimezone(CHINA) if value.tzinfo else value
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def countdown(deadline: date | None, today: date | None = None) -> tuple[str, str]:
    """(text, css modifier) of the time left to answer an opportunity."""
    if deadline is None:
        return "长期有效", "open"
    days = (deadline - (today or date.today())).days
    if days < 0:
        return "已截止", "closed"
    if days == 0:
        return "今日截止", "urgent"
    return f"还剩 {days} 天", "urgent" if days <= 7 else "open"


def _money(value: Any) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} 万元"


def _query(params: dict[str, Any], **changes: Any) -> str:
    """A query string from the current parameters with some changed (None removes one)."""
    merged = {**params, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "", [])}, doseq=True)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # Every template is HTML: listing text is user input and must always be escaped.
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def compile_all() -> None:
    """Every template compiled and kept now, rather than on the first request that renders it."""
    for name in environment.list_templates(filter_func=lambda name: name.endswith(".html")):
        environment.get_template(name)


def _percent(score: float | None) -> str:
    """A 0–1 score as people read it: 0 % to 100 %, never 104 % (ranking boosts can push a raw score past 1)."""
    if score is None:
        return ""
    return f"{max(0, min(100, round(score * 100)))}%"


environment.filters.update(date=_date, datetime=_datetime, money=_money, percent=_percent)
environment.globals.update(
    countdown=countdown,
    url=template_url,
    listing_url=listing_url,
    query=_query,
    STATUS_LABELS={k.value: v for k, v in STATUS_LABELS.items()},
    MATURITY_LABELS={k.value: v for k, v in MATURITY_LABELS.items()},
    ROLE_LABELS={k.value: v for k, v in ROLE_LABELS.items()},
    ORGANISATION_KIND_LABELS={k.value: v for k, v in ORGANISATION_KIND_LABELS.items()},
    CSRF_FIELD=CSRF_FIELD,
    # The list pages offer 保存当前搜索 to whoever may follow that list.
    can_save_search=can_save_search,
    SUBSCRIPTION_FREQUENCIES={k.value: v for k, v in FREQUENCY_LABELS.items()},
)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    actor: Actor = getattr(request.state, "actor", None) or ANONYMOUS
    return_to = page_to_return_to(request)
    is_htmx = request.headers.get("hx-request") == "true"
    token = LazyToken(request)
    values = {
        "request": request,
        "actor": actor,
        "csrf_token": token,
        "path": request.url.path,
        "return_to": None if is_htmx else return_to,
        # The footer's 主办/承办单位 and record numbers (backend/settings.py).
        "site": request.app.state.settings,
        **(context or {}),
    }
    response = HTMLResponse(environment.get_template(template).render(values), status_code=status)
    if return_to and is_htmx:
        response.headers["HX-Push-Url"] = return_to  # htmx would otherwise show the POST-only address
    if token.written:
        # Its forms carry this browser's own token: no shared cache may hand the page to another.
        response.headers.setdefault("Cache-Control", "no-store")
    attach_csrf_cookie(request, response)
    return response


def page_to_return_to(request: Request) -> str | None:
    """The address a browser should show for a page rendered in answer to a form post.

    A refused post (an error page, or the form page with a message) is rendered at the post's
    own address, which often answers POST only: reloading would re-post, typing it would get a
    405. The page the form was on (the same-site Referer) is shown instead. None for GET, and
    when there is no same-site referer or it is the post's own address."""
    if request.method in ("GET", "HEAD"):
        return None
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/") or referer.path.startswith("//"):
        return None
    target = referer.path + (f"?{referer.query}" if referer.query else "")
    return None if referer.path == request.url.path else target
