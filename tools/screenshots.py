"""Regenerate the screenshots shown in the README: `.venv/bin/python -m tools.screenshots`.

Builds a throw-away SQLite demo database, serves the site on a free local port, and takes
each key page in headless Chromium (Debian's package) at desktop and phone widths.
"""

import argparse
import re
import tempfile
from pathlib import Path

from backend.settings import Environment, Settings
from tools.devserver import CHROMIUM, CHROMIUM_ARGS, DEMO_EMAILS, prepare_demo_database, running_site

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def _sign_in(page, role: str) -> None:
    page.goto("/login")
    page.fill("#f-email", DEMO_EMAILS[role])
    page.fill("#f-password", "demo-2026")
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _shoot(page, name: str, out: Path, *, full_page: bool = True) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print(f"  {name}.png")


def take(browser, base_url: str, out: Path) -> None:
    desktop = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    page = desktop.new_page()
    page.goto("/")
    _shoot(page, "home", out)
    page.goto("/opportunities?q=智慧农业")
    _shoot(page, "opportunities-search", out)
    page.goto("/opportunities?q=智慧农业&region=360700")
    _shoot(page, "opportunities-filtered", out)
    page.goto("/opportunities?q=智慧农业&region=360400")
    _shoot(page, "opportunities-empty", out)
    page.goto("/opportunities")
    page.locator(".listing-card a").first.click()
    page.wait_for_url(re.compile(r"/opportunities/\d+"))
    _shoot(page, "opportunity-detail", out)
    page.goto("/offerings?q=物联网")
    page.locator(".listing-card a").first.click()
    page.wait_for_url(re.compile(r"/offerings/\d+"))
    _shoot(page, "offering-detail", out)
    page.goto("/login")
    _shoot(page, "login", out)
    page.goto("/no-such-page")
    _shoot(page, "error-404", out)

    _sign_in(page, "issuer")
    page.goto("/workspace/opportunities")
    _shoot(page, "issuer-workspace", out)
    page.goto("/workspace/opportunities/new")
    page.fill("#f-budget_min", "500")
    page.fill("#f-budget_max", "100")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#title-error")
    _shoot(page, "issuer-form-errors", out)
    desktop.close()

    staff = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    page = staff.new_page()
    _sign_in(page, "matchmaker")
    page.goto("/review")
    _shoot(page, "review-queue", out)
    page.goto("/review/import")
    csv = "类型,名称,单位,地区,赛道\n机会,抚州数字乡村治理平台,抚州市农业农村局,抚州市,数字乡村\n机会,,缺名称的单位,南昌市,\n产品,智能巡检机器人,某科技公司,全国,物联网\n"
    path = out.parent / "_import-example.csv"
    path.write_text(csv, encoding="utf-8")
    page.set_input_files("#f-file", str(path))
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#report-heading")
    path.unlink()
    _shoot(page, "import-report", out)
    staff.close()

    phone = browser.new_context(base_url=base_url, viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    page = phone.new_page()
    page.goto("/")
    _shoot(page, "phone-home", out, full_page=False)
    page.goto("/opportunities?q=智慧农业")
    _shoot(page, "phone-search", out, full_page=False)
    page.goto("/opportunities")
    _shoot(page, "phone-opportunities", out, full_page=False)
    page.click(".facet-toggle > summary")
    _shoot(page, "phone-filters-open", out, full_page=False)
    page.click(".nav-menu-button")
    _shoot(page, "phone-menu", out, full_page=False)
    page.goto("/opportunities?q=智慧农")
    _shoot(page, "phone-did-you-mean", out, full_page=False)
    page.goto("/help")
    _shoot(page, "phone-help", out, full_page=False)
    page.goto("/demonstration")
    _shoot(page, "phone-progress", out, full_page=False)
    page.goto("/opportunities?budget=100-500&deadline=30d")
    _shoot(page, "phone-budget-deadline", out, full_page=False)
    _sign_in(page, "issuer")
    page.goto("/workspace/opportunities/new")
    _shoot(page, "phone-issuer-form", out, full_page=False)
    phone.close()

    # Budget and deadline filters; saved searches of both lists, each with its frequency.
    desktop = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    page = desktop.new_page()
    page.goto("/opportunities?budget=100-500&deadline=30d")
    _shoot(page, "opportunities-budget-deadline", out, full_page=False)
    _sign_in(page, "enterprise")
    page.goto("/opportunities?q=智慧农业&budget=100-500")
    page.select_option("#save-search-frequency", "daily")
    page.click("form.save-search button[type=submit]")
    page.wait_for_url(re.compile(r"/subscriptions"))
    _shoot(page, "subscriptions", out, full_page=False)
    desktop.close()
    desktop = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    page = desktop.new_page()
    _sign_in(page, "issuer")
    page.goto("/offerings?q=物联网&sort=maturity")
    _shoot(page, "offerings-save-search", out, full_page=False)
    desktop.close()

    desktop = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    page = desktop.new_page()
    page.goto("/help")
    _shoot(page, "help", out)
    page.goto("/contact")
    _shoot(page, "contact", out)
    page.goto("/opportunities?q=blockchian")
    _shoot(page, "opportunities-did-you-mean", out)
    _sign_in(page, "matchmaker")
    page.goto("/pairings")
    _shoot(page, "pairing-board", out)
    page.goto("/demonstration")
    _shoot(page, "progress", out, full_page=False)
    # A dismissed suggestion: the page stays at the suggestions, with 撤销忽略.
    page.goto("/opportunities")
    page.locator(".listing-card a").first.click()
    page.wait_for_url(re.compile(r"/opportunities/\d+$"))
    first = page.locator(".match-list > li").first
    first.locator("input[name=confirm]").check()
    first.locator("button[value=dismissed]").click()
    page.wait_for_url(re.compile(r"done=dismissed"))
    _shoot(page, "matches-dismissed", out, full_page=False)
    desktop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/screens.db"
        prepare_demo_database(url)
        settings = Settings(env=Environment.demo, database_url=url, data_dir=Path(tmp) / "data")
        with running_site(settings) as base_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print(f"screenshots → {args.out}")
            take(browser, base_url, args.out)
            browser.close()


if __name__ == "__main__":
    main()
