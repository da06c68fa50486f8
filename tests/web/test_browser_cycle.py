"""The whole cycle in real Chromium with four people, from posting to a final result.

出卷 (issuer) → 审核发布 (matchmaker, who also accepts the recommended match first: the case that
broke 中选) → 答题 as a consortium (enterprise A leads, enterprise B confirms) → criteria and
reviewer → score → 入围 → 中选 (joins the existing pairing) → 公示 → an empty 公示期, ended by
moving its end in the database → the result is final and the pairing moves on to 意向.
Each person's notices are checked in their inbox, and the emails at a real SMTP server.
"""

import asyncio
import re
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from backend.auth.actor import Actor
from backend.auth.models import Role, User
from backend.auth.passwords import hash_password
from backend.kit.db import create_engine, create_sessionmaker, session_scope, utcnow
from backend.listings import service as listings
from backend.listings.models import ListingKind, Opportunity
from backend.listings.schemas import OfferingCreate
from backend.organisations.models import Organisation, OrganisationKind, OrganisationStatus
from backend.results.models import ResultNotice
from backend.settings import Environment, Settings
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tests.web.conftest import post_draft_opportunity, set_up_review, sign_in
from tools.devserver import DEMO_EMAILS, prepare_demo_database, running_site

PASSWORD = "cycle-2026-pass"
TAG = uuid.uuid4().hex[:4]
TITLE = f"赣江新区城市内涝积水感知预警{TAG}"
LEAD_EMAIL = f"lead-{TAG}@cycle.example"
MEMBER_EMAIL = f"member-{TAG}@cycle.example"
LEAD_NAME = f"洪城智联科技有限公司{TAG}"
MEMBER_NAME = f"赣鄱数据服务有限公司{TAG}"
OFFERING = f"城市内涝积水感知预警系统{TAG}"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.original_content, policy=default)
        self.messages.append((list(envelope.rcpt_tos), str(message["Subject"])))
        return "250 OK"

    def subjects_to(self, address: str) -> list[str]:
        return [subject for rcpts, subject in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_STATE: dict[str, object] = {}


def _in_db(work) -> object:  # type: ignore[no-untyped-def]
    """Run `work(session)` against the live site's database, on a thread of its own (Playwright owns this one)."""

    async def run() -> object:
        engine = create_engine(str(_STATE["database_url"]))
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def _two_enterprises(session) -> None:  # type: ignore[no-untyped-def]
    """Enterprise A (with a published offering that matches the opportunity) and enterprise B."""
    for name, email in ((LEAD_NAME, LEAD_EMAIL), (MEMBER_NAME, MEMBER_EMAIL)):
        organisation = Organisation(name=name, kind=OrganisationKind.enterprise, status=OrganisationStatus.active)
        session.add(organisation)
        await session.flush()
        user = User(
            email=email,
            password_hash=hash_password(PASSWORD),
            display_name=f"{name[:4]}联系人",
            role=Role.enterprise,
            organisation_id=organisation.id,
        )
        session.add(user)
        await session.flush()
        if email == LEAD_EMAIL:
            actor = Actor(user=user)
            offering = await listings.create(
                session,
                actor=actor,
                kind=ListingKind.offering,
                data=OfferingCreate(
                    title=OFFERING,
                    description="城市内涝积水感知预警：积水监测传感器、雨量站与内涝预警平台，赣江新区已部署。",
                    region_code="360100",
                    tracks=["iot"],
                ),
            )
            staff = (await session.exec(select(User).where(User.role == Role.matchmaker))).first()
            await listings.publish(
                session, actor=Actor(user=staff), kind=ListingKind.offering, listing_id=offering.id, batch_number=None
            )


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory, mailbox) -> Iterator[str]:
    """The demo site as in conftest, but with its mail going to our SMTP server and two more enterprises."""
    name = f"scenematch_cycle_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    _STATE["database_url"] = url
    try:
        prepare_demo_database(url)
        _in_db(_two_enterprises)
        settings = Settings(
            env=Environment.testing,
            database_url=url,
            data_dir=tmp_path_factory.mktemp("cycle-site"),
            secret_key="browser-cycle-secret",
            smtp_host="127.0.0.1",
            smtp_port=mailbox[1],
        )
        with running_site(settings) as base_url:
            yield base_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _person(chromium, live_site, email: str, password: str = "demo-2026"):  # type: ignore[no-untyped-def]
    page = chromium.new_context(base_url=live_site, locale="zh-CN").new_page()
    sign_in(page, email, password)
    return page


def _inbox_has(page, text: str) -> bool:  # type: ignore[no-untyped-def]
    page.goto("/inbox")
    return page.locator(".notification h2", has_text=text).count() > 0


def _open_notice(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """Open a notice from the inbox, as a person would: it takes them to where they act."""
    page.goto("/inbox")
    page.locator(".notification", has_text=text).first.locator("button", has_text="查看详情").click()
    page.wait_for_url(lambda url: "/inbox" not in url)


def _reload_until(page, url: str, locator: str, text: str, seconds: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator(locator, has_text=text).count():
            return True
        page.wait_for_timeout(300)
    return False


def test_four_people_go_from_posting_to_a_final_result_with_a_notice_at_every_step(chromium, live_site, mailbox):
    box, _ = mailbox
    issuer = _person(chromium, live_site, DEMO_EMAILS["issuer"])
    matchmaker = _person(chromium, live_site, DEMO_EMAILS["matchmaker"])
    lead = _person(chromium, live_site, LEAD_EMAIL, PASSWORD)
    member = _person(chromium, live_site, MEMBER_EMAIL, PASSWORD)

    # 出卷: the issuer posts and submits.
    post_draft_opportunity(
        issuer,
        TITLE,
        "在赣江新区易涝点布设积水感知设备，建设城市内涝积水感知预警平台，汛期实时预警。",
        region_code="360100",
        track="iot",
    )
    issuer.locator("tr", has_text=TITLE).locator("button", has_text="提交审核").click()
    issuer.wait_for_url(re.compile(r"done=submitted"))

    # The matchmaker publishes it; the issuer is told.
    matchmaker.goto("/review")
    card = matchmaker.locator(".review-card", has_text=TITLE)
    card.locator("button", has_text="发布").click()
    matchmaker.wait_for_url(re.compile(r"done=published"))
    assert _inbox_has(issuer, f"机会已发布：{TITLE}")

    # The matchmaker accepts the recommended match before anyone answers: pairing #N opens.
    async def find_opportunity(session) -> int:  # type: ignore[no-untyped-def]
        return (await session.exec(select(Opportunity.id).where(Opportunity.title == TITLE))).one()

    opportunity_id = _in_db(find_opportunity)
    # The sync worker indexes the new listing within a moment; the page shows the match then.
    assert _reload_until(matchmaker, f"/opportunities/{opportunity_id}", "section.matches li", OFFERING)
    matchmaker.locator("section.matches li", has_text=OFFERING).locator("button", has_text="采纳并创建对接").click()
    matchmaker.wait_for_url(re.compile(r"done=accepted"))

    # 答题 as a consortium: A leads, B is asked to confirm, then A submits; the issuer is told.
    lead.goto(f"/opportunities/{opportunity_id}/answer")
    lead.fill("#f-title", "赣江新区内涝感知联合方案")
    lead.fill("#f-summary", "积水传感器与预警平台，联合数据服务商运营")
    lead.fill("#f-members", MEMBER_NAME)
    lead.click("form.answer-form button[type=submit]")
    lead.wait_for_url(re.compile(r"/answers/\d+"))
    answer_path = re.search(r"/answers/\d+", lead.url).group(0)
    _open_notice(member, "联合体邀请待确认")
    assert answer_path in member.url
    member.click("button:has-text('确认参与')")
    member.wait_for_url(re.compile(r"done=confirmed"))
    lead.goto(answer_path)
    lead.once("dialog", lambda dialog: dialog.accept())
    lead.check("form:has(button:has-text('提交答题')) input[name=confirm]")  # issue 12: confirm before submitting
    lead.click("button:has-text('提交答题')")
    lead.wait_for_url(re.compile(r"done=submitted"))

    # The issuer follows the notice to the answers page, which leads to criteria and reviewers first.
    _open_notice(issuer, "收到新的答题")
    assert f"/opportunities/{opportunity_id}/answers" in issuer.url
    assert "下一步" in issuer.locator(".review-steps li", has_text="设置评审标准").inner_text()
    issuer.goto(answer_path)
    assert issuer.locator(".decision-buttons button", has_text="入围").is_disabled()
    assert "请先设置评审标准" in issuer.locator("#decision-blocked").inner_text()
    set_up_review(issuer, opportunity_id)
    assert _inbox_has(issuer, "请评审答题")
    issuer.goto(answer_path)
    issuer.locator("input[name^=score_]").fill("88")
    issuer.fill("#f-comment", "感知方案成熟，联合体分工清楚")
    issuer.click("button:has-text('保存评分')")
    issuer.wait_for_url(re.compile(r"done=reviewed"))

    # 入围, then 中选: the case that broke — the pairing already exists and is joined.
    issuer.click(".decision-buttons button:has-text('入围')")
    issuer.wait_for_url(re.compile(r"done=decided"))
    issuer.check("form:has(.decision-buttons) input[name=confirm]")  # 中选 is final: ticked first
    issuer.click(".decision-buttons button:has-text('中选')")
    issuer.wait_for_url(re.compile(r"done=decided"))
    assert "评审结论已保存" in issuer.content() and "已存在" not in issuer.content()
    for person in (lead, member):
        assert _inbox_has(person, "您的答题已入围")
        assert _inbox_has(person, "您的答题已中选")

    # 公示 for 5 working days; the public results page shows it to a visitor.
    issuer.goto(f"/opportunities/{opportunity_id}/answers")
    issuer.fill("#f-working_days", "5")
    issuer.check("form.publish-form input[name=confirm]")  # irreversible: ticked first
    issuer.click("button:has-text('公示中选结果')")
    issuer.wait_for_url(re.compile(r"done=published"))
    visitor = chromium.new_context(base_url=live_site, locale="zh-CN").new_page()
    visitor.goto("/results")
    visitor.locator(".result-card a", has_text=TITLE).click()
    assert "公示中" in visitor.locator("#period-heading").inner_text()
    assert "赣江新区内涝感知联合方案" in visitor.content() and MEMBER_NAME in visitor.content()
    assert "请先" in visitor.locator("#objection-heading").locator("xpath=..").inner_text()  # sign in to object
    notice_path = visitor.url.replace(live_site, "")
    for person in (lead, member):
        assert _inbox_has(person, "中选结果公示中")

    # The result cannot be confirmed during the period.
    issuer.goto(notice_path)
    assert "公示期尚未结束" in issuer.locator("#finalize-heading").locator("xpath=..").inner_text()

    # An empty 公示期 passes: its end is moved into the past in the database.
    notice_id = int(notice_path.rsplit("/", 1)[1])

    async def end_period(session) -> None:  # type: ignore[no-untyped-def]
        notice = await session.get(ResultNotice, notice_id)
        notice.ends_at = utcnow() - timedelta(minutes=1)
        session.add(notice)

    _in_db(end_period)
    issuer.goto(notice_path)
    issuer.click("button:has-text('确认结果生效')")
    issuer.wait_for_url(re.compile(r"done=final"))
    assert "结果已生效" in issuer.locator("#period-heading").inner_text()
    for person in (issuer, lead, member):
        assert _inbox_has(person, f"中选结果已生效：{TITLE}")

    # The pairing the match opened moved on to 意向, with the answer joined to it.
    matchmaker.goto(f"/pairings?opportunity={opportunity_id}")
    matchmaker.locator(".pairing-card a", has_text=TITLE).first.click()
    matchmaker.wait_for_url(re.compile(r"/pairings/\d+"))
    assert matchmaker.locator("[aria-current=step]").first.inner_text() == "意向"
    steps = matchmaker.locator(".step-list").inner_text()
    assert "由匹配推荐采纳" in steps and "中选，已关联到本对接" in steps and "结果生效" in steps

    # The same notices reached everyone by email, through the outbox and a real SMTP server.
    wanted = {
        DEMO_EMAILS["issuer"]: ["机会已发布", "收到新的答题", "请评审答题", "中选结果已生效"],
        LEAD_EMAIL: ["您的答题已入围", "您的答题已中选", "中选结果公示中", "中选结果已生效"],
        MEMBER_EMAIL: ["联合体邀请待确认", "您的答题已中选", "中选结果已生效"],
    }
    deadline = time.monotonic() + 60
    missing: dict[str, list[str]] = wanted
    while time.monotonic() < deadline:
        missing = {
            address: [w for w in words if not any(s.startswith(w) for s in box.subjects_to(address))]
            for address, words in wanted.items()
        }
        if not any(missing.values()):
            break
        time.sleep(1)
    assert not any(missing.values()), missing
    for page in (issuer, matchmaker, lead, member, visitor):
        page.context.close()
