"""Browser fixtures: Debian's Chromium driven headless by Playwright against the served app.

Screenshots go to a temporary folder, or to PAGES_SCREENSHOTS (e.g. docs/screenshots) when set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing: run scripts/ensure-browser.sh"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is missing: run scripts/ensure-browser.sh"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def base(served: tuple[Any, str], tmp_path: Path) -> Iterator[str]:
    """The served app's URL, with bulk-check files kept in this test's folder."""
    app = served[0]
    before = dict(app.config)
    app.config["PAGES_BULK_DIR"] = str(tmp_path / "bulk")
    yield served[1]
    for key in ("PAGES_BULK_DIR", "PAGES_BULK_CHUNK", "PAGES_BULK_REFRESH"):
        if key in before:
            app.config[key] = before[key]
        else:
            app.config.pop(key, None)


@pytest.fixture
def page(browser: Any, client: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test; depends on `client` so tables are emptied after."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def tokens(token: Any) -> dict[str, str]:
    return {"system": token("system"), "regulator": token("regulator", "王科长"),
            "officer": token("officer", "李经办")}


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Any, str], None]:
    """`shoot(page, name)`: a desktop and a phone screenshot; fails if the phone layout overflows."""
    folder = Path(os.environ.get("PAGES_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def take(tab: Any, name: str) -> None:
        assert re.fullmatch(r"[a-z0-9-]+", name)
        tab.set_viewport_size(DESKTOP)
        tab.screenshot(path=str(folder / f"{name}-desktop.png"), full_page=True)
        tab.set_viewport_size(PHONE)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        tab.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
        tab.set_viewport_size(DESKTOP)
        assert overflow <= 1, f"{name}: the page is {overflow}px wider than a 390px phone screen"

    return take

