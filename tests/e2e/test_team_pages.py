"""In Chromium: the weekly-hours editor with the keyboard only; duplicating and deleting a
page (and copying its link); a contact cancelling with a reason inside the notice window, and
finding it too late outside it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from meetings.models import Booking, SchedulingPage
from tests.conftest import PASSWORD
from tests.support.browser import sign_in

pytestmark = [pytest.mark.e2e]
WEEKDAYS = {str(day): [["09:00", "17:00"]] for day in range(5)}


@pytest.fixture
def intro(admin_user, live_server, settings):
    settings.APP_BASE_URL = live_server.url
    return SchedulingPage.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Intro call",
        slug="intro",
        timezone="Europe/Warsaw",
        weekly_hours=WEEKDAYS,
        durations=[30],
    )


def _focused(page) -> dict:
    return page.evaluate(
        r"""() => {
            const el = document.activeElement;
            const text = el.tagName === "INPUT" ? el.value : el.textContent;
            return {name: el.name || "", text: (text || "").replace(/\s+/g, " ").trim(),
                    tag: el.tagName};
        }"""
    )


def tab_to(page, matches, limit: int = 400) -> None:
    """Press Tab (only) until the focused element matches."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if matches(_focused(page)):
            return
    raise AssertionError("never reached with Tab")


def test_weekly_hours_are_edited_with_the_keyboard_only(
    browser_page, live_server, admin_user, intro
):
    page = browser_page(live_server.url, locale="en-GB", timezone_id="Europe/Warsaw")
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/app/meetings/pages/{intro.pk}/")
    page.locator("body").focus()

    # Saturday has no hours: add some.
    assert page.locator('[data-day="5"] [data-off]').is_visible()
    tab_to(page, lambda el: el["text"] == "Add hours on Saturday")
    page.keyboard.press("Enter")
    assert _focused(page)["name"] == "hours-5-0-start"  # focus moved into the new row
    assert not page.locator('[data-day="5"] [data-off]').is_visible()
    page.keyboard.type("1000")
    tab_to(page, lambda el: el["name"] == "hours-5-0-end", limit=3)  # past the minutes
    page.keyboard.type("1400")
    assert page.locator('input[name="hours-5-0-start"]').input_value() == "10:00"
    assert page.locator('input[name="hours-5-0-end"]').input_value() == "14:00"

    # Copy Saturday to every day.
    tab_to(page, lambda el: el["text"].startswith("Copy to all days") and "Saturday" in el["text"])
    page.keyboard.press("Enter")
    status = page.locator("[data-hours-status]")
    status.filter(has_text="Copied Saturday's hours to every day.").wait_for(state="attached")
    for day in range(7):
        assert page.locator(f'input[name="hours-{day}-0-start"]').input_value() == "10:00"
        assert page.locator(f'input[name="hours-{day}-1-start"]').count() == 0

    # Wednesday off: remove its only interval with the space bar.
    page.locator("body").focus()
    tab_to(page, lambda el: el["text"] == "Remove Wednesday hours 1")
    page.keyboard.press("Space")
    assert page.locator('[data-day="2"] [data-row]').count() == 0
    assert _focused(page)["text"] == "Add hours on Wednesday"
    status.filter(has_text="Removed Wednesday hours 1.").wait_for(state="attached")

    # Save with the keyboard.
    tab_to(page, lambda el: el["text"] == "Save page" and el["tag"] == "BUTTON")
    page.keyboard.press("Enter")
    page.wait_for_url("**/app/meetings/")
    intro.refresh_from_db()
    assert intro.weekly_hours == {str(d): [["10:00", "14:00"]] for d in (0, 1, 3, 4, 5, 6)}


def test_a_page_is_duplicated_its_link_copied_and_the_copy_deleted(
    browser_page, live_server, admin_user, intro
):
    page = browser_page(live_server.url, locale="en-GB")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, admin_user.email, PASSWORD)

    page.get_by_role("button", name="Copy link to “Intro call”").click()
    page.locator("[data-copy-status]").filter(has_text="Link to “Intro call” copied").wait_for(
        state="attached"
    )
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/meetings/intro"

    page.get_by_role("button", name="Duplicate “Intro call”").click()
    page.wait_for_url(re.compile(r".*/app/meetings/pages/\d+/$"))
    assert page.get_by_role("heading", name="Edit “Copy of Intro call”").is_visible()
    copy = SchedulingPage.objects.get(name="Copy of Intro call")
    assert copy.weekly_hours == intro.weekly_hours and copy.slug == "intro-copy"

    page.goto("/app/meetings/")
    page.get_by_role("link", name="Delete “Copy of Intro call”").click()
    assert page.get_by_role("heading", name="Delete “Copy of Intro call”?").is_visible()
    assert "Bookings stay." in page.locator("main").inner_text()
    page.get_by_role("button", name="Delete the page").click()
    page.wait_for_url("**/app/meetings/")
    assert "“Copy of Intro call” was deleted" in page.locator(".messages").inner_text()
    assert page.get_by_role("link", name="Delete “Copy of Intro call”").count() == 0
    assert page.goto("/meetings/intro-copy").status == 404
    assert page.goto("/meetings/intro").status == 200


def _booking(page_obj, start, token) -> Booking:
    return Booking.objects.create(
        page=page_obj,
        host=page_obj.owner,
        start=start,
        end=start + timedelta(minutes=30),
        status=Booking.Status.CONFIRMED,
        email="cora@client.example",
        first_name="Cora",
        last_name="Contact",
        timezone="Europe/Warsaw",
        manage_token=token,
    )


def test_a_contact_cancels_with_a_reason_inside_the_notice_and_not_outside(
    browser_page, live_server, intro
):
    SchedulingPage.objects.filter(pk=intro.pk).update(
        cancel_notice=24 * 60, cancel_reason="required"
    )
    intro.refresh_from_db()
    now = timezone.now()
    early = _booking(intro, now + timedelta(days=3), "early-booking-token-0000")
    late = _booking(intro, now + timedelta(hours=10), "late-booking-token-00000")
    page = browser_page(live_server.url, locale="en-GB", timezone_id="Europe/Warsaw")

    page.goto(f"/meetings/manage/{early.manage_token}/")
    assert "You can cancel online until" in page.locator("main").inner_text()
    page.get_by_role("link", name="Cancel meeting").click()
    assert page.get_by_role("heading", name="Cancel your meeting?").is_visible()
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    assert page.get_by_role("alert").filter(has_text="Please tell the host why.").is_visible()
    assert Booking.objects.get(pk=early.pk).status == "confirmed"
    page.get_by_label("Why are you cancelling? *").fill("The project was postponed")
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    page.wait_for_url(f"**/meetings/manage/{early.manage_token}/")
    assert page.get_by_role("heading", name="This meeting is cancelled").is_visible()
    assert "The project was postponed" in page.locator("main").inner_text()
    page.reload()  # a GET: nothing is sent again
    assert page.get_by_role("heading", name="This meeting is cancelled").is_visible()
    early.refresh_from_db()
    assert early.status == "cancelled" and early.cancel_reason == "The project was postponed"

    page.goto(f"/meetings/manage/{late.manage_token}/")
    text = page.locator("main").inner_text()
    assert "It is too late to cancel online: this page asks for 1 day notice." in text
    assert page.get_by_role("link", name="Cancel meeting").count() == 0
    page.goto(f"/meetings/manage/{late.manage_token}/cancel")
    assert "too late to cancel online" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Yes, cancel the meeting").count() == 0
    assert Booking.objects.get(pk=late.pk).status == "confirmed"
