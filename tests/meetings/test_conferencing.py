"""Video links: a page creates a Google Meet or Teams link in the host's calendar (through the
sandbox, no mocks), or uses a fixed link. The link reaches the confirmation, the ICS, the
manage page and the CRM meeting, and survives a reschedule."""

import json
import time

import pytest
import requests
from django.core import mail

from crm.models import Contact, Meeting
from meetings import conferencing, reminders
from meetings.models import Booking, PlannedEmail
from tests.calendars.conftest import MAILBOX
from tests.meetings.conftest import next_day_at


def _book(client, page, when, email="cora@client.example"):
    body = {
        "start": when.isoformat(),
        "duration": page.durations[0],
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": email,
        "answers": {"Topic": "Pricing"},
    }
    return client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )


def _to_contact(kind_word: str):
    return [m for m in mail.outbox if m.to == ["cora@client.example"] and kind_word in m.subject]


@pytest.fixture
def meet_page(make_page, admin_user, connection):
    return make_page(
        admin_user,
        conferencing="google_meet",
        questions=[{"label": "Topic", "required": False}],
    )


def test_a_meet_link_is_created_and_sent_in_the_one_confirmation(
    client, meet_page, sandbox_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client, meet_page, next_day_at(10))
    assert response.status_code == 201, response.content
    booking = Booking.objects.get(pk=response.json()["id"])
    assert booking.conference_status == "ready"
    assert booking.conference_url.startswith("https://meet.google.com/")

    # The calendar event carries the conference; the contact got one confirmation with it.
    event = next(e for e in sandbox_client.events(MAILBOX, MAILBOX) if e["id"])
    assert event["extra"]["conference"]["type"] == "hangoutsMeet"
    confirmations = _to_contact("Confirmed")
    assert len(confirmations) == 1 and not _to_contact("Video link")
    assert f"Join: {booking.conference_url}" in confirmations[0].body
    ics = confirmations[0].attachments[0][1]
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert booking.conference_url in ics.replace("\r\n ", "")
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    assert meeting.video_url == booking.conference_url
    assert meeting.answers == [{"question": "Topic", "answer": "Pricing"}]
    manage = client.get(f"/meetings/manage/{booking.manage_token}/").content.decode()
    assert f'href="{booking.conference_url}" data-video-link' in manage


def test_the_link_survives_a_reschedule(
    client, meet_page, sandbox_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking_id = _book(client, meet_page, next_day_at(10)).json()["id"]
    link = Booking.objects.get(pk=booking_id).conference_url
    token = Booking.objects.get(pk=booking_id).manage_token
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(
            f"/meetings/manage/{token}/reschedule",
            json.dumps({"start": next_day_at(14).isoformat()}),
            content_type="application/json",
        )
    assert moved.status_code == 200, moved.content
    event = next(e for e in sandbox_client.events(MAILBOX, MAILBOX) if e.get("summary"))
    assert event["extra"]["conference"]["code"] in link  # the same conference, moved
    rescheduled = _to_contact("Rescheduled")[0]
    assert f"Join: {link}" in rescheduled.body
    assert Booking.objects.get(pk=booking_id).conference_url == link


def test_a_slow_conference_sends_the_confirmation_then_the_link(
    client, meet_page, sandbox, settings, django_capture_on_commit_callbacks
):
    """Google keeps the conference pending: the confirmation waits its bounded time, goes
    without the link, and the link follows with the updated invitation."""
    requests.patch(
        f"{sandbox.http_url}/_sandbox/mailboxes/{MAILBOX}/conferencing",
        json={"pending_seconds": 2},
        timeout=10,
    ).raise_for_status()
    with django_capture_on_commit_callbacks(execute=True):
        booking_id = _book(client, meet_page, next_day_at(10)).json()["id"]
    booking = Booking.objects.get(pk=booking_id)
    assert booking.conference_status == "pending"
    held = PlannedEmail.objects.get(booking=booking, kind="confirmation")
    assert held.state == "planned" and not _to_contact("Confirmed")
    assert any("New meeting booked" in m.subject for m in mail.outbox)  # the host at once

    # The wait is over: the sweep sends the confirmation without the link.
    with django_capture_on_commit_callbacks(execute=True):
        reminders.send_due(held.due_at)
    (confirmation,) = _to_contact("Confirmed")
    assert "Video link: on its way in a separate email" in confirmation.body

    # Google finishes: the link follows, once, with the updated invitation.
    time.sleep(2.1)
    with django_capture_on_commit_callbacks(execute=True):
        assert conferencing.fetch(booking_id) == "ready"
        assert conferencing.fetch(booking_id) == "done"
    (link_mail,) = _to_contact("Video link")
    booking = Booking.objects.get(pk=booking_id)
    assert f"Join: {booking.conference_url}" in link_mail.body
    ics = link_mail.attachments[0][1]
    assert booking.sequence == 1 and "SEQUENCE:1" in (ics if isinstance(ics, str) else ics.decode())
    assert len(_to_contact("Confirmed")) == 1


def test_a_conference_that_cannot_be_made_tells_the_host(
    client, meet_page, sandbox, django_capture_on_commit_callbacks
):
    requests.patch(
        f"{sandbox.http_url}/_sandbox/mailboxes/{MAILBOX}/conferencing",
        json={"available": False},
        timeout=10,
    ).raise_for_status()
    with django_capture_on_commit_callbacks(execute=True):
        booking_id = _book(client, meet_page, next_day_at(10)).json()["id"]
    booking = Booking.objects.get(pk=booking_id)
    assert booking.conference_status == "failed" and not booking.conference_url
    (confirmation,) = _to_contact("Confirmed")
    assert "Join:" not in confirmation.body
    assert any(m.subject.startswith("No video link") for m in mail.outbox)


def test_teams_is_not_asked_of_a_google_calendar(
    client, make_page, admin_user, connection, django_capture_on_commit_callbacks
):
    page = make_page(admin_user, conferencing="teams")
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client, page, next_day_at(10))
    assert response.status_code == 201
    assert Booking.objects.get(pk=response.json()["id"]).conference_status == ""
    assert any("Confirmed" in m.subject for m in mail.outbox)


def test_the_editor_refuses_a_conference_the_owners_calendar_cannot_make(admin_client, connection):
    from tests.meetings.test_pages import NEW_URL, _form

    response = admin_client.post(NEW_URL, _form(conferencing="teams"))
    assert response.status_code == 400
    assert "cannot create Microsoft Teams links" in response.content.decode()
    assert admin_client.post(NEW_URL, _form(conferencing="google_meet")).status_code == 302


def test_a_fixed_link_is_used_as_it_is(
    client, make_page, admin_user, connection, django_capture_on_commit_callbacks
):
    page = make_page(admin_user, conferencing="fixed", video_link="https://video.example/ada")
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client, page, next_day_at(10))
    booking = Booking.objects.get(pk=response.json()["id"])
    assert booking.video_url == "https://video.example/ada" and not booking.conference_status
    assert "Join: https://video.example/ada" in _to_contact("Confirmed")[0].body
    assert Meeting.objects.get(pk=booking.crm_meeting_id).video_url == booking.video_url


def test_answers_show_on_the_contact_record(
    admin_client, client, meet_page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _book(client, meet_page, next_day_at(10))
    contact = Contact.objects.get(email__iexact="cora@client.example")
    record = admin_client.get(f"/app/contacts/{contact.pk}/").content.decode()
    assert "<dt>Topic</dt><dd>Pricing</dd>" in record
    assert "https://meet.google.com/" in record


def test_the_dashboard_warns_when_a_hosts_calendar_cannot_make_the_link(
    admin_client, make_page, admin_user, connection
):
    make_page(admin_user, conferencing="teams")
    html = admin_client.get("/app/meetings/").content.decode()
    assert "Taking bookings, some without a video link" in html
    assert "their calendar cannot create Teams links" in html
