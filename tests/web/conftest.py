"""Browser fixtures: a live site on its own demo database, and headless Chromium (Debian's package)."""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.settings import Environment, Settings
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tools.devserver import CHROMIUM, CHROMIUM_ARGS, prepare_demo_database, running_site

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def _ensure_chromium() -> str | None:
    """Debian's chromium; installed here if missing and we may (never a browser download of Playwright's own)."""
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=False, capture_output=True, timeout=600)
    return CHROMIUM if Path(CHROMIUM).exists() else None


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, so it must be closed before the async tests of other modules run.
@pytest.fixture(scope="module")
def live_database() -> Iterator[str]:
    """A fresh PostgreSQL database with the demo data (committed, so kept apart from other tests):
    its URL, for a test that reads what the site wrote (e.g. the emailed links)."""
    name = f"scenematch_web_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        prepare_demo_database(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def live_site(live_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole site on `live_database`."""
    settings = Settings(
        env=Environment.testing,
        database_url=live_database,
        data_dir=tmp_path_factory.mktemp("live-site"),
        secret_key="browser-test-secret",
    )
    with running_site(settings) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def chromium(live_site: str) -> Iterator[object]:
    executable = _ensure_chromium()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_site) -> Iterator[object]:
    """A fresh browser profile per test; fails the test on any CSP violation or script error."""
    context = chromium.new_context(base_url=live_site, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems


def sign_in(page, email: str, password: str = "demo-2026") -> None:
    page.goto("/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def post_draft_opportunity(page, title: str, description: str, *, region_code: str = "", track: str = "") -> None:
    """The signed-in issuer posts an opportunity, open until 2099, as a draft from the workspace form."""
    page.goto("/workspace/opportunities/new")
    page.fill("#f-title", title)
    page.fill("#f-description", description)
    if region_code:
        page.select_option("#f-region_code", region_code)
    if track:
        page.check(f"input[name=tracks][value={track}]")
    page.fill("#f-deadline", "2099-12-31")
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda url: "done=created" in url)


def submit_registration(page, *, organisation: str, credit_code: str, email: str, password: str) -> None:
    """Fill the 企业入驻 form the page shows and send it; waits for the page that asks to confirm the email."""
    page.fill("#f-organisation_name", organisation)
    page.fill("#f-credit_code", credit_code)
    page.select_option("#f-region_code", "360200")
    page.fill("#f-contact_name", "陈总")
    page.fill("#f-phone", "0798-8888888")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.fill("#f-password_again", password)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#account-message")


def set_up_review(page, opportunity_id: int) -> None:
    """The signed-in issuer gives the opportunity one criterion (技术方案, 100) and invites the
    first reviewer offered (in the demo data, the issuer), from its answers page."""
    page.goto(f"/opportunities/{opportunity_id}/answers")
    page.fill("#criterion-name-1", "技术方案")
    page.fill("#criterion-weight-1", "100")
    page.click("form.criteria-form button[type=submit]")
    page.wait_for_url(lambda url: "done=criteria" in url)
    page.select_option("#f-user_id", index=1)
    page.click("button:has-text('邀请')")
    page.wait_for_url(lambda url: "done=invited" in url)
