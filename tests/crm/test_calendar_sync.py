"""Calendar sync in: events with CRM contacts as guests become meetings and follow their
event (sandbox Google mailbox over HTTP, the real sync engine and its signal)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calendars import outbox, sync
from calendars.models import Event
from calendars.signals import events_changed
from crm import calendar_sync, services
from crm.models import Contact, Meeting
from tests.crm.conftest import MAILBOX
from tests.support.times import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_sync(connection, django_capture_on_commit_callbacks):
    """One sync of the connection, with its after-commit signal delivered."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return sync.sync_connection(connection.pk)

    with django_capture_on_commit_callbacks(execute=True):
        sync.sync_connection(connection.pk, full=True)
    return run


def _add_event(
    sandbox_client, primary, summary="Coffee", days=2, attendees=("ada@client.example",)
):
    return sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary=summary,
        start=at(days, 9).isoformat(),
        end=at(days, 10).isoformat(),
        attendees=list(attendees),
    )


def test_an_event_with_a_contact_as_guest_is_logged_as_a_meeting(
    run_sync, primary, contact, admin_user, sandbox_client
):
    event = _add_event(sandbox_client, primary, attendees=["ADA@client.example", "x@else.example"])
    run_sync()
    meeting = Meeting.objects.get()
    assert (meeting.title, meeting.start, meeting.end) == ("Coffee", at(2, 9), at(2, 10))
    assert (meeting.source, meeting.status) == ("calendar_sync", "scheduled")
    assert meeting.calendar_remote_id == event["id"]
    assert (meeting.owner, meeting.account_id) == (admin_user, contact.account_id)
    assert list(meeting.contacts.all()) == [contact]


def test_the_meeting_follows_its_event_and_is_cancelled_with_it(
    run_sync, primary, contact, sandbox_client
):
    event = _add_event(sandbox_client, primary)
    run_sync()
    sandbox_client.update_event(
        MAILBOX,
        primary.remote_id,
        event["id"],
        summary="Lunch",
        start=at(3, 12).isoformat(),
        end=at(3, 13).isoformat(),
    )
    run_sync()
    meeting = Meeting.objects.get()
    assert (meeting.title, meeting.start, meeting.end) == ("Lunch", at(3, 12), at(3, 13))

    sandbox_client.delete_event(MAILBOX, primary.remote_id, event["id"])
    run_sync()
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED


def test_a_cancelled_event_cancels_its_meeting(run_sync, primary, contact, sandbox_client):
    event = _add_event(sandbox_client, primary)
    run_sync()
    sandbox_client.update_event(MAILBOX, primary.remote_id, event["id"], status="cancelled")
    run_sync()
    assert Meeting.objects.get().status == Meeting.Status.CANCELLED


def test_guests_added_later_join_the_meeting(run_sync, primary, contact, account, sandbox_client):
    bob = Contact.objects.create(account=account, email="bob@client.example")
    event = _add_event(sandbox_client, primary)
    run_sync()
    sandbox_client.update_event(
        MAILBOX, primary.remote_id, event["id"], attendees=["bob@client.example"]
    )
    run_sync()
    assert set(Meeting.objects.get().contacts.all()) == {contact, bob}


def test_delivering_the_same_changes_twice_changes_nothing(
    run_sync, primary, contact, sandbox_client
):
    event = _add_event(sandbox_client, primary)
    run_sync()
    before = list(Meeting.objects.values())
    for _ in range(2):
        events_changed.send(
            sender=None,
            connection_id=primary.connection_id,
            calendar_id=primary.pk,
            changed_remote_ids=[event["id"]],
            removed_remote_ids=[],
        )
    assert list(Meeting.objects.values()) == before
    assert Meeting.contacts.through.objects.count() == 1


def test_an_event_without_crm_contacts_is_not_logged(run_sync, primary, contact, sandbox_client):
    _add_event(sandbox_client, primary, attendees=["stranger@else.example"])
    _add_event(sandbox_client, primary, summary="Focus", attendees=[])
    run_sync()
    assert not Meeting.objects.exists()


def test_another_accounts_contacts_are_not_matched(run_sync, primary, make_account, sandbox_client):
    services.upsert_contact(make_account("Other"), email="ada@client.example")
    _add_event(sandbox_client, primary)
    run_sync()
    assert not Meeting.objects.exists()


def test_with_calendar_sync_off_nothing_is_logged(
    run_sync, connection, primary, contact, sandbox_client
):
    connection.calendar_sync = False
    connection.save()
    _add_event(sandbox_client, primary)
    run_sync()
    assert not Meeting.objects.exists()
    assert Event.objects.filter(calendar=primary).count() == 1  # mirrored all the same


def test_events_of_other_calendars_are_not_logged(run_sync, connection, contact, sandbox_client):
    team = connection.calendars.get(name="Team")
    team.for_availability = True
    team.save()
    sandbox_client.add_event(
        MAILBOX,
        team.remote_id,
        summary="Team sync",
        start=at(1, 9).isoformat(),
        end=at(1, 10).isoformat(),
        attendees=["ada@client.example"],
    )
    run_sync()
    assert Event.objects.filter(calendar=team).exists()
    assert not Meeting.objects.exists()


def test_an_event_the_app_wrote_itself_is_not_logged_again(
    run_sync, admin_user, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    meeting = services.create_meeting(
        admin_user, contacts=[contact], title="Pushed", start=at(2, 10), end=at(2, 11)
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.sweep()
    run_sync()
    mirrored = Event.objects.get(calendar=primary)
    assert mirrored.app_key == meeting.calendar_event_key
    assert mirrored.attendees == ["ada@client.example"]
    assert list(Meeting.objects.values_list("pk", flat=True)) == [meeting.pk]


def test_deleting_a_pushed_event_in_the_calendar_cancels_its_meeting(
    run_sync, admin_user, primary, contact, sandbox_client, django_capture_on_commit_callbacks
):
    meeting = services.create_meeting(
        admin_user, contacts=[contact], title="Pushed", start=at(2, 10), end=at(2, 11)
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.sweep()
    run_sync()
    meeting.refresh_from_db()
    sandbox_client.delete_event(MAILBOX, primary.remote_id, meeting.calendar_remote_id)
    run_sync()
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED


def test_meetings_older_than_the_sync_window_survive_a_full_resync(admin_user, primary, contact):
    # A full resync reports events that fell out of the window as removed.
    long_ago = timezone.now() - timedelta(days=sync.PAST_DAYS + 5)
    meeting = services.create_meeting(
        admin_user,
        contacts=[contact],
        title="Old",
        start=long_ago,
        end=long_ago + timedelta(hours=1),
        source=Meeting.Source.CALENDAR_SYNC,
    )
    Meeting.objects.filter(pk=meeting.pk).update(calendar_remote_id="old-event")
    calendar_sync.apply_calendar_changes(
        primary.pk, changed_remote_ids=[], removed_remote_ids=["old-event"]
    )
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED


def test_logging_many_events_takes_a_bounded_number_of_queries(
    primary, account, django_assert_max_num_queries
):
    emails = [f"guest{n}@client.example" for n in range(10)]
    Contact.objects.bulk_create([Contact(account=account, email=e) for e in emails])
    Event.objects.bulk_create(
        [
            Event(
                calendar=primary,
                remote_id=f"ev{n}",
                start=at(1, n),
                end=at(1, n + 1),
                attendees=emails[n : n + 3],
            )
            for n in range(8)
        ]
    )
    ids = [f"ev{n}" for n in range(8)]
    with django_assert_max_num_queries(8):
        calendar_sync.apply_calendar_changes(
            primary.pk, changed_remote_ids=ids, removed_remote_ids=[]
        )
    assert Meeting.objects.count() == 8
    assert Meeting.contacts.through.objects.count() == 8 * 3
    Event.objects.filter(calendar=primary).update(start=at(2, 0), end=at(2, 1))
    with django_assert_max_num_queries(8):
        calendar_sync.apply_calendar_changes(
            primary.pk, changed_remote_ids=ids, removed_remote_ids=[]
        )
    assert set(Meeting.objects.values_list("start", flat=True)) == {at(2, 0)}
