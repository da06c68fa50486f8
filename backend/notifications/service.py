"""Notifying people: an in-app notification, and optionally an email in the outbox.

Both are written in the caller's transaction, so they exist exactly when the change that
caused them was committed. Reading and marking notifications is strictly per user.

`notify(session, user_ids=…, kind=…, title=…, body=…, link=…)` is the one entry point for
every domain; `kind` must be declared in `kinds.py`. The inbox entry is always written; the
email follows the person's preference for that kind (at once, in the daily digest, or none;
the kind's default when they chose nothing). `link` is a site path ("/answers/12"), made
absolute by the mail worker.

Daily digests go out once a day at DIGEST_HOUR China time with every digest notification
created before then; a notification is marked "digested" in the same transaction as its
digest email is queued, so none is mailed twice. Reminders use `claim_reminder(key)`: the
first caller for a key gets True, every later one False.
"""

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import User
from backend.kit.db import utcnow
from backend.kit.errors import NotFound, Unprocessable
from backend.kit.pagination import PageParams, paginate
from backend.notifications import kinds
from backend.notifications.kinds import Delivery
from backend.notifications.models import EmailMessage, Notification, NotificationPreference, ReminderSent

CHINA = ZoneInfo("Asia/Shanghai")
DIGEST_HOUR = 8
DIGEST_PENDING = "digest"
DIGESTED = "digested"

EMAIL_SIGNATURE = "\n\n——\n江西省数字经济应用场景供需对接平台（scenematch）\n此邮件由系统自动发送，请勿直接回复。"
# The line that carries a notification's link in its email. The link is stored as the site path
# (as in the notification); the mail worker makes it absolute with the site URL when it sends, so
# the address in force at sending time is used, also for mail queued before it changed.
LINK_LABEL = "查看详情："


async def enqueue_email(session: AsyncSession, *, to: str, subject: str, body: str) -> EmailMessage:
    """Queue one email in the caller's transaction; the mail worker sends it after commit."""
    message = EmailMessage(to_address=to, subject=subject[:300], body=body + EMAIL_SIGNATURE)
    session.add(message)
    await session.flush()
    return message


async def notify(
    session: AsyncSession,
    *,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str,
    link: str = "",
    email: bool = True,
) -> list[Notification]:
    """One notification per active user, however often a user is named; the email as each prefers.

    `email=False` means this notification never mails (e.g. a click the reminder covers).
    """
    declared = kinds.get(kind)
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    users = (
        await session.exec(select(User).where(col(User.id).in_(wanted), col(User.is_active)).order_by(col(User.id)))
    ).all()
    chosen = await _deliveries(session, [u.id for u in users if u.id is not None], kind)
    created: list[Notification] = []
    for user in users:
        notification = Notification(user_id=user.id, kind=kind, title=title[:200], body=body, link=link[:300])
        delivery = chosen.get(user.id or 0, declared.default) if email else Delivery.off
        if delivery == Delivery.immediate:
            await enqueue_email(session, to=user.email, subject=title, body=_email_text(body, link))
        elif delivery == Delivery.digest:
            notification.email_state = DIGEST_PENDING
        session.add(notification)
        created.append(notification)
    await session.flush()
    return created


def _email_text(body: str, link: str) -> str:
    return body + (f"\n\n{LINK_LABEL}{link}" if link else "")


async def _deliveries(session: AsyncSession, user_ids: list[int], kind: str) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await session.exec(
        select(NotificationPreference).where(
            col(NotificationPreference.user_id).in_(user_ids), NotificationPreference.kind == kind
        )
    )
    return {p.user_id: p.delivery for p in rows.all()}


async def preferences(session: AsyncSession, *, actor: Actor) -> dict[str, str]:
    """Every declared kind with the actor's delivery (their choice, else the kind's default)."""
    user_id = require_signed_in(actor)
    rows = await session.exec(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    chosen = {p.kind: p.delivery for p in rows.all()}
    return {name: chosen.get(name, kind.default.value) for name, kind in kinds.KINDS.items()}


async def set_preferences(session: AsyncSession, *, actor: Actor, choices: dict[str, str]) -> dict[str, str]:
    """Save the actor's choices; unknown kinds or deliveries are refused as a whole."""
    user_id = require_signed_in(actor)
    for name, delivery in choices.items():
        if name not in kinds.KINDS:
            raise Unprocessable(f"未知的通知类型：{name}", field="kind")
        if delivery not in {d.value for d in Delivery}:
            raise Unprocessable(f"未知的发送方式：{delivery}", field="delivery")
    for name, delivery in choices.items():
        existing = await session.get(NotificationPreference, (user_id, name))
        preference = existing or NotificationPreference(user_id=user_id, kind=name, delivery=delivery)
        preference.delivery = delivery
        preference.modified_at = utcnow()
        session.add(preference)
    await session.flush()
    return await preferences(session, actor=actor)


def last_digest_time(now: datetime) -> datetime:
    """The latest DIGEST_HOUR o'clock, China time, at or before `now` (as UTC)."""
    local = now.astimezone(CHINA)
    cutoff = datetime.combine(local.date(), time(DIGEST_HOUR), tzinfo=CHINA)
    if cutoff > local:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(now.tzinfo)


async def send_digests(session: AsyncSession, *, now: datetime | None = None, limit: int = 2000) -> int:
    """Queue one digest email per person for digest notifications made before today's digest time.

    Returns how many emails were queued. Rows are claimed with SKIP LOCKED and marked in the same
    transaction, so two workers never mail the same notification.
    """
    now = now or utcnow()
    cutoff = last_digest_time(now)
    rows = (
        await session.exec(
            select(Notification)
            .where(Notification.email_state == DIGEST_PENDING, col(Notification.created_at) < cutoff)
            .order_by(col(Notification.user_id), col(Notification.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    by_user: dict[int, list[Notification]] = {}
    for notification in rows:
        by_user.setdefault(notification.user_id, []).append(notification)
    users = {u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(list(by_user))))).all()}
    queued = 0
    for user_id, items in by_user.items():
        user = users.get(user_id)
        if user is not None and user.is_active:
            parts = [
                f"{i}. 【{kinds.label(n.kind)}】{n.title}\n{n.body}" + (f"\n{LINK_LABEL}{n.link}" if n.link else "")
                for i, n in enumerate(items, start=1)
            ]
            await enqueue_email(
                session,
                to=user.email,
                subject=f"每日通知汇总：{len(items)} 条新通知",
                body="您好，以下是您在平台上的新通知：\n\n" + "\n\n".join(parts),
            )
            queued += 1
        for notification in items:
            notification.email_state = DIGESTED
            session.add(notification)
    await session.flush()
    return queued


async def claim_reminder(session: AsyncSession, key: str) -> bool:
    """True the first time `key` is claimed (the caller then sends the reminder), False ever after."""
    if await session.get(ReminderSent, key) is not None:
        return False
    session.add(ReminderSent(key=key[:100]))
    await session.flush()
    return True


async def organisation_user_ids(session: AsyncSession, organisation_id: int) -> list[int]:
    """The active accounts of an organisation: who hears about its listings and interests."""
    rows = await session.exec(
        select(User.id).where(User.organisation_id == organisation_id, col(User.is_active)).order_by(col(User.id))
    )
    return [user_id for user_id in rows.all() if user_id is not None]


async def list_mine(
    session: AsyncSession, *, actor: Actor, page: PageParams, unread_only: bool = False
) -> tuple[list[Notification], int, int]:
    """The actor's notifications, newest first, with the total and the unread count."""
    user_id = require_signed_in(actor)
    mine = Notification.user_id == user_id
    unread_clause = col(Notification.read_at).is_(None)
    query = select(Notification).where(mine)
    if unread_only:
        query = query.where(unread_clause)
    unread = (await session.exec(select(func.count()).select_from(Notification).where(mine, unread_clause))).one()
    rows, total = await paginate(session, query, page, col(Notification.created_at).desc(), col(Notification.id).desc())
    return rows, total, unread


async def mark_read(session: AsyncSession, *, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; someone else's is reported as missing."""
    user_id = require_signed_in(actor)
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("通知不存在")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    user_id = require_signed_in(actor)
    result = await session.exec(
        update(Notification)  # type: ignore[call-overload]
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
