"""Journeys in real headless Chromium against a live site with the demo data."""

import re
import time
import uuid

import pytest

from tests.web.conftest import AXE, post_draft_opportunity, sign_in
from tools.devserver import DEMO_EMAILS


def test_a_visitor_searches_smart_agriculture_and_filters_by_a_city(page):
    page.goto("/")
    page.fill("#home-q", "智慧农业")
    page.press("#home-q", "Enter")
    page.wait_for_url(re.compile(r"/opportunities\?q="))
    assert page.locator(".listing-card").count() >= 3
    city = page.locator(".facet h2", has_text="地区").locator("xpath=..").locator("a", has_text="赣州市")
    count = int(city.locator(".count").inner_text())
    city.click()
    page.wait_for_url(re.compile(r"region=360700"))
    assert page.locator(".listing-card").count() == count
    assert page.locator(".chip", has_text="地区：赣州市").is_visible()
    assert "赣南脐橙" in page.locator(".results").inner_text()
    assert "水稻统防统治" not in page.locator(".results").inner_text()


def test_a_visitor_narrows_opportunities_by_budget_and_deadline_and_removes_a_chip(page):
    page.goto("/opportunities?q=智慧")
    total = page.locator(".results-count strong").inner_text()
    budget = page.locator(".facet h2", has_text="预算").locator("xpath=..")
    budget.locator("a", has_text="100万–500万").click()
    page.wait_for_url(re.compile(r"budget=100-500"))
    assert page.locator(".chip", has_text="预算：100万–500万").is_visible()
    narrowed = page.locator(".results-count strong").inner_text()
    assert 0 < int(narrowed) < int(total)
    deadline = page.locator(".facet h2", has_text="截止日期").locator("xpath=..")
    deadline.locator("a", has_text="尚未截止").click()
    page.wait_for_url(re.compile(r"deadline=open"))
    assert page.locator(".chip", has_text="截止日期：尚未截止").is_visible()
    assert "q=" in page.url and "budget=100-500" in page.url
    page.locator(".chip", has_text="预算：100万–500万").click()
    page.wait_for_url(lambda url: "budget=" not in url and "deadline=open" in url)
    assert page.locator(".chip", has_text="预算").count() == 0
    assert (
        page.locator(".facet h2", has_text="预算")
        .locator("xpath=..")
        .locator("a[aria-current]", has_text="不限")
        .count()
    )


def test_search_also_works_without_javascript(chromium, live_site):
    context = chromium.new_context(base_url=live_site, java_script_enabled=False)
    page = context.new_page()
    page.goto("/opportunities")
    page.fill("#q", "脐橙")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=%E8%84%90%E6%A9%99"))
    assert page.locator(".listing-card mark", has_text="脐橙").count() >= 1
    context.close()


def test_typing_in_the_search_box_updates_results_and_the_url(page):
    page.goto("/offerings")
    before = page.locator(".listing-card").count()
    page.fill("#q", "无人机")  # no Enter: htmx searches as you type
    page.wait_for_url(re.compile(r"/offerings\?q="))
    page.wait_for_function(f"document.querySelectorAll('.listing-card').length !== {before}")
    assert page.locator(".listing-card mark", has_text="无人机").count() >= 1


def _reload_until(page, url: str, locator: str, text: str, seconds: float = 15) -> bool:
    """The sync worker indexes a change within a moment; reload until it shows (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator(locator, has_text=text).count():
            return True
        page.wait_for_timeout(300)
    return False


def test_an_issuer_creates_and_submits_a_matchmaker_publishes_and_an_enterprise_sees_it_in_its_matches(
    page, chromium, live_site
):
    title = f"南昌城区路口自适应信号配时优化{uuid.uuid4().hex[:4]}"
    sign_in(page, DEMO_EMAILS["issuer"])
    page.goto("/workspace/opportunities/new")
    page.click("form.form button[type=submit]")  # empty: the messages appear next to the fields
    assert page.locator("#title-error").inner_text() == "请填写标题"
    page.fill("#f-title", title)
    page.fill(
        "#f-description", "对主干道拥堵路口进行视频与雷达融合检测，实时优化信号配时，实现干线绿波和潮汐车道联动。"
    )
    page.select_option("#f-region_code", "360100")
    page.check("input[name=tracks][value=connected_vehicles]")
    page.check("input[name=tracks][value=iot]")
    page.fill("#f-deadline", "2099-12-31")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"done=created"))
    row = page.locator("tr", has_text=title)
    row.locator("button", has_text="提交审核").click()
    page.wait_for_url(re.compile(r"done=submitted"))
    assert "等待审核" in page.locator("tr", has_text=title).inner_text()

    matchmaker = chromium.new_context(base_url=live_site).new_page()
    sign_in(matchmaker, DEMO_EMAILS["matchmaker"])
    matchmaker.goto("/review")
    card = matchmaker.locator(".review-card", has_text=title)
    card.locator("select[name=batch_number]").select_option(index=0)
    card.locator("button", has_text="发布").click()
    matchmaker.wait_for_url(re.compile(r"done=published"))
    assert _reload_until(matchmaker, "/opportunities?q=" + title, ".listing-card", title)
    matchmaker.context.close()

    enterprise = chromium.new_context(base_url=live_site).new_page()
    sign_in(enterprise, DEMO_EMAILS["enterprise"])
    enterprise.goto("/workspace/offerings")
    offering_url = enterprise.locator("table a", has_text="自适应交通信号控制系统").get_attribute("href")
    assert _reload_until(enterprise, offering_url, "section.matches li", title)
    assert "同属赛道" in enterprise.locator("section.matches li", has_text=title).inner_text()
    enterprise.context.close()


@pytest.mark.parametrize("path", ["/", "/opportunities?q=智慧农业", "/offerings", "/login", "/no-such-page"])
def test_pages_fit_a_375px_phone_screen(chromium, live_site, path):
    context = chromium.new_context(base_url=live_site, viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.goto(path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


@pytest.mark.parametrize(
    ("role", "path"),
    [("admin", "/admin/users"), ("admin", "/admin/organisations")],
)
def test_desk_pages_fit_a_375px_phone_screen(chromium, live_site, role, path):
    """The admin desk's tables scroll inside their box; the page itself never scrolls sideways (was 537 px)."""
    context = chromium.new_context(base_url=live_site, viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, DEMO_EMAILS[role])
    page.goto(path)
    assert page.locator("main table").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


def _serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def axe_page(chromium, live_site):
    # axe is injected as a script; only this audit context may bypass the site's CSP for it.
    context = chromium.new_context(base_url=live_site, bypass_csp=True, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/opportunities?q=智慧农业",
        "/opportunities?budget=100-500&deadline=30d",
        "/offerings?region=360700",
        "/login",
    ],
)
def test_public_pages_have_no_serious_accessibility_violations(axe_page, path):
    axe_page.goto(path)
    assert _serious_violations(axe_page) == []


def test_detail_pages_have_no_serious_accessibility_violations(axe_page):
    for listing in ("/opportunities", "/offerings"):
        axe_page.goto(listing)
        axe_page.locator(".listing-card a").first.click()
        axe_page.wait_for_url(re.compile(listing + r"/\d+"))
        assert _serious_violations(axe_page) == [], axe_page.url


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("issuer", "/workspace/opportunities/new"),
        ("enterprise", "/workspace/organisation"),
        ("matchmaker", "/review"),
        ("matchmaker", "/review/import"),
    ],
)
def test_forms_have_no_serious_accessibility_violations(axe_page, role, path):
    sign_in(axe_page, DEMO_EMAILS[role])
    axe_page.goto(path)
    assert _serious_violations(axe_page) == []
    if path.endswith("/new"):
        axe_page.click("form.form button[type=submit]")  # with validation messages shown
        axe_page.wait_for_selector("#title-error")
        assert _serious_violations(axe_page) == []


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _publish_new_opportunity(page, chromium, live_site, title: str) -> str:
    """The demo issuer creates and submits an opportunity, a matchmaker publishes it; returns its URL."""
    sign_in(page, DEMO_EMAILS["issuer"])
    post_draft_opportunity(page, title, "在赣江新区主干道更换智慧路灯，集成照明调光、环境监测和视频感知。")
    page.locator("tr", has_text=title).locator("button", has_text="提交审核").click()
    page.wait_for_url(re.compile(r"done=submitted"))
    url = page.locator("tr", has_text=title).locator("a", has_text=title).get_attribute("href")

    matchmaker = chromium.new_context(base_url=live_site).new_page()
    sign_in(matchmaker, DEMO_EMAILS["matchmaker"])
    matchmaker.goto("/review")
    matchmaker.locator(".review-card", has_text=title).locator("button", has_text="发布").click()
    matchmaker.wait_for_url(re.compile(r"done=published"))
    matchmaker.context.close()
    return url


def test_an_enterprise_answers_and_submits_and_the_issuer_sees_it(page, chromium, live_site):
    title = f"赣江新区智慧路灯改造{uuid.uuid4().hex[:4]}"
    url = _publish_new_opportunity(page, chromium, live_site, title)

    enterprise = chromium.new_context(base_url=live_site, locale="zh-CN").new_page()
    problems: list[str] = []
    enterprise.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(enterprise, DEMO_EMAILS["enterprise"])
    enterprise.goto(url)
    enterprise.click("a:has-text('我要答题')")
    enterprise.wait_for_url(re.compile(r"/answer$"))
    enterprise.fill("#f-title", "智慧路灯一体化解决方案")
    enterprise.fill("#f-summary", "多功能智慧灯杆与城市照明管理平台，按需调光节能 40%。")
    enterprise.fill("#f-solution", "分两期建设：一期改造 500 盏，二期接入环境监测。")
    enterprise.click("form.answer-form button[type=submit]")
    enterprise.wait_for_url(re.compile(r"/answers/\d+\?done=created"))
    enterprise.set_input_files(
        "#f-file", files=[{"name": "实施方案.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    enterprise.click("form.upload-form button[type=submit]")
    enterprise.wait_for_url(re.compile(r"done=uploaded"))
    assert enterprise.locator(".file-list a", has_text="实施方案.pdf").is_visible()
    enterprise.check("form:has(button:has-text('提交答题')) input[name=confirm]")
    enterprise.click("button:has-text('提交答题')")
    enterprise.wait_for_url(re.compile(r"done=submitted"))
    assert "答题已提交" in enterprise.locator("main").inner_text()
    enterprise.context.close()
    assert not problems, problems

    page.goto(url)
    page.click("a:has-text('已提交的答题（1 份）')")
    page.wait_for_url(re.compile(r"/answers$"))
    page.click("a:has-text('智慧路灯一体化解决方案')")
    page.wait_for_url(re.compile(r"/answers/\d+$"))
    assert page.locator(".file-list a", has_text="实施方案.pdf").is_visible()
    assert "多功能智慧灯杆" in page.locator("main").inner_text()


def test_the_answer_form_and_the_pairing_board_have_no_serious_accessibility_violations(axe_page):
    sign_in(axe_page, DEMO_EMAILS["enterprise"])
    axe_page.goto("/opportunities")
    for href in axe_page.locator(".listing-card h3 a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        axe_page.goto(href)
        if axe_page.locator("a", has_text="我要答题").count():
            break
    else:
        pytest.fail("no open opportunity to answer in the demo data")
    axe_page.click("a:has-text('我要答题')")
    axe_page.wait_for_url(re.compile(r"/answer$"))
    assert _serious_violations(axe_page) == []
    axe_page.fill("#f-summary", "长" * 501)
    axe_page.click("form.answer-form button[type=submit]")  # with validation messages shown
    axe_page.wait_for_selector("#title-error")
    assert _serious_violations(axe_page) == []

    axe_page.context.clear_cookies()
    sign_in(axe_page, DEMO_EMAILS["matchmaker"])
    axe_page.goto("/pairings")
    assert axe_page.locator("#stage-heading-recommended").is_visible()
    assert _serious_violations(axe_page) == []
