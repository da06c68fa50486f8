"""In real headless Chromium: the API documentation works offline under the site's CSP, and a
refused form post leaves the browser on an address it can reload."""

import pytest

from tests.web.conftest import sign_in
from tools.devserver import DEMO_EMAILS


@pytest.mark.xfail(
    strict=True,
    reason="known defect (issue 13, open): since the accounts routes landed, Swagger UI stops rendering after "
    "the 7 operations of the first tag (账号), with no console error; the document itself lists 177 operations",
)
def test_the_api_docs_render_from_the_site_itself_under_its_csp(page, live_site):
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((live_site, "data:")) else None)
    page.goto("/docs")
    # Swagger UI renders the operations progressively: wait until they are all listed (polled from
    # here: a page-side predicate would need eval, which the site's CSP forbids).
    page.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    for _ in range(150):
        if page.locator(".swagger-ui .opblock").count() > 50:
            break
        page.wait_for_timeout(200)
    assert page.locator(".swagger-ui .opblock").count() > 50  # every operation of the API is listed
    assert "开放接口文档" in page.title()
    assert "江西省数字经济应用场景" in page.locator(".swagger-ui .info").inner_text()
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
