"""Phone layout at 375 px, and axe-core on every page the site renders, as each role reaches it.

The audit crawls the demo site as a visitor, an enterprise, an issuer, a matchmaker and an admin, following
the links people can follow, and runs axe once per page route; it then checks that every GET page
route that answers HTML was audited (except those named in NEEDS_DEMO_DATA, with the reason the
audit prints), so a new page cannot slip past it. What the demo data lacks (an answer, a 结果公示,
an event, a registration, the emailed single-use links) is made through the site's own pages first.
"""

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import asyncpg
import pytest

from backend.app import create_app
from tests.factories import credit_code
from tests.web.conftest import AXE, post_draft_opportunity, set_up_review, sign_in, submit_registration
from tools.devserver import DEMO_EMAILS

PHONE = {"width": 375, "height": 812}
WIDE = {"width": 1280, "height": 900}
PASSWORD = "庐山云雾茶要趁新-2026"
PDF_NAME = "需求说明书.pdf"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Routes that answer files, not pages (nothing for axe to read).
NOT_HTML = {
    "review:import_template",
    "statistics:statistics_table_csv",
    "opendata:opportunities_as_csv",
    "opendata:opportunities_as_json",
    "opendata:offerings_as_csv",
    "opendata:offerings_as_json",
    "opendata:atom_feed",
    "organisations:suggest",  # the organisation picker's suggestions (JSON)
    "site:robots",
    "site:sitemap",
}
# Routes that only redirect (they have no page of their own).
REDIRECTS = {"listings:workspace_home"}
# Page routes the crawl cannot reach → why (printed by the audit). Empty: what the demo data does
# not hold is made first through the site itself (see _make_what_the_demo_lacks), and /docs,
# which no page links to, starts the visitor's crawl.
NEEDS_DEMO_DATA: dict[str, str] = {}
_SKIP_LINK = re.compile(r"^/(api|static|docs|redoc|openapi)|\.(xlsx|csv|json|atom|xml|txt|pdf|png|jpe?g|docx?)$")


def _page_routes() -> list[tuple[str, re.Pattern[str]]]:
    app = create_app()
    routes = [
        route
        for included in app.router.routes
        for route in getattr(getattr(included, "original_router", None), "routes", [])
        if getattr(route, "endpoint", None) is not None
        and route.endpoint.__module__.startswith("web.pages.")
        and "GET" in route.methods
    ]
    # Literal paths before patterns, so /workspace/opportunities/new is not taken for an id.
    routes.sort(key=lambda r: "{" in r.path)
    return [(r.name, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", r.path) + "$")) for r in routes]


@pytest.fixture
def phone(chromium, live_site) -> Iterator[object]:
    context = chromium.new_context(base_url=live_site, viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def test_on_a_phone_the_first_result_is_on_the_first_screen_with_filters_folded(phone):
    phone.goto("/opportunities")
    first = phone.locator(".listing-card").first.bounding_box()
    assert first["y"] < PHONE["height"] - 120, first  # its title and more, not just an edge
    facets = phone.locator(".facet").first
    assert not facets.is_visible()  # folded behind the 筛选 button
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    # The menu is one button; opening it shows the links.
    assert not phone.locator(".main-nav a", has_text="产品清单").is_visible()
    phone.click(".nav-menu-button")
    assert phone.locator(".main-nav a", has_text="产品清单").is_visible()
    phone.click(".nav-menu-button")
    # Opening the filters and picking one: the results show with the filter as a removable chip.
    phone.click(".facet-toggle > summary")
    assert facets.is_visible()
    phone.locator(".facet a.facet-link").first.click()
    phone.wait_for_url(re.compile(r"[?&](track|domain|region)="))
    chip = phone.locator(".chips a.chip").first
    assert chip.is_visible() and "×" in chip.inner_text()
    assert phone.locator(".listing-card").first.bounding_box()["y"] < PHONE["height"]
    assert not phone.locator(".facet").first.is_visible()
    chip.click()
    phone.wait_for_url(re.compile(r"/opportunities$"))


def test_the_phone_menu_and_filters_work_without_javascript(chromium, live_site):
    context = chromium.new_context(base_url=live_site, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/opportunities")
    page.click(".nav-menu-button")
    assert page.locator(".main-nav a", has_text="产品清单").is_visible()
    page.click(".nav-menu-button")  # closed again, it no longer covers the page
    assert not page.locator(".main-nav a", has_text="产品清单").is_visible()
    page.click(".facet-toggle > summary")
    assert page.locator(".facet").first.is_visible()
    context.close()
    # On a wide screen the menu and filters show without a click.
    context = chromium.new_context(
        base_url=live_site, viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/opportunities")
    assert page.locator(".main-nav a", has_text="产品清单").is_visible()
    assert page.locator(".facet").first.is_visible()
    assert not page.locator(".nav-menu-button").is_visible()
    context.close()


def test_a_workspace_form_starts_near_the_top_of_a_phone_screen(phone):
    sign_in(phone, DEMO_EMAILS["issuer"])
    phone.goto("/workspace/opportunities/new")
    title = phone.locator("#f-title").bounding_box()
    assert title["y"] < 420, title  # header, one row of tabs and the heading: not 570 px
    tabs = phone.locator("nav.tabs").bounding_box()
    assert tabs["height"] < 60, tabs  # one row
    # Tag lists are laid out in the page, not in boxes that scroll on their own.
    overflow = phone.evaluate("[...document.querySelectorAll('.check-grid')].map(e => getComputedStyle(e).overflowY)")
    assert overflow and set(overflow) <= {"visible"}, overflow
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_footer_sits_at_the_bottom_of_a_short_page(phone):
    phone.goto("/login")
    footer = phone.locator("footer.site-footer").bounding_box()
    assert abs(footer["y"] + footer["height"] - PHONE["height"]) <= 2, footer


def _audit(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _mailed_path(database_url: str, to: str, prefix: str) -> str:
    """The site path of the newest `prefix` link the site queued for `to` (as its mail holds it)."""

    async def newest() -> list[str]:
        connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await connection.fetch("SELECT body FROM email_message WHERE to_address = $1 ORDER BY id DESC", to)
        finally:
            await connection.close()
        return [row["body"] for row in rows]

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        bodies = pool.submit(asyncio.run, newest()).result()
    for body in bodies:
        found = re.search(rf"({re.escape(prefix)}[A-Za-z0-9_-]+)", body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {prefix} link was mailed to {to}")


def _register(page, email: str) -> None:
    page.goto("/register")
    submit_registration(
        page,
        organisation=f"景德镇陶瓷数字科技有限公司{uuid.uuid4().hex[:4]}",
        credit_code=credit_code(900_000 + int(uuid.uuid4().hex[:5], 16)),
        email=email,
        password=PASSWORD,
    )


def _draft_answer(page, opportunity_id: int, title: str) -> str:
    """The signed-in enterprise drafts an answer; the path of its page."""
    page.goto(f"/opportunities/{opportunity_id}/answer")
    page.fill("#f-title", title)
    page.fill("#f-summary", "感知设备与监测平台一体建设。")
    page.click("form.answer-form button[type=submit]")
    page.wait_for_url(re.compile(r"/answers/\d+\?done=created"))
    return urlsplit(page.url).path


def _open_to_answer(page, skip: set[int]) -> int:
    """An opportunity the signed-in enterprise may still answer (its page offers 我要答题)."""
    page.goto("/opportunities")
    for href in page.locator(".listing-card .card-title a").evaluate_all("links => links.map(a => a.pathname)"):
        found = re.fullmatch(r"/opportunities/(\d+)", href)
        if found and int(found.group(1)) not in skip:
            page.goto(href)
            if page.locator("a", has_text="我要答题").count():
                return int(found.group(1))
    raise AssertionError("no other opportunity open to answer in the demo data")


def _audit_attachments_at_both_widths(page, path: str, violations: dict[str, list[str]], who: str) -> None:
    """A page with the attachments box: the file is listed, nothing scrolls sideways, and axe finds nothing."""
    for viewport in (WIDE, PHONE):
        page.set_viewport_size(viewport)
        page.goto(path)
        assert page.locator(".file-list a[download]", has_text=PDF_NAME).is_visible(), (path, viewport)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (path, viewport)
        found = _audit(page)
        if found:
            violations[f"{who} {path} at {viewport['width']} px"] = found
    page.set_viewport_size(WIDE)


def _make_what_the_demo_lacks(chromium, live_site, database_url, violations) -> dict[str, list[str]]:
    """Make, through the site's own pages, what the demo data lacks for the pages no link reaches:
    an opportunity with an attachment (its attachments box audited at both widths, on the owner's
    draft and the public page), an answer to it selected and published for 公示, a draft answer
    with an invited consortium member, an event, a confirmed registration, and unused single-use
    links (confirm, reset, sign in, invitation). Returns the paths each role's crawl starts with
    besides its usual ones."""
    title = f"抚州数字乡村监测{uuid.uuid4().hex[:4]}"
    start: dict[str, list[str]] = {"visitor": ["/docs"], "enterprise": [], "matchmaker": []}
    context = chromium.new_context(base_url=live_site, bypass_csp=True, locale="zh-CN", viewport=WIDE)
    page = context.new_page()

    # The issuer posts a draft with a document, then submits it; the matchmaker publishes it.
    sign_in(page, DEMO_EMAILS["issuer"])
    post_draft_opportunity(
        page, title, "在抚州各乡镇布设环境与农情感知设备，建设数字乡村监测平台。", region_code="361000", track="iot"
    )
    edit = page.locator("tr", has_text=title).locator("a[href$='/edit']").first.get_attribute("href") or ""
    opportunity_id = int(edit.split("/")[-2])
    page.goto(edit)
    page.set_input_files("#f-file", files=[{"name": PDF_NAME, "mimeType": "application/pdf", "buffer": PDF}])
    page.click("form.upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"files=uploaded"))
    _audit_attachments_at_both_widths(page, edit, violations, "issuer (a draft with an attachment)")
    page.goto("/workspace/opportunities")
    page.locator("tr", has_text=title).locator("button", has_text="提交审核").click()
    page.wait_for_url(re.compile(r"done=submitted"))
    context.clear_cookies()
    sign_in(page, DEMO_EMAILS["matchmaker"])
    page.goto("/review")
    page.locator(".review-card", has_text=title).locator("button", has_text="发布").click()
    page.wait_for_url(re.compile(r"done=published"))
    # An event (a draft, which only staff see).
    page.goto("/review/events/new")
    page.fill("#f-title", "抚州数字乡村对接会")
    page.fill("#f-starts_at", "2099-06-01T09:00")
    page.fill("#f-ends_at", "2099-06-01T11:00")
    page.fill("#f-place", "抚州市会议中心")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/review/events/\d+\?done=created"))
    event_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    start["matchmaker"] += [f"/review/events/{event_id}", f"/events/{event_id}"]
    context.clear_cookies()
    _audit_attachments_at_both_widths(
        page, f"/opportunities/{opportunity_id}", violations, "visitor (a published attachment)"
    )

    # The demo enterprise answers it; its issuer reviews the answer, selects it and publishes the
    # result (a 结果公示 notice).
    sign_in(page, DEMO_EMAILS["enterprise"])
    answer = _draft_answer(page, opportunity_id, "抚州数字乡村感知方案")
    page.check("form:has(button:has-text('提交答题')) input[name=confirm]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('提交答题')")
    page.wait_for_url(re.compile(r"done=submitted"))
    # A draft answer to another opportunity, with a consortium member invited by email; a third
    # opportunity open to answer leads the enterprise's crawl to the answer form.
    other = _open_to_answer(page, skip={opportunity_id})
    _draft_answer(page, other, "数字孪生巡检方案")
    member_email = f"member-{uuid.uuid4().hex[:6]}@fz.example.cn"
    page.click("#invite-member summary")
    page.fill("#f-invite-name", f"抚州农业传感有限公司{uuid.uuid4().hex[:4]}")
    page.fill("#f-invite-code", credit_code(950_000 + int(uuid.uuid4().hex[:4], 16)))
    page.fill("#f-invite-email", member_email)
    page.click("#invite-member button[type=submit]")
    page.wait_for_url(re.compile(r"done=invited"))
    third = _open_to_answer(page, skip={opportunity_id, other})
    start["enterprise"] += [f"/opportunities/{third}/answer", f"/opportunities/{opportunity_id}/interest"]
    context.clear_cookies()
    sign_in(page, DEMO_EMAILS["issuer"])
    set_up_review(page, opportunity_id)
    page.goto(answer)
    page.locator("input[name^=score_]").fill("88")
    page.fill("#f-comment", "感知方案成熟，分工清楚")
    page.click("button:has-text('保存评分')")
    page.wait_for_url(re.compile(r"done=reviewed"))
    page.click(".decision-buttons button:has-text('入围')")
    page.wait_for_url(re.compile(r"done=decided"))
    page.check("form:has(.decision-buttons) input[name=confirm]")
    with page.expect_navigation():  # to the same address as after 入围
        page.click(".decision-buttons button:has-text('中选')")
    page.goto(f"/opportunities/{opportunity_id}/answers")
    page.fill("#f-working_days", "5")
    page.check("form.publish-form input[name=confirm]")
    page.click("button:has-text('公示中选结果')")
    page.wait_for_url(re.compile(r"done=published"))
    start["visitor"].append("/results")
    context.clear_cookies()

    # Two new enterprises register: one confirms its email (a registration for the matchmakers to
    # review), the other's confirmation link is left for the visitor's crawl. Reset and sign-in
    # links are asked for the issuer and left unused.
    confirmed, unconfirmed = (f"{who}-{uuid.uuid4().hex[:6]}@jdz.example.cn" for who in ("boss", "owner"))
    _register(page, confirmed)
    page.goto(_mailed_path(database_url, confirmed, "/register/confirm/"))
    page.click("#confirm-email")
    page.wait_for_selector("#account-message")
    context.clear_cookies()
    _register(page, unconfirmed)
    context.clear_cookies()
    for ask, field in (("/password/forgot", "#f-email"), ("/login/link", "#f-email")):
        page.goto(ask)
        page.fill(field, DEMO_EMAILS["issuer"])
        with page.expect_navigation():
            page.click("form.form button[type=submit]")
    start["visitor"] += [
        _mailed_path(database_url, unconfirmed, "/register/confirm/"),
        _mailed_path(database_url, DEMO_EMAILS["issuer"], "/password/reset/"),
        _mailed_path(database_url, DEMO_EMAILS["issuer"], "/login/link/"),
        _mailed_path(database_url, member_email, "/invitations/"),
    ]
    context.close()
    return start


def test_every_page_has_no_serious_accessibility_violation_and_no_csp_error(chromium, live_site, live_database):
    routes = _page_routes()

    def route_of(path: str) -> str | None:
        return next((name for name, pattern in routes if pattern.match(path)), None)

    audited: dict[str, str] = {}
    violations: dict[str, list[str]] = {}
    csp_errors: list[str] = []
    start = _make_what_the_demo_lacks(chromium, live_site, live_database, violations)
    # A pairing to look at: the matchmaker accepts the first suggestion on the desk.
    setup = chromium.new_context(base_url=live_site, locale="zh-CN")
    desk = setup.new_page()
    sign_in(desk, DEMO_EMAILS["matchmaker"])
    desk.goto("/review/matches")
    desk.locator("button[value=accepted]").first.click()
    desk.wait_for_url(re.compile(r"done=accepted"))
    setup.close()
    for role in ("visitor", "enterprise", "issuer", "matchmaker", "admin"):
        # The audit context may bypass the CSP to inject axe; a second, normal context reports CSP errors.
        context = chromium.new_context(base_url=live_site, bypass_csp=True, locale="zh-CN")
        strict = chromium.new_context(base_url=live_site, locale="zh-CN")
        page, checker = context.new_page(), strict.new_page()
        checker.on(
            "console",
            lambda m, checker=checker: (
                csp_errors.append(f"{checker.url}: {m.text}")
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        if role != "visitor":
            sign_in(page, DEMO_EMAILS[role])
            sign_in(checker, DEMO_EMAILS[role])
        queue = [
            *start.get(role, []),
            "/",
            "/workspace",
            "/review",
            "/answers",
            "/events",
            "/review/events",
            "/pairings",
            "/demonstration/zones",
        ]
        queue += ["/demonstration/projects", "/demonstration/enterprises", "/interests", "/workspace/offerings"]
        queue += ["/admin/organisations", "/admin/users", "/registrations"]
        seen: set[str] = set()
        visits: dict[str | None, int] = {}
        while queue and len(seen) < 300:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = page.goto(path)
            if (
                response is None
                or response.status != 200
                or "text/html" not in response.headers.get("content-type", "")
            ):
                continue
            # Named by where the browser ended up (a page that needs a login redirects to /login).
            name = route_of(urlsplit(page.url).path)
            if name is not None and name not in audited:
                audited[name] = f"{role} {path}"
                found = _audit(page)
                if found:
                    violations[f"{role} {path}"] = found
                checker.goto(path)
            hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            for href in hrefs:
                parts = urlsplit(href)
                if parts.netloc or not parts.path.startswith("/") or _SKIP_LINK.search(parts.path):
                    continue
                target_route = route_of(parts.path)
                # Each role looks at a couple of pages of each kind: enough to reach what they link to.
                if target_route is None or visits.get(target_route, 0) >= 2 or parts.path in seen:
                    continue
                visits[target_route] = visits.get(target_route, 0) + 1
                queue.append(parts.path)
        context.close()
        strict.close()
    missing = sorted({name for name, _ in routes} - set(audited) - NOT_HTML - REDIRECTS)
    print(f"audited {len(audited)} page routes")
    for name in sorted(set(missing) & set(NEEDS_DEMO_DATA)):
        print(f"not audited: {name}: {NEEDS_DEMO_DATA[name]}")
    assert violations == {}
    assert csp_errors == []
    assert len(audited) >= 40
    assert sorted(set(missing) - set(NEEDS_DEMO_DATA)) == [], f"page routes the crawl never reached: {missing}"


def test_a_boosted_page_change_copies_no_inline_style_across(page):
    # Browser extensions and password managers set inline styles on inputs (CSSOM, which the CSP
    # allows). htmx's settle step used to copy `style` from the old element to the new one with
    # setAttribute, which the CSP refuses: a console error on every boosted click or form.
    page.goto("/opportunities")
    page.evaluate("document.querySelector('#q').style.outline = '1px solid red'")
    page.locator(".facet a.facet-link").first.click()
    page.wait_for_url(re.compile(r"[?&](track|domain|region)="))
    page.wait_for_timeout(300)  # the settle step runs after the swap
    assert page.problems == []


def test_a_matchmaker_dismisses_a_suggestion_stays_at_the_suggestions_and_can_undo_it(page):
    sign_in(page, DEMO_EMAILS["matchmaker"])
    page.goto("/opportunities")
    page.locator(".listing-card a").first.click()
    page.wait_for_url(re.compile(r"/opportunities/\d+$"))
    # A suggestion still open to 采纳/忽略 (an accepted one shows its pairing instead, and the crawl accepts one).
    first = page.locator(".match-list > li:has(input[name=confirm])").first
    title = first.locator(".card-title").inner_text()
    first.scroll_into_view_if_needed()
    first.locator("input[name=confirm]").check()
    first.locator("button[value=dismissed]").click()
    page.wait_for_url(re.compile(r"done=dismissed"))
    # Back at the suggestions, not at the top of the page, with what happened and a way back.
    heading = page.locator("#matches-heading").bounding_box()
    assert page.evaluate("window.scrollY") > 0 and -2 <= heading["y"] < 200, heading
    notice = page.locator(".match-notice")
    assert "已忽略" in notice.inner_text()
    titles = page.locator(".match-list > li .card-title")
    assert title not in titles.all_inner_texts()
    notice.locator("button", has_text="撤销忽略").click()
    page.wait_for_url(re.compile(r"done=restored"))
    assert "已撤销忽略" in page.locator(".match-notice").inner_text()
    assert title in titles.all_inner_texts()
    assert page.evaluate("window.scrollY") > 0


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["375", "1280"])
def test_the_ten_hundred_thousand_progress_has_demo_figures_and_full_width_bars(chromium, live_site, viewport):
    context = chromium.new_context(base_url=live_site, viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.goto("/demonstration")
    card = page.locator(".demo-card").first
    assert int(card.locator(".demo-number").inner_text()) > 0  # the demo registry, not 0 / 0.0 %
    box, meter = card.bounding_box(), card.locator(".demo-meter").bounding_box()
    # The bar spans the card (it was a 100 px strip floating in the middle), under the text it belongs to.
    assert meter["width"] > box["width"] - 40 and abs(meter["x"] - (box["x"] + 16)) <= 2, (box, meter)
    fill = card.locator(".demo-meter-fill").bounding_box()
    percent = float(card.locator(".muted").inner_text().removeprefix("完成 ").removesuffix("%"))
    assert abs(fill["width"] - meter["width"] * percent / 100) <= 2, (fill, meter, percent)
    # The year is picked from a list, beside its button.
    year, button = page.locator("#f-year").bounding_box(), page.locator(".demo-year button").bounding_box()
    assert abs(year["y"] + year["height"] / 2 - (button["y"] + button["height"] / 2)) <= 4
    context.close()
