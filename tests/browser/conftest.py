"""Headless Debian Chromium driven by Playwright (never a downloaded browser) against live_server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in fixtures are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REQUIRE_BROWSER = os.environ.get("SEMROUTE_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (SEMROUTE_REQUIRE_BROWSER=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        _unavailable(
            "needs Debian's /usr/bin/chromium: run `make browser` (apt-get install chromium chromium-driver)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("needs the playwright Python package (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
