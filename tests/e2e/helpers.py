"""Small steps the browser tests share."""

from __future__ import annotations

from tests.factories import PASSWORD


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
