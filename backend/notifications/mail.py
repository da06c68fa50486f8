"""The mail worker: sends the email outbox over SMTP.

At least once and never lost: a message is marked sent only after the SMTP server
accepted it, and a failure leaves it pending with a growing delay, with no limit on
attempts (a long outage delays mail, it does not drop it). Rows are claimed with
`FOR UPDATE SKIP LOCKED`, so an in-process worker and `scenematch worker` never send the
same message twice at the same time. The Message-ID is stable per row, so the rare resend
after a crash between SMTP and commit can be recognised by mail clients.

The same loop also sends the issuers' reminders about expressions of interest awaiting
a decision: cheap, periodic, and it needs the outbox anyway.
"""

import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid, parseaddr

from anyio import to_thread
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.worker import PollingWorker
from backend.kit.db import session_scope, utcnow
from backend.notifications.models import EmailMessage
from backend.settings import Settings

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
# Reminders need not be checked on every poll; once a minute is prompt enough for a period of days.
REMINDER_CHECK_SECONDS = 60.0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour."""
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 15 * 2 ** min(attempts, 12)))


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    mail_from: str = "noreply@scenematch.localhost"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig":
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
            mail_from=settings.mail_from,
        )


def build_mime(message: EmailMessage, mail_from: str) -> MimeMessage:
    """A UTF-8 text/plain message; the email package encodes the Chinese subject (RFC 2047)."""
    mime = MimeMessage()
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.created_at)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "scenematch.localhost"
    mime["Message-ID"] = make_msgid(idstring=f"email-{message.id}", domain=domain)
    mime.set_content(message.body, charset="utf-8")
    return mime


def _send_blocking(config: SmtpConfig, messages: Sequence[MimeMessage]) -> list[str | None]:
    """Send over one connection; for each message None (accepted) or the error text."""
    try:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [f"{type(exc).__name__}: {exc}"] * len(messages)
    results: list[str | None] = []
    try:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        for mime in messages:
            try:
                smtp.send_message(mime)
                results.append(None)
            except smtplib.SMTPRecipientsRefused as exc:
                results.append(f"收件人被拒绝: {exc.recipients}")
            except smtplib.SMTPResponseException as exc:
                results.append(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    except (OSError, smtplib.SMTPException) as exc:
        # The connection broke part-way: the rest are retried later.
        error = f"{type(exc).__name__}: {exc}"
        results += [error] * (len(messages) - len(results))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return results


async def send_due(
    session: AsyncSession, config: SmtpConfig, *, limit: int = 50, now: datetime | None = None
) -> tuple[int, int]:
    """Send up to `limit` due messages; returns (sent, failed). Failures stay pending with a backoff."""
    now = now or utcnow()
    query = (
        select(EmailMessage)
        .where(col(EmailMessage.sent_at).is_(None), EmailMessage.available_at <= now)
        .order_by(col(EmailMessage.available_at), col(EmailMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.exec(query)).all())
    if not messages:
        return 0, 0
    mimes = [build_mime(m, config.mail_from) for m in messages]
    results = await to_thread.run_sync(_send_blocking, config, mimes)
    sent = failed = 0
    for message, error in zip(messages, results, strict=True):
        if error is None:
            message.sent_at = utcnow()
            sent += 1
        else:
            message.attempts += 1
            message.last_error = error[:1000]
            message.available_at = now + backoff(message.attempts)
            failed += 1
        session.add(message)
    await session.flush()
    if failed:
        logger.warning("mail: %d sent, %d failed (kept for retry): %s", sent, failed, next(e for e in results if e))
    return sent, failed


async def pending_count(session: AsyncSession) -> int:
    return (
        await session.exec(select(func.count()).select_from(EmailMessage).where(col(EmailMessage.sent_at).is_(None)))
    ).one()


class MailWorker(PollingWorker):
    """Runs `send_due` (and the interest reminders) in a loop, in-process or in `scenematch worker`."""

    name = "mail"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        poll_seconds: float = 5.0,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.config = SmtpConfig.from_settings(settings)
        self._last_reminder_check: float | None = None

    async def remind_once(self) -> int:
        from backend.interests import service as interests_service  # the interests package uses ours

        async with session_scope(self.sessionmaker) as session:
            return await interests_service.send_reminders(session, days=self.settings.interest_reminder_days)

    async def run_once(self) -> int:
        """One round: reminders when due, then one batch of mail. Returns how many were sent."""
        clock = time.monotonic()
        if self._last_reminder_check is None or clock - self._last_reminder_check >= REMINDER_CHECK_SECONDS:
            self._last_reminder_check = clock
            await self.remind_once()
        async with session_scope(self.sessionmaker) as session:
            sent, _ = await send_due(session, self.config)
        return sent
