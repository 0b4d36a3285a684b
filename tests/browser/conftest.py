"""A real browser: Debian's Chromium driven by Playwright (no browser download). Tests here are
skipped, loudly, when /usr/bin/chromium is missing outside CI (`apt-get install chromium`);
under CI they fail instead, since .ci/run installs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CLOUDBILL_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOCAL = ("http://127.0.0.1:", "http://localhost:", "data:", "blob:")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"browser tests SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page whose network is off: every request to a host other than this machine's loopback
    is refused and recorded, so a page that needs the internet shows it."""
    context = browser.new_context()
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()

    # An asset of cloudbill's own that fails to load is a broken page too. (A request to
    # another host that the docs' Content-Security-Policy blocks never leaves the browser:
    # that is the policy working, for ReDoc's footer logo.)
    def failed(request: Any) -> None:
        if request.url.startswith(LOCAL):
            outside.append(f"failed: {request.url}")

    page.on("requestfailed", failed)
    yield page, outside
    context.close()
