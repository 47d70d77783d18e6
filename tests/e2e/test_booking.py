"""A contact in another time zone books in the browser, then cancels from the manage link."""

from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from crm.models import Contact, Meeting
from meetings.models import Booking, SchedulingPage
from tests.calendars.conftest import MAILBOX, connect_google, connection, google_mailbox  # noqa: F401

WEEKDAYS = {str(day): [["09:00", "17:00"]] for day in range(5)}


@pytest.fixture
def demo_page(admin_user, connection, live_server, settings):  # noqa: F811
    settings.APP_BASE_URL = live_server.url
    admin_user.timezone = "America/New_York"
    admin_user.save()
    return SchedulingPage.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Intro call",
        slug="intro",
        timezone="America/New_York",
        weekly_hours=WEEKDAYS,
        durations=[30],
        min_notice=60,
        increment=30,
        questions=[{"label": "Topic", "required": True}],
    )


@pytest.mark.e2e
def test_a_contact_in_warsaw_books_and_then_cancels(
    browser_page, live_server, demo_page, sandbox_client, transactional_db
):
    page = browser_page(live_server.url, timezone_id="Europe/Warsaw", locale="en-GB")
    page.goto("/meetings/intro")
    assert page.get_by_label("Your time zone").input_value() == "Europe/Warsaw"
    day = page.locator(".day:not([disabled])").first
    day.wait_for()
    day.click()
    first_time = page.locator(".time").first
    shown = first_time.inner_text()
    first_time.click()
    page.get_by_label("First name").fill("Cora")
    page.get_by_label("Last name").fill("Contact")
    page.get_by_label("Email").fill("cora@client.example")
    page.get_by_role("button", name="Confirm booking").click()
    assert page.get_by_role("alert").inner_text() == "Please answer: Topic"
    page.get_by_label("Topic *").fill("Pricing")
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url("**/meetings/manage/**")
    assert page.get_by_role("heading", name="You are booked").is_visible()

    booking = Booking.objects.get()
    # 09:00 in New York is 15:00 in Warsaw (or 14:00 for the weeks their DST dates differ).
    assert booking.start.astimezone(ZoneInfo("Europe/Warsaw")).strftime("%H:%M") == shown
    assert booking.answers == {"Topic": "Pricing"}
    contact = Contact.objects.get(email__iexact="cora@client.example")
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    assert list(meeting.contacts.all()) == [contact] and meeting.source == "booking"
    calendar_events = sandbox_client.events(MAILBOX, MAILBOX)
    booked = [e for e in calendar_events if e.get("summary", "").startswith("Intro call")]
    assert len(booked) == 1
    assert "cora@client.example" in str(booked[0].get("attendees")).lower()
    confirmation = next(m for m in mail.outbox if m.to == ["cora@client.example"])
    assert confirmation.attachments[0][0] == "invite.ics"

    page.get_by_role("link", name="Cancel meeting").click()
    page.get_by_label("Why are you cancelling?").fill("Something came up")
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    assert page.get_by_role("heading", name="This meeting is cancelled").is_visible()
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    after = [e for e in sandbox_client.events(MAILBOX, MAILBOX) if e["id"] == booked[0]["id"]]
    assert after[0]["status"] == "cancelled"


@pytest.mark.e2e
def test_a_contact_reschedules_from_the_manage_link(
    browser_page, live_server, demo_page, sandbox_client, transactional_db
):
    page = browser_page(live_server.url, timezone_id="UTC")
    page.goto("/meetings/intro")
    page.locator(".day:not([disabled])").first.click()
    page.locator(".time").first.click()
    page.get_by_label("First name").fill("Rae")
    page.get_by_label("Last name").fill("Scheduler")
    page.get_by_label("Email").fill("rae@client.example")
    page.get_by_label("Topic *").fill("Moving")
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url("**/meetings/manage/**")
    booking = Booking.objects.get()
    first_start = booking.start

    page.get_by_role("link", name="Reschedule").click()
    page.locator(".day:not([disabled])").first.click()
    page.locator(".time").nth(2).click()
    page.get_by_role("button", name="Move my meeting here").click()
    page.wait_for_url("**/meetings/manage/**")
    booking.refresh_from_db()
    assert booking.start != first_start and booking.status == "confirmed"
    assert page.get_by_role("heading", name="You are booked").is_visible()
    kinds = {i["kind"] for i in sandbox_client.invitations(MAILBOX)}
    assert "update" in kinds
