"""Driving the system Chromium (Debian's `chromium`, never one Playwright downloads): where it is,
and a page that records its script errors and the addresses it asks for.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Character creation and renders take seconds on a two-core machine; waits are generous.
WAIT_MS = 120_000
KEY = "test-key-alpha"


def chromium_executable() -> str:
    configured = os.environ.get("TROUPE_TEST_CHROMIUM")
    candidates = (
        [configured]
        if configured
        else ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    where = f"TROUPE_TEST_CHROMIUM={configured} is not an executable; " if configured else ""
    message = (
        f"{where}no Chromium to drive the UI tests: install it (apt-get install chromium, "
        "as scripts/test does when run as root) or set TROUPE_TEST_CHROMIUM to a Chromium binary"
    )
    # CI sets this: there the browser is installed, so its absence is a failure, not a skip.
    if os.environ.get("TROUPE_TEST_BROWSER") == "require":
        pytest.fail(message)
    pytest.skip(message)


class PageWatch:
    """A page that records its script errors and every address it asked for."""

    def __init__(self, browser: Browser, base_url: str, *elsewhere: str) -> None:
        self.allowed = (*(f"{url}/" for url in (base_url, *elsewhere)), "blob:", "data:")
        self.base_url = base_url
        self.page: Page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(WAIT_MS)
        self.script_errors: list[str] = []
        self.requested: list[str] = []
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        self.page.on("request", lambda request: self.requested.append(request.url))

    def open(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def assert_clean(self) -> None:
        assert not self.script_errors, self.script_errors
        elsewhere = [url for url in self.requested if not url.startswith(self.allowed)]
        assert not elsewhere, f"the page reached beyond its server: {elsewhere}"
        self.page.close()
