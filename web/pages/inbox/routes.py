"""The signed-in user's inbox: notifications (with the unread count in the navigation), and
subscriptions — saved searches from a list page, and follows of tracks, scenario domains and
regions — of 机会清单 (enterprises) or 产品清单 (issuers, matchmakers), each with its frequency."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.dependencies import ActorDep, SessionDep, SignedInDep
from backend.kit.errors import _message as pydantic_message
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath
from backend.listings.ranges import BUDGET_CHOICES, DEADLINE_CHOICES, budget_choice, budget_range
from backend.notifications import service as notifications
from backend.notifications.kinds import DELIVERY_LABELS, KINDS
from backend.notifications.models import Notification
from backend.subscriptions import service as subscriptions
from backend.subscriptions.models import Frequency
from backend.subscriptions.permissions import kinds_for
from backend.subscriptions.schemas import SubscriptionCreate, SubscriptionUpdate
from backend.taxonomy import service as taxonomy
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, see_other
from web.kit.forms import text
from web.kit.paging import page_number
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

PAGE_SIZE = 30
NOTICES = {
    "read": "已标记为已读。",
    "all-read": "全部通知已标记为已读。",
    "created": "订阅已保存。有符合条件的新清单发布时，会按您选择的频率在这里和邮件中通知您。",
    "deleted": "订阅已删除。",
    "frequency": "通知频率已修改。",
}


async def count_unread(request: Request, session: SessionDep, actor: ActorDep) -> None:
    """For the navigation on every page: how many of the user's notifications are unread."""
    if actor.user_id is None:
        return
    request.state.unread_notifications = (
        await session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.user_id, col(Notification.read_at).is_(None))
        )
    ).one()


@router.get("/inbox", name="inbox:inbox")
async def inbox(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    unread_only = request.query_params.get("unread") == "1"
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total, unread = await notifications.list_mine(session, actor=actor, page=page, unread_only=unread_only)
    # Links are written by the platform, but only local paths are ever followed.
    items = [(n, n.link if n.link.startswith("/") and not n.link.startswith("//") else "") for n in rows]
    context = {
        "items": items,
        "total": total,
        "unread": unread,
        "unread_only": unread_only,
        "page": page.page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": None,
    }
    # The count shown in the navigation must agree with the page, even right after marking.
    request.state.unread_notifications = unread
    return render(request, "inbox/notifications.html", context)


@router.post("/inbox/read-all", name="inbox:mark_all_read")
async def mark_all_read(request: Request, _: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    await notifications.mark_all_read(session, actor=actor)
    return see_other(url_to(request, "inbox:inbox") + "?done=all-read")


@router.post("/inbox/{notification_id}/read", name="inbox:mark_read")
async def mark_read(
    notification_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    notification = await notifications.mark_read(session, actor=actor, notification_id=notification_id)
    # "打开" marks read and follows the link; "标为已读" stays in the inbox.
    if text(form, "open") == "1" and notification.link.startswith("/") and not notification.link.startswith("//"):
        return see_other(notification.link)
    return see_other(url_to(request, "inbox:inbox") + "?done=read")


# --- subscriptions ------------------------------------------------------------------------


async def _choices(session: AsyncSession) -> dict[str, Any]:
    regions = await taxonomy.list_regions(session)
    return {
        "track_options": [(t.code, t.name) for t in await taxonomy.list_tracks(session)],
        "domain_options": [(d.code, d.name) for d in await taxonomy.list_domains(session)],
        # Cities cover their counties, so the list stays short; the province's own code means its
        # province-level listings, as the list pages' region filter does.
        "budget_options": [(code, label) for code, (label, _) in BUDGET_CHOICES.items()],
        "deadline_options": list(DEADLINE_CHOICES.items()),
        "region_options": [
            (r.code, f"{r.name}（省级）" if r.level == "province" else r.name) for r in regions if r.level != "county"
        ],
    }


LIST_NAMES = {"opportunity": "机会清单", "offering": "产品清单"}
NOUNS = {"opportunity": "机会", "offering": "产品"}
_EMPTY_VALUES: dict[str, Any] = {
    "kind": "",
    "frequency": Frequency.immediate.value,
    "name": "",
    "q": "",
    "tracks": [],
    "domains": [],
    "regions": [],
    "budget": "",
    "deadline": "",
}


async def subscriptions_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows, total = await subscriptions.list_mine(session, actor=actor, page=PageParams(page=1, page_size=100))
    names = await taxonomy.load_index(session)
    items = [
        {
            "subscription": s,
            "tracks": [names.tracks.get(c, c) for c in s.tracks],
            "domains": [names.domains.get(c, c) for c in s.domains],
            "regions": [names.regions.get(c, c) for c in s.regions],
            "ranges": subscriptions.Ranges.of(s).labels(),
            "deadline_note": s.deadline is not None,
            # The list page takes one value per filter, and a budget only as one of its choices.
            "list_query": {
                "q": s.q,
                "track": s.tracks[0] if s.tracks else None,
                "domain": s.domains[0] if s.domains else None,
                "region": s.regions[0] if s.regions else None,
                "budget": budget_choice(subscriptions.Ranges.of(s).budget),
                "deadline": s.deadline,
            },
        }
        for s in rows
    ]
    context = {
        **await _choices(session),
        "items": items,
        "total": total,
        "values": values or _EMPTY_VALUES,
        "save_kinds": [k.value for k in kinds_for(actor)],
        "nouns": "或".join(NOUNS[k.value] for k in kinds_for(actor)) or "清单",
        "LIST_NAMES": LIST_NAMES,
        "NOUNS": NOUNS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "inbox/subscriptions.html", context, status=status)


@router.get("/subscriptions", name="inbox:list_subscriptions")
async def list_subscriptions(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await subscriptions_page(request, session, actor)


def _codes(form: Any, plural: str, singular: str) -> list[str]:
    """Both the follow form's checkboxes (`tracks`) and a list page's current filter (`track`)."""
    values = [*form.getlist(plural), *form.getlist(singular)]
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))


@router.post("/subscriptions", name="inbox:create_subscription")
async def create_subscription(request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    """保存当前搜索 (from a list page) or 关注 tracks / domains / regions (from this page)."""
    values = {
        "kind": text(form, "kind", 20) or "opportunity",
        "frequency": text(form, "frequency", 20) or Frequency.immediate.value,
        "name": text(form, "name", 200),
        "q": " ".join(text(form, "q", 1000).split()),
        "tracks": _codes(form, "tracks", "track"),
        "domains": _codes(form, "domains", "domain"),
        "regions": _codes(form, "regions", "region"),
    }
    # The budget and deadline choices (a list page's, or this page's), as the subscription keeps
    # them; unknown codes are dropped, as the list page drops them.
    choices = {"budget": text(form, "budget", 20), "deadline": text(form, "deadline", 20)}
    budget = budget_range(choices["budget"])
    ranges = {
        "budget_from": budget.start if budget else None,
        "budget_to": budget.end if budget else None,
        "deadline": choices["deadline"] if choices["deadline"] in DEADLINE_CHOICES else None,
    }
    try:
        data = SubscriptionCreate.model_validate(values | ranges)
    except ValidationError as exc:
        first = exc.errors()[0]
        labels = {
            "kind": "订阅清单",
            "frequency": "通知频率",
            "name": "订阅名称",
            "q": "关键词",
            "tracks": "赛道",
            "domains": "场景领域",
            "regions": "地区",
        }
        field = labels.get(str((first.get("loc") or ("",))[0]), "")
        message = f"{field}：{pydantic_message(dict(first))}" if field else pydantic_message(dict(first))
        return await subscriptions_page(request, session, actor, values=values | choices, error=message, status=422)
    _done, refused = await attempt(session, lambda: subscriptions.create(session, actor=actor, data=data))
    if refused is not None:
        return await subscriptions_page(
            request, session, actor, values=values | choices, error=refused.detail, status=refused.status_code
        )
    return see_other(url_to(request, "inbox:list_subscriptions") + "?done=created")


@router.post("/subscriptions/{subscription_id}/frequency", name="inbox:update_subscription_frequency")
async def update_subscription_frequency(
    subscription_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """即时 / 每日 / 每周 for one of the user's subscriptions."""
    try:
        data = SubscriptionUpdate.model_validate({"frequency": text(form, "frequency", 20)})
    except ValidationError as exc:
        message = "通知频率：" + pydantic_message(dict(exc.errors()[0]))
        return await subscriptions_page(request, session, actor, error=message, status=422)
    await subscriptions.update(session, actor=actor, subscription_id=subscription_id, data=data)
    return see_other(url_to(request, "inbox:list_subscriptions") + "?done=frequency")


@router.post("/subscriptions/{subscription_id}/delete", name="inbox:delete_subscription")
async def delete_subscription(
    subscription_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    await subscriptions.delete(session, actor=actor, subscription_id=subscription_id)
    return see_other(url_to(request, "inbox:list_subscriptions") + "?done=deleted")


# --- email preferences per kind --------------------------------------------------------------


@router.get("/inbox/preferences", name="inbox:preferences")
async def preferences(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    """Per kind of notification: email at once, in the daily digest, or not at all."""
    chosen = await notifications.preferences(session, actor=actor)
    context = {
        "kinds": [(k, chosen[k.name]) for k in KINDS.values()],
        "deliveries": [(d.value, label) for d, label in DELIVERY_LABELS.items()],
        "digest_hour": notifications.DIGEST_HOUR,
        "notice": "设置已保存。" if request.query_params.get("done") == "saved" else None,
        "error": None,
    }
    return render(request, "inbox/preferences.html", context)


@router.post("/inbox/preferences", name="inbox:save_preferences")
async def save_preferences(request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    choices = {name: text(form, f"delivery_{name}", 20) for name in KINDS if text(form, f"delivery_{name}", 20)}
    await notifications.set_preferences(session, actor=actor, choices=choices)
    return see_other(url_to(request, "inbox:preferences") + "?done=saved")
