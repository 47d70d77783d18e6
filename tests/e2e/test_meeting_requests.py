"""The meeting request workflow in the browser: a contact requests a time on a page whose
host has no working calendar; the host connects, accepts in the app; the event lands in the
sandbox calendar and the contact gets the confirmation."""

import pytest
from django.core import mail

from calendars import connections
from meetings.models import Booking, SchedulingPage
from tests.conftest import PASSWORD
from tests.support.browser import sign_in
from tests.support.sandbox import google_credentials

OWNER_MAILBOX = "admin@calendar.example"


@pytest.fixture
def request_page(admin_user, live_server, settings):
    settings.APP_BASE_URL = live_server.url
    return SchedulingPage.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Discovery",
        slug="discovery",
        timezone="UTC",
        weekly_hours={str(day): [["09:00", "17:00"]] for day in range(7)},
        durations=[30],
        min_notice=60,
        increment=30,
    )


@pytest.mark.e2e
def test_a_contact_requests_and_the_host_accepts_in_the_app(
    browser_page, live_server, request_page, admin_user, sandbox_client, transactional_db
):
    contact = browser_page(live_server.url, timezone_id="UTC")
    contact.goto("/meetings/discovery")
    note = contact.locator("#mode-note")
    note.wait_for()
    assert "request a time" in note.inner_text()
    contact.locator(".day:not([disabled])").first.click()
    contact.locator(".time").first.click()
    contact.get_by_label("First name").fill("Rita")
    contact.get_by_label("Last name").fill("Request")
    contact.get_by_label("Email").fill("rita@client.example")
    contact.get_by_role("button", name="Request this time").click()
    contact.wait_for_url("**/meetings/manage/**")
    assert contact.get_by_role("heading", name="Request sent").is_visible()
    requested = Booking.objects.get()
    assert requested.status == "requested"

    # The host connects a calendar since, then answers the request in the app.
    sandbox_client.mailbox("google", OWNER_MAILBOX)
    credentials = google_credentials(sandbox_client.base_url, OWNER_MAILBOX)
    connections.create_connection(admin_user, "google", credentials)
    host = browser_page(live_server.url)
    sign_in(host, admin_user.email, PASSWORD)
    requests_list = host.locator("#meeting-requests")
    assert "Rita Request" in requests_list.inner_text()
    requests_list.get_by_role("link", name="Answer").click()
    host.get_by_role("button", name="Accept this time").click()
    host.wait_for_url("**/app/meetings/")
    assert "Accepted" in host.locator(".messages").inner_text()

    requested.refresh_from_db()
    assert requested.status == "confirmed"
    events = sandbox_client.events(OWNER_MAILBOX, OWNER_MAILBOX)
    written = [e for e in events if e.get("summary", "").startswith("Discovery")]
    assert len(written) == 1 and "rita@client.example" in str(written[0]["attendees"]).lower()
    confirmation = [m for m in mail.outbox if m.to == ["rita@client.example"]][-1]
    assert confirmation.subject.startswith("Confirmed")
    assert confirmation.attachments[0][0] == "invite.ics"

    contact.goto(contact.url.split("?")[0])  # the contact's manage link, later
    assert contact.get_by_role("heading", name="Your meeting").is_visible()
    assert contact.get_by_role("button", name="Cancel meeting").is_visible()
