import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags from the machine's notes: no background networking (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright driver for the session (the sync API allows one per thread)."""
    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright, *extra_args: str):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="session")
def browser(playwright_driver):
    browser = launch_chromium(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture
def browser_page(browser):
    """A fresh browser context (no cookies) and page; base URL set by `page`."""

    def make(base_url: str, **context_options):
        context = browser.new_context(base_url=base_url, **context_options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    contexts = []
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser_page, live_server, transactional_db):
    """A Chromium page against the live server, on the real PostgreSQL test database."""
    return browser_page(live_server.url)
