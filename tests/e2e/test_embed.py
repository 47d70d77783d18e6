"""The booking page embedded in an iframe on a customer's website: the website hears of the
booking through a `message` event; a website that is not allowed cannot frame the page."""

import json
from datetime import datetime

import pytest
import requests
from playwright.sync_api import expect

from meetings.models import Booking, SchedulingPage
from tests.calendars.conftest import connect_google, connection, google_mailbox  # noqa: F401
from tests.support.website import start_website

EVERY_DAY = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture
def websites(tmp_path):
    """The customer's website (allowed to embed) and another one (not allowed)."""
    for name in ("allowed", "other"):
        (tmp_path / name).mkdir()
    allowed, other = start_website(tmp_path / "allowed"), start_website(tmp_path / "other")
    yield allowed, other
    allowed.stop()
    other.stop()


@pytest.fixture
def intro(admin_user, connection, live_server, settings, websites):  # noqa: F811
    settings.APP_BASE_URL = live_server.url
    account = admin_user.account
    account.embed_origins = [websites[0].origin]
    account.save()
    return SchedulingPage.objects.create(
        account=account,
        owner=admin_user,
        name="Intro call",
        slug="intro",
        timezone="UTC",
        weekly_hours=EVERY_DAY,
        durations=[30],
        min_notice=0,
        increment=30,
    )


def embedding_page(app_url: str, app_origin: str) -> str:
    return f"""<!DOCTYPE html><html><head><title>Book with Acme</title></head><body>
<h1>Book with Acme</h1>
<iframe src="{app_url}/meetings/intro?embed=1" title="Book a meeting"
        style="width:100%;height:720px;border:0"></iframe>
<pre id="received"></pre>
<script>
  window.addEventListener("message", (event) => {{
    if (event.origin !== "{app_origin}") return;
    document.getElementById("received").textContent = JSON.stringify(event.data);
  }});
</script></body></html>"""


@pytest.mark.e2e
def test_an_embedded_booking_page_tells_the_website_about_the_booking(
    browser_page, live_server, intro, websites, sandbox_client, transactional_db
):
    allowed, _ = websites
    url = allowed.page("book.html", embedding_page(live_server.url, live_server.url))
    page = browser_page(allowed.origin)
    page.goto(url)
    booking = page.frame_locator("iframe[title='Book a meeting']")
    booking.locator(".day:not([disabled])").first.click()
    booking.locator(".time").first.click()
    booking.get_by_label("First name").fill("Cora")
    booking.get_by_label("Last name").fill("Contact")
    booking.get_by_label("Email").fill("cora@client.example")
    booking.get_by_role("button", name="Confirm booking").click()
    expect(booking.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page.locator("#received")).not_to_be_empty()

    message = json.loads(page.locator("#received").inner_text())
    record = Booking.objects.get()
    assert message["type"] == "meeting-booked" and message["page"] == "intro"
    assert message["status"] == "confirmed"
    assert datetime.fromisoformat(message["start"]) == record.start
    assert datetime.fromisoformat(message["end"]) == record.end
    assert record.source == "page"
    manage = booking.get_by_role("link", name="Manage or cancel this meeting")
    assert manage.get_attribute("href").endswith(f"/meetings/manage/{record.manage_token}/")


@pytest.mark.e2e
def test_a_website_that_is_not_allowed_cannot_frame_the_page(
    browser, live_server, intro, websites, transactional_db
):
    _, other = websites
    embed_url = f"{live_server.url}/meetings/intro?embed=1"
    policy = requests.get(embed_url, timeout=10).headers["Content-Security-Policy"]
    assert f"frame-ancestors {websites[0].origin}" in policy
    assert other.origin not in policy

    url = other.page("book.html", embedding_page(live_server.url, live_server.url))
    # A context of its own: the refusal is what this test wants to see, where every other
    # browser test (browser_page) fails on any Content-Security-Policy refusal.
    context = browser.new_context()
    try:
        page = context.new_page()
        refusals = []
        page.on("console", lambda message: refusals.append(message.text))
        page.goto(url)
        page.wait_for_load_state("load")
        frame = page.frame_locator("iframe[title='Book a meeting']")
        expect(frame.locator("#booking")).to_have_count(0)
        assert any("frame-ancestors" in text for text in refusals), refusals
        # Chromium shows its error page in the frame instead of the booking page.
        child = next(f for f in page.frames if f != page.main_frame)
        assert child.url == "chrome-error://chromewebdata/"
    finally:
        context.close()
