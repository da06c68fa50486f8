"""Accounts in real headless Chromium, with the mail read from a real SMTP server (aiosmtpd):
a new enterprise registers, confirms its email, is approved and answers; forgotten and changed
passwords end the other sessions; an invited consortium member registers and confirms."""

import asyncio
import email
import email.policy
import re
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from backend.settings import Environment, Settings
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tests.factories import credit_code
from tests.web.conftest import _ensure_chromium, sign_in, submit_registration
from tools.devserver import CHROMIUM_ARGS, DEMO_EMAILS, prepare_demo_database, running_site

NEW_PASSWORD = "庐山云雾茶要趁新-2026"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.port = 0

    def subject(self, to: str, text: str, *, seconds: float = 40) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == to and text in str(message["Subject"]):
                    return str(message["Subject"])
            time.sleep(0.3)
        raise AssertionError(f"no mail about {text} to {to} arrived")

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def link(self, to: str, path: str, *, after: int = 0, seconds: float = 40) -> str:
        """The site path of the newest `path` link mailed to `to` (waits for the mail worker)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in reversed(self.messages[after:]):
                if message["To"] == to:
                    found = re.search(rf"https?://[^/\s]+({re.escape(path)}[A-Za-z0-9_-]+)", message.get_content())
                    if found:
                        return found.group(1)
            time.sleep(0.3)
        raise AssertionError(f"no {path} mail to {to} arrived")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mail() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mail: Inbox) -> Iterator[str]:
    """The site on its own demo database, sending mail to the test SMTP server."""
    name = f"scenematch_accounts_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        prepare_demo_database(url)
        settings = Settings(
            env=Environment.testing,
            database_url=url,
            data_dir=tmp_path_factory.mktemp("accounts-site"),
            secret_key="browser-accounts-secret",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
        )
        with running_site(settings) as base_url:
            yield base_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[object]:
    executable = _ensure_chromium()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser, site):
    page = browser.new_context(base_url=site, locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def approve(browser, site: str, organisation_name: str) -> None:
    desk = new_page(browser, site)
    sign_in(desk, DEMO_EMAILS["matchmaker"])
    desk.goto("/registrations")
    desk.click(f"a:has-text('{organisation_name}')")
    desk.wait_for_url(re.compile(r"/registrations/\d+$"))
    desk.click("#approve")
    desk.wait_for_url(re.compile(r"done=approved"))
    assert desk.locator("#registration-status").inner_text() == "已通过"
    assert not desk.errors, desk.errors
    desk.context.close()


def open_opportunity_with_answer_link(page) -> None:
    page.goto("/opportunities")
    links = [a.get_attribute("href") for a in page.locator(".listing-card .card-title a").all()]
    for href in links:
        page.goto(href)
        if page.locator("a", has_text="我要答题").count():
            return
    pytest.fail("no open opportunity to answer in the demo data")


def test_a_new_enterprise_registers_confirms_is_approved_and_answers(browser, site, mail):
    name = f"景德镇陶瓷数字科技有限公司{uuid.uuid4().hex[:4]}"
    address = f"boss-{uuid.uuid4().hex[:6]}@jdz.example.cn"
    page = new_page(browser, site)
    page.goto("/login")
    page.click("#register-link")
    page.wait_for_url(re.compile(r"/register$"))
    submit_registration(page, organisation=name, credit_code=credit_code(), email=address, password=NEW_PASSWORD)
    assert "请确认邮箱" in page.locator("h1").inner_text()

    # Before approval: signed in, but answering is refused by the server.
    sign_in(page, address, NEW_PASSWORD)
    assert (
        "陈总" in page.locator("#signed-in-user").inner_text() and name in page.locator("#signed-in-user").inner_text()
    )

    page.goto(mail.link(address, "/register/confirm/"))
    page.click("#confirm-email")
    page.wait_for_selector("#account-message")
    assert "邮箱已确认" in page.locator("h1").inner_text()

    approve(browser, site, name)
    assert name in mail.subject(address, "已通过")  # the applicant is told by email (and in-app)

    open_opportunity_with_answer_link(page)
    page.click("a:has-text('我要答题')")
    page.wait_for_url(re.compile(r"/answer$"))
    page.fill("#f-title", "瓷都窑炉数字孪生方案")
    page.fill("#f-summary", "窑炉温度场实时建模，烧成合格率提升 8%。")
    page.fill("#f-solution", "一期接入 20 座窑炉。")
    page.click("form.answer-form button[type=submit]")
    page.wait_for_url(re.compile(r"/answers/\d+\?done=created"))
    page.check("form:has(button:has-text('提交答题')) input[name=confirm]")  # confirm before submitting
    page.click("button:has-text('提交答题')")
    page.wait_for_url(re.compile(r"done=submitted"))
    assert "答题已提交" in page.locator("main").inner_text()
    assert not page.errors, page.errors
    page.context.close()


def test_forgot_and_changed_passwords_end_the_other_sessions(browser, site, mail):
    email_address = DEMO_EMAILS["issuer"]
    other = new_page(browser, site)
    sign_in(other, email_address)

    page = new_page(browser, site)
    page.goto("/login")
    page.click("#forgot-link")
    page.wait_for_url(re.compile(r"/password/forgot$"))
    page.fill("#f-email", email_address)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#account-message")
    page.goto(mail.link(email_address, "/password/reset/"))
    page.wait_for_selector("#f-new_password")
    page.fill("#f-new_password", NEW_PASSWORD)
    page.fill("#f-new_password_again", NEW_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/login\?done=reset"))
    other.goto("/workspace")
    assert "/login" in other.url  # the session elsewhere has ended
    sign_in(page, email_address, NEW_PASSWORD)
    sign_in(other, email_address, NEW_PASSWORD)

    changed = "新的密码也要足够长-2027"
    page.goto("/account/password")
    page.fill("#f-current_password", NEW_PASSWORD)
    page.fill("#f-new_password", changed)
    page.fill("#f-new_password_again", changed)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#password-changed")
    other.goto("/workspace")
    assert "/login" in other.url
    page.goto("/workspace")
    assert "/login" not in page.url
    assert not page.errors and not other.errors
    page.context.close()
    other.context.close()


def test_an_invited_consortium_member_registers_and_confirms(browser, site, mail):
    lead = new_page(browser, site)
    sign_in(lead, DEMO_EMAILS["enterprise"])
    open_opportunity_with_answer_link(lead)
    lead.click("a:has-text('我要答题')")
    lead.wait_for_url(re.compile(r"/answer$"))
    lead.fill("#f-title", "联合体智慧方案")
    lead.fill("#f-summary", "牵头企业与新成员共同实施。")
    lead.click("form.answer-form button[type=submit]")
    lead.wait_for_url(re.compile(r"/answers/\d+\?done=created"))
    answer_id = int(re.search(r"/answers/(\d+)", lead.url).group(1))
    member_name = f"萍乡工业传感有限公司{uuid.uuid4().hex[:4]}"
    member_email = f"member-{uuid.uuid4().hex[:6]}@px.example.cn"
    # The lead invites the member from the answer page, as a person would (not through the API).
    lead.click("#invite-member summary")
    lead.fill("#f-invite-name", member_name)
    lead.fill("#f-invite-code", credit_code())
    lead.fill("#f-invite-email", member_email)
    lead.click("#invite-member button[type=submit]")
    lead.wait_for_url(re.compile(r"done=invited"))

    member = new_page(browser, site)
    member.goto(mail.link(member_email, "/invitations/"))
    assert member_name in member.locator("main").inner_text()
    member.fill("#f-display_name", "萍乡赵工")
    member.select_option("#f-region_code", "360300")
    member.fill("#f-password", NEW_PASSWORD)
    member.fill("#f-password_again", NEW_PASSWORD)
    member.click("form.form button[type=submit]")
    member.wait_for_selector("#account-message")
    assert "账号已创建" in member.locator("h1").inner_text()
    approve(browser, site, member_name)

    sign_in(member, member_email, NEW_PASSWORD)
    member.goto(f"/answers/{answer_id}")
    member.click("button:has-text('确认参与')")
    member.wait_for_url(re.compile(r"done=confirmed"))  # the confirmation has landed before the lead looks
    lead.goto(f"/answers/{answer_id}")
    assert "已确认" in lead.locator("main").inner_text()
    assert not member.errors and not lead.errors
    member.context.close()
    lead.context.close()
