"""The organisation picker in Chromium on a phone: type part of a name, pick the suggestion, save."""

import re

from tests.web.conftest import AXE, sign_in
from tools.devserver import DEMO_EMAILS

PHONE = {"width": 375, "height": 812}


def _suggestions_for(page, typed: str, wanted: str):
    """On the admin desk's new-account form, type `typed` and wait for `wanted` to be offered."""
    sign_in(page, DEMO_EMAILS["admin"])
    page.goto("/admin/users")
    field = page.locator("#f-organisation")
    field.click()
    field.press_sequentially(typed, delay=40)
    choice = page.locator("#organisation-suggestions [role=option]").filter(has=page.get_by_text(wanted, exact=True))
    choice.wait_for(state="visible", timeout=5000)
    return field, choice


def test_on_a_phone_an_admin_types_part_of_a_name_and_picks_the_organisation(chromium, live_site):
    # axe-core is injected as an inline script, so it runs in a context that ignores the CSP.
    audit = chromium.new_context(base_url=live_site, viewport=PHONE, locale="zh-CN", bypass_csp=True)
    page = audit.new_page()
    _suggestions_for(page, "交通运输", "江西省交通运输厅")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    audit.close()
    serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, serious  # with the list open

    context = chromium.new_context(base_url=live_site, viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    field, choice = _suggestions_for(page, "交通运输", "江西省交通运输厅")
    assert field.get_attribute("aria-expanded") == "true"
    box = choice.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box  # on the screen, not cut off
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    choice.click()
    assert field.input_value() == "江西省交通运输厅"
    assert page.locator("#organisation-suggestions").is_hidden() and field.get_attribute("aria-expanded") == "false"

    page.fill("#f-email", "picker.test@example.cn")
    page.fill("#f-display_name", "选择测试")
    page.select_option("#f-role", "issuer")
    page.fill("#f-password", "赣江两岸灯火通明-2026")
    page.get_by_role("button", name="新建").click()
    page.wait_for_url(re.compile(r"/admin/users/\d+"))
    # The new account belongs to the organisation picked; its page shows the name, not a number.
    assert page.locator("#f-organisation").input_value() == "江西省交通运输厅"
    context.close()
    assert not problems, problems  # no CSP violation, no script error
