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
    """A fresh browser context (no cookies) and page; base URL set by `page`.

    Every browser test also checks that the Content-Security-Policy never refused anything
    the app's own pages need (Chromium reports each refusal on the console)."""
    refusals: list[str] = []

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            refusals.append(f"{message.page.url if message.page else ''}: {message.text}")

    def make(base_url: str, **context_options):
        context = browser.new_context(base_url=base_url, **context_options)
        context.set_default_timeout(15_000)
        context.on("console", watch)
        contexts.append(context)
        return context.new_page()

    contexts = []
    yield make
    for context in contexts:
        context.close()
    assert not refusals, "the Content-Security-Policy refused: " + "; ".join(refusals)


@pytest.fixture
def page(browser_page, live_server, transactional_db):
    """A Chromium page against the live server, on the real PostgreSQL test database."""
    return browser_page(live_server.url)
