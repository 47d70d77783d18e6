"""Meeting requests as a workflow: the host accepts, proposes another time or declines in the
app; the contact withdraws or takes the proposal from their manage link; unanswered requests
expire. Accepting re-checks the time like a booking does."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from calendars import busy, outbox
from calendars.models import CalendarWrite, Event
from crm.models import Contact, Meeting
from meetings import requests as meeting_requests
from meetings.models import Booking
from tests.meetings.conftest import MAILBOX, next_day_at


def _request(client, page, when, email="cora@client.example"):
    body = {
        "start": when.isoformat(),
        "duration": 30,
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": email,
    }
    response = client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "requested"
    return Booking.objects.get(pk=response.json()["id"])


@pytest.fixture
def requested(client, offline_page, django_capture_on_commit_callbacks):
    """A request on a page whose owner has no calendar connected."""
    with django_capture_on_commit_callbacks(execute=True):
        return _request(client, offline_page, next_day_at(10))


def test_a_request_is_logged_as_requested_and_mails_both_sides(requested):
    meeting = Meeting.objects.get(pk=requested.crm_meeting_id)
    assert meeting.status == Meeting.Status.REQUESTED
    assert requested.expires_at is not None and requested.expires_at <= requested.start
    host_mail = next(m for m in mail.outbox if m.to == [requested.host.email])
    assert f"/app/meetings/requests/{requested.pk}/" in host_mail.body
    contact_mail = next(m for m in mail.outbox if m.to == [requested.email])
    assert f"/meetings/manage/{requested.manage_token}/" in contact_mail.body


def test_the_host_sees_requests_on_the_dashboard_and_the_contact_record(admin_client, requested):
    dashboard = admin_client.get("/app/meetings/").content.decode()
    assert "Meeting requests waiting for you" in dashboard
    assert f"/app/meetings/requests/{requested.pk}/" in dashboard
    contact = Contact.objects.get(email__iexact=requested.email)
    record = admin_client.get(f"/app/contacts/{contact.pk}/").content.decode()
    assert "Requested" in record and "Answer the request" in record
    meeting_link = f"/app/meetings/requests/meeting/{requested.crm_meeting_id}/"
    assert admin_client.get(meeting_link).url == f"/app/meetings/requests/{requested.pk}/"


def test_accepting_after_connecting_writes_the_event_and_confirms_the_contact(
    admin_client,
    requested,
    connection,
    sandbox_client,
    django_capture_on_commit_callbacks,
):
    """The owner connected a calendar since the request: accepting books the time for real."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/app/meetings/requests/{requested.pk}/", {"action": "accept"}
        )
    assert response.status_code == 302, response.content
    requested.refresh_from_db()
    assert requested.status == Booking.Status.CONFIRMED
    assert requested.reservations.filter(active=True).count() == 1
    meeting = Meeting.objects.get(pk=requested.crm_meeting_id)
    assert meeting.status == Meeting.Status.SCHEDULED and meeting.calendar_event_key
    outbox.sweep()
    primary = connection.calendars.get(is_primary=True)
    events = sandbox_client.events(MAILBOX, primary.remote_id)
    assert any(e.get("summary", "").startswith("Intro call") for e in events)
    confirmation = next(m for m in mail.outbox if m.to == [requested.email])
    assert confirmation.subject.startswith("Confirmed")
    assert confirmation.attachments and confirmation.attachments[0][0] == "invite.ics"


def test_accepting_a_time_that_filled_up_is_refused_and_changes_nothing(
    admin_client, requested, connection
):
    Event.objects.create(
        calendar=connection.calendars.get(is_primary=True),
        remote_id="filled",
        start=requested.start - timedelta(minutes=15),
        end=requested.end,
    )
    busy.refresh(connection.user_id)
    response = admin_client.post(f"/app/meetings/requests/{requested.pk}/", {"action": "accept"})
    assert response.status_code == 409
    assert "no longer free" in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == Booking.Status.REQUESTED
    assert not CalendarWrite.objects.exists()


def test_proposing_another_time_and_the_contact_taking_it(
    client, admin_client, admin_user, requested, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    later = next_day_at(15)
    local = later.astimezone(ZoneInfo(admin_user.timezone))
    form = {
        "action": "propose",
        "propose-date": local.date().isoformat(),
        "propose-start_time": local.strftime("%H:%M"),
        "propose-message": "Mornings are full, sorry!",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/app/meetings/requests/{requested.pk}/", form)
    assert response.status_code == 302, response.content
    requested.refresh_from_db()
    assert requested.proposed_start == later and requested.status == Booking.Status.REQUESTED
    proposal = next(m for m in mail.outbox if m.to == [requested.email])
    assert "Mornings are full" in proposal.body and requested.manage_token in proposal.body

    manage = client.get(f"/meetings/manage/{requested.manage_token}/").content.decode()
    assert "Accept the proposed time" in manage
    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post(f"/meetings/manage/{requested.manage_token}/accept")
    assert taken.status_code == 302
    requested.refresh_from_db()
    assert requested.status == Booking.Status.CONFIRMED and requested.start == later
    assert Meeting.objects.get(pk=requested.crm_meeting_id).start == later


def test_declining_tells_the_contact_with_the_message(
    admin_client, requested, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/app/meetings/requests/{requested.pk}/",
            {"action": "decline", "decline-message": "We only work with companies."},
        )
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == Booking.Status.DECLINED
    assert Meeting.objects.get(pk=requested.crm_meeting_id).status == Meeting.Status.CANCELLED
    (declined,) = [m for m in mail.outbox if m.to == [requested.email]]
    assert "We only work with companies." in declined.body


def test_the_contact_withdraws_from_the_manage_link(
    client, requested, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/meetings/manage/{requested.manage_token}/cancel", follow=True)
    assert "You withdrew this request" in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == Booking.Status.WITHDRAWN
    assert any(m.to == [requested.host.email] for m in mail.outbox)
    # Answering it now is refused: it is not a request any more.
    with pytest.raises(meeting_requests.BookingError):
        meeting_requests.accept(requested.pk, requested.host)


def test_unanswered_requests_expire_and_the_contact_is_told(
    requested, time_machine, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    assert meeting_requests.expire_due() == 0
    time_machine.move_to(requested.expires_at + timedelta(minutes=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert meeting_requests.expire_due() == 1
    requested.refresh_from_db()
    assert requested.status == Booking.Status.EXPIRED
    assert any("expired" in m.subject for m in mail.outbox if m.to == [requested.email])


def test_only_the_host_answers_a_request(client, make_user, requested):
    stranger = make_user("stranger@elsewhere.example")
    client.force_login(stranger)
    assert client.get(f"/app/meetings/requests/{requested.pk}/").status_code == 404
    response = client.post(f"/app/meetings/requests/{requested.pk}/", {"action": "accept"})
    assert response.status_code == 404
    requested.refresh_from_db()
    assert requested.status == Booking.Status.REQUESTED


def test_a_proposal_in_the_past_is_a_field_error(admin_client, requested):
    form = {"action": "propose", "propose-date": "2001-01-01", "propose-start_time": "10:00"}
    response = admin_client.post(f"/app/meetings/requests/{requested.pk}/", form)
    assert response.status_code == 400
    assert "Pick a time in the future" in response.content.decode()
