import asyncio
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.models import Role
from backend.kit.db import session_scope, utcnow
from backend.listings.models import ListingStatus
from backend.notifications import service as notifications
from backend.notifications.mail import MAX_ATTEMPTS, MailWorker, SmtpConfig, pending_count, send_due
from backend.notifications.models import EmailMessage, Notification
from backend.searching.sync import drain
from backend.settings import Settings
from backend.subscriptions.alerts import send_alerts
from backend.subscriptions.models import Subscription
from tests.factories import create_opportunity, create_organisation, create_user, login

TITLE = "鄱阳湖智慧水利监测场景"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class Refusing(Inbox):
    """Answers RCPT for some addresses, or MAIL or DATA for every message, with a given reply."""

    def __init__(self, *, rcpt: dict[str, str] | None = None, mail: str | None = None, data: str | None = None) -> None:
        super().__init__()
        self.rcpt, self.mail, self.data = rcpt or {}, mail, data
        self.asked: list[str] = []  # every recipient the server was asked to take, refused or not

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail:
            return self.mail
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.asked.append(address)
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data:
            return self.data
        return await super().handle_DATA(server, session, envelope)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int, inbox: Inbox | None = None) -> None:
        self.port = port
        self.inbox = inbox or Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


@pytest.fixture
def smtp_server(smtp_port: int) -> Iterator[SmtpServer]:
    server = SmtpServer(smtp_port).start()
    yield server
    server.stop()


def _config(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, timeout=5, mail_from="场景平台 <noreply@scenematch.example>")


async def _publish_to_a_follower(make_client, session, search_engine):
    """The real path: a follower's subscription matches a newly published opportunity, once the
    index writer has indexed it and run the saved searches (in its own transactions)."""
    follower = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    session.add(Subscription(user_id=follower.id, name="水利", q="智慧水利"))
    opportunity = await create_opportunity(
        session, await create_organisation(session), title=TITLE, status=ListingStatus.pending_review
    )
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    assert (await staff.post(f"/api/v1/opportunities/{opportunity.id}/publish")).status_code == 200
    maker = async_sessionmaker(
        bind=session.bind, class_=AsyncSession, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    async with session_scope(maker) as writer:
        while await drain(writer, search_engine):
            pass
        assert await send_alerts(writer, search_engine) == 1
    return follower, opportunity


async def _pending(session):
    return (await session.exec(select(EmailMessage).where(EmailMessage.sent_at == None))).all()  # noqa: E711


# --- notifications ---------------------------------------------------------------------------


async def test_user_lists_and_marks_only_their_own_notifications(client, make_client, session):
    me = await create_user(session, role=Role.enterprise)
    someone = await create_user(session, role=Role.enterprise)
    for n in range(3):
        await notifications.notify(
            session, user_ids=[me.id], kind="subscription_match", title=f"通知{n}", body="正文", email=False
        )
    theirs = (
        await notifications.notify(
            session, user_ids=[someone.id], kind="subscription_match", title="别人的", body="", email=False
        )
    )[0]
    await login(client, me)

    listed = (await client.get("/api/v1/notifications", params={"page_size": 2})).json()
    assert listed["total"] == 3 and listed["unread"] == 3 and len(listed["items"]) == 2
    assert [n["title"] for n in listed["items"]] == ["通知2", "通知1"]

    read = await client.post(f"/api/v1/notifications/{listed['items'][0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    assert (await client.get("/api/v1/notifications")).json()["unread"] == 2
    unread_only = (await client.get("/api/v1/notifications", params={"unread_only": True})).json()
    assert [n["title"] for n in unread_only["items"]] == ["通知1", "通知0"]

    not_mine = await client.post(f"/api/v1/notifications/{theirs.id}/read")
    assert not_mine.status_code == 404 and not_mine.json()["detail"] == "通知不存在"
    assert "别人的" not in (await client.get("/api/v1/notifications")).text

    assert (await client.post("/api/v1/notifications/read-all")).json() == {"marked": 2}
    assert (await client.get("/api/v1/notifications")).json()["unread"] == 0
    await session.refresh(theirs)
    assert theirs.read_at is None
    assert (await make_client().get("/api/v1/notifications")).status_code == 401


# --- email -----------------------------------------------------------------------------------


async def test_subscription_email_arrives_at_a_real_smtp_server_in_utf8(
    make_client, session, smtp_server, search_engine
):
    follower, opportunity = await _publish_to_a_follower(make_client, session, search_engine)
    [queued] = await _pending(session)

    sent, failed = await send_due(session, _config(smtp_server.port))

    assert (sent, failed) == (1, 0)
    [envelope] = smtp_server.inbox.envelopes
    assert envelope.rcpt_tos == [follower.email]
    assert envelope.mail_from == "noreply@scenematch.example"
    raw = envelope.original_content
    assert TITLE.encode() not in raw.split(b"\r\n\r\n", 1)[0]  # headers are RFC 2047-encoded, not raw UTF-8
    message = message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == f"新机会：{TITLE}"
    assert message["To"] == follower.email
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert TITLE in body and f"/opportunities/{opportunity.id}" in body
    await session.refresh(queued)
    assert queued.sent_at is not None and queued.attempts == 0
    assert await send_due(session, _config(smtp_server.port)) == (0, 0)  # nothing is sent twice


async def test_mail_stays_pending_while_smtp_is_down_and_is_sent_when_it_returns(
    make_client, session, smtp_port, search_engine
):
    follower, _ = await _publish_to_a_follower(make_client, session, search_engine)
    [queued] = await _pending(session)

    assert await send_due(session, _config(smtp_port)) == (0, 1)  # nothing listens on the port yet

    await session.refresh(queued)
    assert queued.sent_at is None and queued.attempts == 1 and queued.last_error
    assert queued.available_at > utcnow()  # backing off
    assert await send_due(session, _config(smtp_port)) == (0, 0)  # not due again yet

    server = SmtpServer(smtp_port).start()
    try:
        sent = await send_due(session, _config(smtp_port), now=queued.available_at + timedelta(seconds=1))
    finally:
        server.stop()
    assert sent == (1, 0)
    assert [e.rcpt_tos for e in server.inbox.envelopes] == [[follower.email]]
    await session.refresh(queued)
    assert queued.sent_at is not None and queued.attempts == 1


async def test_mail_worker_round_sends_due_mail_and_reminders(
    make_client, session, smtp_server, database_url, search_engine
):
    follower, _ = await _publish_to_a_follower(make_client, session, search_engine)
    # The worker's own transactions run inside the test's, so the test still rolls everything back.
    maker = async_sessionmaker(
        bind=session.bind, class_=AsyncSession, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    settings = Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    worker = MailWorker(maker, settings)

    assert await worker.run_once() == 1

    assert [e.rcpt_tos for e in smtp_server.inbox.envelopes] == [[follower.email]]
    assert await _pending(session) == []
    told = (await session.exec(select(Notification).where(Notification.user_id == follower.id))).all()
    assert len(told) == 1


async def test_mail_worker_loop_sends_in_the_background_and_stops_cleanly(
    make_client, session, smtp_server, database_url, search_engine
):
    follower, _ = await _publish_to_a_follower(make_client, session, search_engine)
    maker = async_sessionmaker(
        bind=session.bind, class_=AsyncSession, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    worker = MailWorker(
        maker, Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp_server.port), poll_seconds=0.05
    )

    worker.start()
    try:
        for _ in range(100):
            if smtp_server.inbox.envelopes:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()

    assert [e.rcpt_tos for e in smtp_server.inbox.envelopes] == [[follower.email]]


async def test_email_links_point_at_the_site_url_while_the_notification_keeps_the_path(
    make_client, session, smtp_server, database_url, search_engine
):
    follower, opportunity = await _publish_to_a_follower(make_client, session, search_engine)
    path = f"/opportunities/{opportunity.id}"
    [queued] = await _pending(session)
    assert f"查看详情：{path}" in queued.body.splitlines()  # stored as the path: the address is applied when sending
    maker = async_sessionmaker(
        bind=session.bind, class_=AsyncSession, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    settings = Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        site_url="https://scenes.example.gov.cn/",  # the trailing slash is not doubled
    )

    assert await MailWorker(maker, settings).run_once() == 1

    [envelope] = smtp_server.inbox.envelopes
    body = message_from_bytes(envelope.original_content, policy=default_policy).get_content()
    assert f"查看详情：https://scenes.example.gov.cn{path}" in body.splitlines()
    [told] = (await session.exec(select(Notification).where(Notification.user_id == follower.id))).all()
    assert told.link == path  # the web pages use it as an href on the site itself


@pytest.mark.parametrize("answer", ["550 5.1.1 No such mailbox here", "553 5.1.3 Bad recipient address syntax"])
async def test_a_recipient_refused_with_5xx_fails_for_good_and_is_not_retried(session, smtp_port, answer):
    server = SmtpServer(smtp_port, Refusing(rcpt={"gone@example.com": answer})).start()
    try:
        gone = await notifications.enqueue_email(session, to="gone@example.com", subject="通知", body="正文")
        here = await notifications.enqueue_email(session, to="here@example.com", subject="通知", body="正文")

        assert await send_due(session, _config(smtp_port)) == (1, 1)  # the other message still goes

        await session.refresh(gone)
        await session.refresh(here)
        assert here.sent_at is not None
        assert gone.sent_at is None and gone.failed_at is not None and gone.attempts == 1
        assert (
            gone.last_error == f"收件人 gone@example.com 被拒绝：{answer}"
        )  # the server's words, for an administrator
        assert await pending_count(session) == 0

        # However long one waits, it is not tried again.
        assert await send_due(session, _config(smtp_port), now=utcnow() + timedelta(days=30)) == (0, 0)
        assert server.inbox.asked == ["gone@example.com", "here@example.com"]
        await session.refresh(gone)
        assert gone.attempts == 1
    finally:
        server.stop()


async def test_a_message_rejected_after_data_with_5xx_fails_for_good(session, smtp_port):
    server = SmtpServer(smtp_port, Refusing(data="554 5.7.1 Message content rejected")).start()
    try:
        message = await notifications.enqueue_email(session, to="someone@example.com", subject="通知", body="正文")
        assert await send_due(session, _config(smtp_port)) == (0, 1)
    finally:
        server.stop()
    await session.refresh(message)
    assert message.failed_at is not None and message.last_error == "SMTP 554 5.7.1 Message content rejected"
    assert await pending_count(session) == 0


@pytest.mark.parametrize(
    ("refusing", "reply"),
    [
        (
            {"rcpt": {"busy@example.com": "451 4.3.0 Try again later"}},
            "收件人 busy@example.com 被拒绝：451 4.3.0 Try again later",
        ),
        # Our own sender refused, even with a 5xx, is a configuration fault: mail waits for the fix.
        (
            {"mail": "553 5.7.1 Sender address rejected"},
            "发件人 noreply@scenematch.example 被拒绝：553 5.7.1 Sender address rejected",
        ),
    ],
    ids=["451-recipient", "5xx-sender"],
)
async def test_a_transient_refusal_stays_pending_with_a_backoff(session, smtp_port, refusing, reply):
    server = SmtpServer(smtp_port, Refusing(**refusing)).start()
    try:
        message = await notifications.enqueue_email(session, to="busy@example.com", subject="通知", body="正文")

        assert await send_due(session, _config(smtp_port)) == (0, 1)
        await session.refresh(message)
        assert message.failed_at is None and message.sent_at is None and message.attempts == 1
        assert message.last_error == reply
        assert message.available_at > utcnow()
        assert await pending_count(session) == 1

        assert await send_due(session, _config(smtp_port), now=message.available_at + timedelta(seconds=1)) == (0, 1)
        await session.refresh(message)
        assert message.failed_at is None and message.attempts == 2
    finally:
        server.stop()


async def test_mail_gives_up_after_the_attempts_cap(session, smtp_port):
    message = await notifications.enqueue_email(session, to="someone@example.com", subject="通知", body="正文")
    message.attempts = MAX_ATTEMPTS - 2
    session.add(message)
    await session.flush()

    assert await send_due(session, _config(smtp_port)) == (0, 1)  # nothing listens: transient
    await session.refresh(message)
    assert message.failed_at is None and message.attempts == MAX_ATTEMPTS - 1

    assert await send_due(session, _config(smtp_port), now=message.available_at + timedelta(seconds=1)) == (0, 1)
    await session.refresh(message)
    assert message.failed_at is not None and message.attempts == MAX_ATTEMPTS
    assert "ConnectionRefusedError" in message.last_error
    assert await pending_count(session) == 0
    assert await send_due(session, _config(smtp_port), now=utcnow() + timedelta(days=30)) == (0, 0)
