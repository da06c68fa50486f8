"""In real Chromium: the "相似的已有机会" box on the new-opportunity form works under the CSP, with htmx."""

from tests.web.conftest import sign_in
from tools.devserver import DEMO_EMAILS

TITLE = "鄱阳湖水位水文智能监测预警"
DESCRIPTION = "围绕鄱阳湖及五河尾闾新建水位、流量、水质自动监测站，实现汛期洪水预报预警。"


def test_the_similar_box_fills_in_place_when_the_button_is_pressed(page):
    sign_in(page, DEMO_EMAILS["issuer"])
    page.goto("/workspace/opportunities/new")
    page.fill("#f-title", TITLE)
    page.fill("#f-description", DESCRIPTION)
    page.click("button:has-text('查找相似机会')")
    box = page.locator("#similar-box")
    box.locator("h2", has_text="相似的已有机会").wait_for()
    assert "鄱阳湖水位水文智能监测与预警" in box.inner_text()
    # htmx swapped the box only: still on the form, with what was typed.
    assert page.url.endswith("/workspace/opportunities/new")
    assert page.input_value("#f-title") == TITLE


def test_the_similar_box_follows_the_title_as_it_changes(page):
    sign_in(page, DEMO_EMAILS["issuer"])
    page.goto("/workspace/opportunities/new")
    page.fill("#f-title", TITLE)
    page.fill("#f-description", DESCRIPTION)  # leaving the title field fires its change event
    page.locator("#similar-box h2", has_text="相似的已有机会").wait_for()
    assert "鄱阳湖水位水文智能监测与预警" in page.locator("#similar-box").inner_text()
