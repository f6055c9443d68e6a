"""Take the README screenshots from a running demo (`serviceloop demo`) with Debian chromium.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 docs/img SL-001281

The case number picks the workspace case to show (one with a long history reads best). Chinese
text needs a CJK font on the machine (e.g. apt-get install fonts-wqy-microhei).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "demo-2024-loop"  # noqa: S105 - the demo's published password


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def save(page: Page, path: Path) -> None:
    page.screenshot(path=str(path))
    print(path)


def main(base: str, out: Path, case_number: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        staff = browser.new_context(viewport={"width": 1360, "height": 1300}).new_page()
        sign_in(staff, base, "manager")
        staff.goto(f"{base}/work/cases/{case_number}/")
        save(staff, out / "workspace-case.png")
        customer = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
        sign_in(customer, base, "customer@example.net")
        first = customer.locator("tbody tr a").first.get_attribute("href")
        customer.goto(f"{base}{first}")
        customer.select_option("select[name=language]", "zh-hans")
        customer.wait_for_load_state("networkidle")
        save(customer, out / "portal-case-zh.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]), sys.argv[3])
