"""Cancel and reschedule policies: a confirmation step with the reason the page asks for,
notice periods the manage page explains, POST-redirect-GET so a refresh never repeats."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from crm.models import Meeting
from meetings.models import Booking
from tests.meetings.conftest import next_day_at


def _book(client, page, when, email="cora@client.example"):
    body = {
        "start": when.isoformat(),
        "duration": page.durations[0],
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": email,
    }
    response = client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return Booking.objects.get(pk=response.json()["id"])


@pytest.fixture
def booked(client, make_page, admin_user, connection, django_capture_on_commit_callbacks):
    def make(**page_fields):
        page = make_page(admin_user, **page_fields)
        with django_capture_on_commit_callbacks(execute=True):
            return _book(client, page, next_day_at(10, days=3))

    return make


def test_cancelling_asks_first_then_cancels_with_the_reason(
    client, booked, django_capture_on_commit_callbacks
):
    booking = booked(cancel_reason="optional")
    manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
    assert f'href="/meetings/manage/{booking.manage_token}/cancel"' in manage

    ask = client.get(f"/meetings/manage/{booking.manage_token}/cancel")
    assert ask.status_code == 200
    html = ask.content.decode()
    assert "Cancel your meeting?" in html and "Why are you cancelling?" in html
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"  # a GET changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/meetings/manage/{booking.manage_token}/cancel", {"reason": "Found a partner"}
        )
    assert done.status_code == 302 and done.url == f"/meetings/manage/{booking.manage_token}/"
    booking.refresh_from_db()
    assert booking.status == "cancelled" and booking.cancel_reason == "Found a partner"
    assert Meeting.objects.get(pk=booking.crm_meeting_id).status == "cancelled"
    host_mail = next(m for m in mail.outbox if m.subject.startswith("Meeting cancelled"))
    assert "Their reason: Found a partner" in host_mail.body

    # A refresh of the POST (or a second click) cancels nothing twice.
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": "x"})
    assert again.status_code == 302 and len(mail.outbox) == before
    shown = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
    assert "This meeting is cancelled" in shown and "Found a partner" in shown


def test_a_required_reason_is_a_400_with_the_field_error(client, booked):
    booking = booked(cancel_reason="required")
    response = client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": "  "})
    assert response.status_code == 400
    assert "Please tell the host why." in response.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_a_page_that_does_not_ask_has_no_reason_field(client, booked):
    booking = booked(cancel_reason="off")
    html = client.get(f"/meetings/manage/{booking.manage_token}/cancel").content.decode()
    assert "Why are you cancelling?" not in html
    assert (
        client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": "x"}).status_code
        == 302
    )
    assert Booking.objects.get(pk=booking.pk).cancel_reason == ""


def test_cancelling_closes_at_the_pages_notice(client, booked):
    booking = booked(cancel_notice=24 * 60)
    deadline = booking.start - timedelta(hours=24)
    manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
    assert "You can cancel online until" in manage

    with time_machine.travel(deadline + timedelta(minutes=1)):
        manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
        assert "It is too late to cancel online: this page asks for 1 day notice." in manage
        assert "Cancel meeting</a>" not in manage
        page = client.get(f"/meetings/manage/{booking.manage_token}/cancel").content.decode()
        assert "too late to cancel online" in page and "Yes, cancel the meeting" not in page
        refused = client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": ""})
        assert refused.status_code == 400
        assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_rescheduling_closes_at_the_pages_notice(client, booked):
    booking = booked(reschedule_notice=48 * 60)
    url = f"/meetings/manage/{booking.manage_token}/reschedule"
    with time_machine.travel(booking.start - timedelta(hours=47)):
        manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
        assert "too late to reschedule online: this page asks for 2 days notice" in manage
        assert ">Reschedule</a>" not in manage
        page = client.get(f"/meetings/{booking.page.slug}?reschedule={booking.manage_token}")
        assert "data-reschedule-url" not in page.content.decode()
        refused = client.post(
            url,
            json.dumps({"start": (booking.start + timedelta(days=1)).isoformat()}),
            content_type="application/json",
        )
        assert refused.status_code == 400
        assert "too late to reschedule" in refused.json()["error"]
    assert Booking.objects.get(pk=booking.pk).start == booking.start


def test_a_request_is_withdrawn_through_the_same_confirmation(client, offline_page):
    booking = _book(client, offline_page, next_day_at(10, days=3))
    assert booking.status == "requested"
    html = client.get(f"/meetings/manage/{booking.manage_token}/cancel").content.decode()
    assert "Withdraw your meeting request?" in html and "Why are you" not in html
    done = client.post(f"/meetings/manage/{booking.manage_token}/cancel")
    assert done.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == "withdrawn"
