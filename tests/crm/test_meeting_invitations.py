"""CRM meetings become calendar invitations through the outbox when calendar sync is on
(sandbox Google mailbox over HTTP)."""

import pytest
from django.urls import reverse

from calendars import outbox
from calendars.models import CalendarWrite
from crm import services
from crm.models import Meeting
from tests.crm.conftest import MAILBOX
from tests.support.times import at

pytestmark = pytest.mark.django_db


def _schedule(client, contact, title="Intro call", days=3):
    day = at(days, 0).date()
    return client.post(
        reverse("crm:meeting_create", args=[contact.pk]),
        {"title": title, "date": day.isoformat(), "start_time": "15:00", "duration": "30"},
    )


def _send_outbox(capture) -> dict[str, int]:
    # The outbox reports completed writes after commit; a `db` test has to run those hooks.
    with capture(execute=True):
        return outbox.sweep()


def test_a_meeting_created_on_a_contact_invites_the_contact_from_the_users_calendar(
    admin_client, connection, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    page = admin_client.get(reverse("crm:contact", args=[contact.pk]))
    assert "Calendar sync is on: Ada Lovelace will get an invitation" in page.content.decode()

    response = _schedule(admin_client, contact)
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    write = CalendarWrite.objects.get()
    assert (write.action, write.key, write.calendar) == (
        "create",
        meeting.calendar_event_key,
        primary,
    )
    assert write.ref == f"crm.meeting:{meeting.pk}"
    assert write.payload["attendees"] == [["ada@client.example", "Ada Lovelace"]]
    assert write.payload["send_invitations"] is True

    assert _send_outbox(django_capture_on_commit_callbacks) == {"done": 1}
    [event] = sandbox_client.events(MAILBOX, primary.remote_id)
    assert event["summary"] == "Intro call"
    assert [a["email"] for a in event["attendees"]] == ["ada@client.example"]
    [invite] = sandbox_client.invitations(MAILBOX)
    assert (invite["attendee"], invite["kind"]) == ("ada@client.example", "invite")
    meeting.refresh_from_db()
    assert meeting.calendar_remote_id == event["id"]
    assert meeting.source == Meeting.Source.CRM


def test_cancelling_a_pushed_meeting_withdraws_the_invitation(
    admin_client, connection, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    _schedule(admin_client, contact)
    _send_outbox(django_capture_on_commit_callbacks)
    meeting = Meeting.objects.get()

    url = reverse("crm:meeting_cancel", args=[contact.pk, meeting.pk])
    assert admin_client.post(url).status_code == 302
    assert admin_client.post(url).status_code == 302  # a double submit queues one delete
    assert CalendarWrite.objects.filter(action="delete").count() == 1
    assert _send_outbox(django_capture_on_commit_callbacks) == {"done": 1}

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
    [event] = sandbox_client.events(MAILBOX, primary.remote_id)
    assert event["status"] == "cancelled"
    kinds = [i["kind"] for i in sandbox_client.invitations(MAILBOX)]
    assert kinds == ["invite", "cancel"]


def test_rescheduling_a_pushed_meeting_moves_the_event(
    admin_user, connection, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    meeting = services.create_meeting(
        admin_user, contacts=[contact], title="Demo", start=at(2, 10), end=at(2, 11)
    )
    _send_outbox(django_capture_on_commit_callbacks)
    services.reschedule_meeting(meeting, start=at(4, 16), end=at(4, 17))
    assert _send_outbox(django_capture_on_commit_callbacks) == {"done": 1}
    [event] = sandbox_client.events(MAILBOX, primary.remote_id)
    assert event["start"] == at(4, 16).isoformat()
    assert [i["kind"] for i in sandbox_client.invitations(MAILBOX)] == ["invite", "update"]


def test_an_update_queued_before_the_create_went_out_waits_for_it(
    admin_user, connection, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    meeting = services.create_meeting(
        admin_user, contacts=[contact], title="Demo", start=at(2, 10), end=at(2, 11)
    )
    services.reschedule_meeting(meeting, start=at(5, 9), end=at(5, 10))
    _send_outbox(django_capture_on_commit_callbacks)
    _send_outbox(django_capture_on_commit_callbacks)
    [event] = sandbox_client.events(MAILBOX, primary.remote_id)
    assert event["start"] == at(5, 9).isoformat()


def test_with_calendar_sync_off_the_meeting_is_only_logged(
    admin_client, connection, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    connection.calendar_sync = False
    connection.save()
    page = admin_client.get(reverse("crm:contact", args=[contact.pk]))
    assert "Calendar sync is off: the meeting is only logged" in page.content.decode()

    assert _schedule(admin_client, contact).status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.calendar_event_key == ""
    assert not CalendarWrite.objects.exists()
    assert _send_outbox(django_capture_on_commit_callbacks) == {}
    assert sandbox_client.events(MAILBOX, primary.remote_id) == []
    assert sandbox_client.invitations(MAILBOX) == []

    services.cancel_meeting(meeting)  # never pushed: nothing to withdraw
    assert not CalendarWrite.objects.exists()


def test_without_a_connected_calendar_the_meeting_is_only_logged(admin_client, contact):
    page = admin_client.get(reverse("crm:contact", args=[contact.pk]))
    assert "Calendar sync is off" in page.content.decode()
    assert _schedule(admin_client, contact).status_code == 302
    assert Meeting.objects.get().calendar_event_key == ""
    assert not CalendarWrite.objects.exists()


@pytest.mark.parametrize(
    "source",
    [Meeting.Source.INTEGRATION, Meeting.Source.CALENDAR_SYNC, Meeting.Source.BOOKING],
)
def test_meetings_from_other_sources_are_never_pushed(admin_user, connection, contact, source):
    meeting = services.create_meeting(
        admin_user, contacts=[contact], title="Synced", start=at(1, 9), end=at(1, 10), source=source
    )
    assert meeting.calendar_event_key == ""
    assert not CalendarWrite.objects.exists()


def test_a_meeting_needs_contacts_of_the_owners_account(admin_user, make_account):
    stranger = services.upsert_contact(make_account("Other"), email="x@other.example")
    with pytest.raises(ValueError, match="account"):
        services.create_meeting(
            admin_user, contacts=[stranger], title="No", start=at(1, 9), end=at(1, 10)
        )
    assert not Meeting.objects.exists()
