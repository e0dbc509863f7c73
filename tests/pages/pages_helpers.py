"""Steps the page tests share."""

from __future__ import annotations

from typing import Any


def sign_in(tab: Any, base: str, token: str) -> None:
    """Sign in through the login form, as a person would."""
    tab.goto(base + "/login")
    tab.fill("#token", token)
    tab.click("#login-submit")
    tab.wait_for_load_state()


def check(tab: Any, query: str, domain: str, as_of: str = "") -> None:
    """Fill and submit the check form."""
    tab.fill("#q", query)
    tab.select_option("#domain", domain)
    tab.fill("#as_of", as_of)
    tab.click("#check-submit")
    tab.wait_for_load_state()
