"""Notifying people: an in-app notification, and optionally an email in the outbox.

Both are written in the caller's transaction, so they exist exactly when the change that
caused them was committed. Reading and marking notifications is strictly per user.
"""

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import User
from backend.kit.db import utcnow
from backend.kit.errors import NotFound
from backend.kit.pagination import PageParams, paginate
from backend.notifications.models import EmailMessage, Notification

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
    """One notification (and email) per active user, however often a user is named."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    users = (
        await session.exec(select(User).where(col(User.id).in_(wanted), col(User.is_active)).order_by(col(User.id)))
    ).all()
    created: list[Notification] = []
    for user in users:
        notification = Notification(user_id=user.id, kind=kind, title=title[:200], body=body, link=link[:300])
        session.add(notification)
        created.append(notification)
        if email:
            text = body + (f"\n\n{LINK_LABEL}{link}" if link else "")
            await enqueue_email(session, to=user.email, subject=title, body=text)
    await session.flush()
    return created


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
