"""In real headless Chromium: the API documentation works offline under the site's CSP, and a
refused form post leaves the browser on an address it can reload."""

from tests.web.conftest import sign_in
from tools.devserver import DEMO_EMAILS


def _shown(page, selector: str, attribute: str) -> set[str]:
    return set(page.locator(selector).evaluate_all(f"els => els.map(e => e.getAttribute('{attribute}'))"))


def _soon(read, wanted, page) -> bool:
    """Whether `read()` gives `wanted` within 5 s (polled from here: a page-side predicate would need eval)."""
    for _ in range(50):
        if read() == wanted:
            return True
        page.wait_for_timeout(100)
    return False


def _settled(read, page):
    """`read()` once two readings 50 ms apart agree (the list has rendered after a scroll)."""
    last = read()
    for _ in range(40):
        page.wait_for_timeout(50)
        now = read()
        if now == last:
            return now
        last = now
    return last


def test_the_api_docs_show_every_operation_from_the_site_itself_under_its_csp(page, live_site):
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((live_site, "data:")) else None)
    document = page.request.get("/api/v1/openapi.json").json()
    operations = [op for item in document["paths"].values() for op in item.values()]
    expected = {f"operations-{tag}-{op['operationId']}" for op in operations for tag in op["tags"]}
    tags = {tag for op in operations for tag in op["tags"]}
    assert len(operations) > 150 and len(expected) == len(operations)  # one tag each, so one block each

    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    assert "开放接口文档" in page.title()
    assert "江西省数字经济应用场景" in page.locator(".swagger-ui .info").inner_text()
    # From 150 entries (tags + operations) on, Swagger UI keeps only the operations near the
    # viewport in the page: read it as a person does, top to bottom, and collect what is shown.
    seen_operations: set[str] = set()
    seen_tags: set[str] = set()
    for _ in range(400):
        shown = _settled(lambda: _shown(page, ".swagger-ui .opblock", "id"), page)
        seen_operations |= shown
        seen_tags |= _shown(page, ".swagger-ui .opblock-tag", "data-tag")
        if page.evaluate("window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1"):
            break
        page.mouse.wheel(0, 300)  # less than the viewport's height: every operation passes through it
    assert seen_operations == expected  # every operation of the document, each under its tag
    assert seen_tags == tags

    # The browser's find-in-page cannot reach operations outside the viewport; the filter box
    # can, by tag or by path, and then lists them all at once.
    page.evaluate("window.scrollTo(0, 0)")
    box = page.get_by_label("按分组或路径筛选接口")
    box.fill("十百千")
    demonstration = {f"operations-十百千-{op['operationId']}" for op in operations if op["tags"] == ["十百千"]}
    assert _soon(lambda: _shown(page, ".swagger-ui .opblock", "id"), demonstration, page)
    box.fill("result-notices")
    notices = {path for path in document["paths"] if "result-notices" in path}
    assert _soon(lambda: _shown(page, ".swagger-ui .opblock-summary-path", "data-path"), notices, page)

    # On a phone the page does not scroll sideways, the filter box is usable, and an operation opens.
    page.set_viewport_size({"width": 375, "height": 812})
    assert box.bounding_box()["width"] > 300  # the filter box spans the phone's width (Swagger UI caps it at 175px)
    # Opened from a short, filtered list: in the long virtualised one, the block under the pointer
    # can be replaced while it opens.
    page.locator(".swagger-ui .opblock-summary-control").first.click()
    page.wait_for_selector(".swagger-ui .opblock.is-open .opblock-body")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert foreign == []  # nothing from a CDN: the page works on an intranet
    # the `page` fixture fails the test on any CSP violation or script error


def test_after_a_refused_form_post_reloading_shows_the_form_page_again(page):
    sign_in(page, DEMO_EMAILS["matchmaker"])
    page.goto("/review")
    form = page.locator("form[action*='/publish']").first
    form.locator("input[name=csrf_token]").evaluate("input => { input.value = 'forged'; }")
    form.locator("button[type=submit]").first.click()
    page.wait_for_selector(".error-page")
    assert page.locator(".error-code").inner_text() == "403"
    assert page.url.endswith("/review")  # not the POST-only /review/…/publish
    page.reload()
    assert page.locator(".error-page").count() == 0
    assert page.locator("form[action*='/publish']").count() >= 1
