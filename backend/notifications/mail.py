"""The mail worker: sends the email outbox over SMTP.

At least once: a message is marked sent only after the SMTP server accepted it. A transient
failure (no connection, a timeout, a 4xx reply) leaves it pending with a growing delay, so
an outage delays mail rather than dropping it, up to MAX_ATTEMPTS. A 5xx reply about the
message itself (550 no such mailbox, 553 bad address, 554 rejected) is permanent: retrying
cannot help, so the message is marked failed at once, the server's reply kept in
`last_error` for an administrator. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so an
in-process worker and `scenematch worker` never send the same message twice at the same
time. The Message-ID is stable per row, so the rare resend after a crash between SMTP and
commit can be recognised by mail clients. Links are stored as site paths and made absolute
with the site URL here, when the message is sent.

The same loop also runs the periodic jobs that write notifications (once a minute): the
issuers' reminders about expressions of interest awaiting a decision, the reminders before
answer deadlines and before a 公示期 ends, finalising results whose 公示期 has ended, and the
daily digest emails. Each is idempotent (a reminder is never sent twice).
"""

import logging
import re
import smtplib
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid, parseaddr

from anyio import to_thread
from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.db import session_scope, utcnow
from backend.kit.hooks import Hook
from backend.kit.worker import PollingWorker
from backend.notifications.models import EmailMessage
from backend.notifications.service import LINK_LABEL, send_digests
from backend.settings import DEFAULT_SITE_URL, Settings

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
# Give up after this many failed attempts, whatever the reason: about five days, as mail
# servers keep undeliverable mail (Postfix's maximal_queue_lifetime). With the backoff below
# the eighth attempt comes about an hour after the first and each later one an hour apart, so
# a relay that is down over a long weekend delays mail, it does not lose it.
MAX_ATTEMPTS = 8 + 24 * 5
# Reminders need not be checked on every poll; once a minute is prompt enough for a period of days.
REMINDER_CHECK_SECONDS = 60.0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour."""
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 15 * 2 ** min(attempts, 12)))


@dataclass(frozen=True)
class Failure:
    """Why one message was not sent, and whether trying again could help."""

    reason: str
    permanent: bool = False


def _permanent(code: int) -> bool:
    return 500 <= code <= 599


def _reply(code: int, text: bytes | str) -> str:
    """The server's reply as an administrator would read it: "550 5.1.1 No such mailbox"."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {text}".strip()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    mail_from: str = "noreply@scenematch.localhost"
    # Where the links in the emails point (Settings.site_url, already validated).
    site_url: str = DEFAULT_SITE_URL

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
            site_url=settings.site_url,
        )


# A link line as `notify` writes it, holding a site path ("/x", not "//host/x" nor a full URL).
_SITE_PATH_LINK = re.compile(rf"^({re.escape(LINK_LABEL)})(/(?!/)\S*)$", re.MULTILINE)


def absolute_links(body: str, site_url: str) -> str:
    """Turn the site paths in the link lines into addresses that work from a mail client."""
    return _SITE_PATH_LINK.sub(lambda m: f"{m.group(1)}{site_url}{m.group(2)}", body)


def build_mime(message: EmailMessage, mail_from: str, site_url: str) -> MimeMessage:
    """A UTF-8 text/plain message; the email package encodes the Chinese subject (RFC 2047)."""
    mime = MimeMessage()
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.created_at)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "scenematch.localhost"
    mime["Message-ID"] = make_msgid(idstring=f"email-{message.id}", domain=domain)
    mime.set_content(absolute_links(message.body, site_url), charset="utf-8")
    return mime


def _send_blocking(config: SmtpConfig, messages: Sequence[MimeMessage]) -> list[Failure | None]:
    """Send over one connection; for each message None (accepted) or why not.

    Only a reply about one message can be permanent; whatever goes wrong with the connection,
    the greeting or the login is the server's or our configuration's fault, and is retried.
    """
    try:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [Failure(f"{type(exc).__name__}: {exc}")] * len(messages)
    results: list[Failure | None] = []
    try:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        # Greet here rather than inside the first send_message (smtplib's default), so that
        # a refused EHLO is not taken for a refusal of the first message.
        smtp.ehlo_or_helo_if_needed()
        for mime in messages:
            try:
                smtp.send_message(mime)
                results.append(None)
            except smtplib.SMTPRecipientsRefused as exc:
                # Each message has one recipient, so this is that recipient's answer.
                refused = exc.recipients.items()
                results.append(
                    Failure(
                        "；".join(
                            f"收件人 {address} 被拒绝：{_reply(code, text)}" for address, (code, text) in refused
                        ),
                        permanent=all(_permanent(code) for _, (code, _text) in refused),
                    )
                )
            except smtplib.SMTPSenderRefused as exc:
                # Our own From address refused: a configuration fault shared by every message,
                # retried (up to MAX_ATTEMPTS) so that mail survives until it is corrected.
                results.append(Failure(f"发件人 {exc.sender} 被拒绝：{_reply(exc.smtp_code, exc.smtp_error)}"))
            except smtplib.SMTPResponseException as exc:
                # The DATA answer: about this message (554 rejected as spam, 552 too large).
                reply = _reply(exc.smtp_code, exc.smtp_error)
                results.append(Failure(f"SMTP {reply}", permanent=_permanent(exc.smtp_code)))
    except (OSError, smtplib.SMTPException) as exc:
        # The connection broke part-way: the rest are retried later.
        error = Failure(f"{type(exc).__name__}: {exc}")
        results += [error] * (len(messages) - len(results))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return results


def _pending() -> ColumnElement[bool]:
    """Neither sent nor given up."""
    return and_(col(EmailMessage.sent_at).is_(None), col(EmailMessage.failed_at).is_(None))


async def send_due(
    session: AsyncSession, config: SmtpConfig, *, limit: int = 50, now: datetime | None = None
) -> tuple[int, int]:
    """Send up to `limit` due messages; returns (sent, failed).

    A transient failure stays pending with a backoff; a permanent one, or the last allowed
    attempt, marks the message failed for good.
    """
    now = now or utcnow()
    query = (
        select(EmailMessage)
        .where(_pending(), EmailMessage.available_at <= now)
        .order_by(col(EmailMessage.available_at), col(EmailMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.exec(query)).all())
    if not messages:
        return 0, 0
    mimes = [build_mime(m, config.mail_from, config.site_url) for m in messages]
    results = await to_thread.run_sync(_send_blocking, config, mimes)
    sent = failed = 0
    for message, failure in zip(messages, results, strict=True):
        if failure is None:
            message.sent_at = utcnow()
            sent += 1
        else:
            message.attempts += 1
            message.last_error = failure.reason[:1000]
            if failure.permanent or message.attempts >= MAX_ATTEMPTS:
                message.failed_at = utcnow()
                logger.error(
                    "mail: message %s given up after %d attempt(s): %s",
                    message.id,
                    message.attempts,
                    message.last_error,
                )
            else:
                message.available_at = now + backoff(message.attempts)
            failed += 1
        session.add(message)
    await session.flush()
    if failed:
        first = next(f for f in results if f)
        logger.warning("mail: %d sent, %d failed: %s", sent, failed, first.reason)
    return sent, failed


async def pending_count(session: AsyncSession) -> int:
    """Messages still to be sent; those given up for good are not waiting for anything."""
    return (await session.exec(select(func.count()).select_from(EmailMessage).where(_pending()))).one()


# Jobs the mail worker runs every REMINDER_CHECK_SECONDS before sending, each in its own
# transaction (the interests domain registers its reminders): mail never imports its users.
periodic_jobs: Hook[Callable[[AsyncSession, Settings], Awaitable[int]]] = Hook("notifications.mail.periodic_jobs")


@periodic_jobs.register
async def _daily_digests(session: AsyncSession, settings: Settings) -> int:
    """The daily digest emails (notifications.service.send_digests), once their time has come."""
    return await send_digests(session)


class MailWorker(PollingWorker):
    """Runs `send_due` (and the registered periodic jobs, e.g. interest reminders) in a loop,
    in-process or in `scenematch worker`."""

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
        """Run every registered periodic job once; returns the sum of what they did.

        Each job runs in its own transaction, so that one failing does not hold the others back.
        """
        done = 0
        for job in periodic_jobs.handlers:
            try:
                async with session_scope(self.sessionmaker) as session:
                    done += await job(session, self.settings)
            except Exception:
                logger.exception("mail: periodic job %s failed", getattr(job, "__qualname__", job))
        return done

    async def run_once(self) -> int:
        """One round: reminders when due, then one batch of mail. Returns how many were sent."""
        clock = time.monotonic()
        if self._last_reminder_check is None or clock - self._last_reminder_check >= REMINDER_CHECK_SECONDS:
            self._last_reminder_check = clock
            await self.remind_once()
        async with session_scope(self.sessionmaker) as session:
            sent, _ = await send_due(session, self.config)
        return sent
