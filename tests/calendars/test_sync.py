"""Sync in: the Event mirror follows the provider (sandbox over HTTP, Google client library)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from calendars import connections, sync
from calendars.models import CalendarConnection, Event
from calendars.signals import calendar_access_lost
from scheduler import leases
from tests.support.times import at as _at

MAILBOX = "owner@acme.example"


@pytest.fixture
def primary(connection):
    return connection.calendars.get(is_primary=True)


def _mirror(calendar) -> dict[str, Event]:
    return {event.title: event for event in Event.objects.filter(calendar=calendar)}


def test_created_moved_and_deleted_events_follow_within_one_sync(
    connection, primary, sandbox_client
):
    sync.sync_connection(connection.pk, full=True)
    event = sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Board meeting",
        start=_at(2, 9).isoformat(),
        end=_at(2, 10).isoformat(),
        attendees=["cfo@acme.example"],
    )
    report = sync.sync_connection(connection.pk)
    mirrored = _mirror(primary)["Board meeting"]
    assert (mirrored.start, mirrored.end, mirrored.busy) == (_at(2, 9), _at(2, 10), True)
    assert mirrored.attendees == ["cfo@acme.example"]
    assert report.upserted == 1

    sandbox_client.update_event(
        MAILBOX,
        primary.remote_id,
        event["id"],
        start=_at(3, 14).isoformat(),
        end=_at(3, 15).isoformat(),
    )
    sync.sync_connection(connection.pk)
    assert _mirror(primary)["Board meeting"].start == _at(3, 14)

    sandbox_client.delete_event(MAILBOX, primary.remote_id, event["id"])
    report = sync.sync_connection(connection.pk)
    assert "Board meeting" not in _mirror(primary)
    assert report.removed == 1
    connection.refresh_from_db()
    assert connection.status == "active" and connection.last_synced_at


def test_an_expired_sync_token_means_a_clean_full_resync(connection, primary, sandbox_client):
    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Keep",
        start=_at(1, 9).isoformat(),
        end=_at(1, 10).isoformat(),
    )
    sync.sync_connection(connection.pk, full=True)
    gone = sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Gone",
        start=_at(1, 11).isoformat(),
        end=_at(1, 12).isoformat(),
    )
    sync.sync_connection(connection.pk)
    sandbox_client.delete_event(MAILBOX, primary.remote_id, gone["id"])
    sandbox_client.fault("google", "expire_sync_tokens", email=MAILBOX)
    report = sync.sync_connection(connection.pk)
    assert report.full_resyncs == 1
    assert set(_mirror(primary)) == {"Keep"}


def test_a_revoked_grant_means_reconnect_required_and_exactly_one_email(
    connection, sandbox_client, django_capture_on_commit_callbacks
):
    sandbox_client.fault("google", "revoke_grant", email=MAILBOX)
    sandbox_client.fault("google", "expire_access_tokens", email=MAILBOX)
    with django_capture_on_commit_callbacks(execute=True):  # mail goes out after commit
        sync.sync_connection(connection.pk)
        sync.sync_connection(connection.pk)
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.RECONNECT_REQUIRED
    reconnect_mails = [m for m in mail.outbox if "Reconnect your Google calendar" in m.subject]
    assert len(reconnect_mails) == 1
    assert reconnect_mails[0].to == [connection.user.email]
    assert sync.due_connection_ids(timezone.now() + timedelta(days=1)) == []


def test_losing_access_to_an_availability_calendar_marks_it_inactive(connection, sandbox_client):
    boss = connection.calendars.get(name="Boss")
    boss.for_availability = True
    boss.save()
    sync.sync_connection(connection.pk, full=True)
    heard = []
    calendar_access_lost.connect(lambda **kw: heard.append(kw["calendar_id"]), weak=False)
    try:
        sandbox_client.fault(
            "google", "lose_calendar_access", email=MAILBOX, calendar_id="boss-cal"
        )
        report = sync.sync_connection(connection.pk)
    finally:
        calendar_access_lost.receivers.clear()
    boss.refresh_from_db()
    assert not boss.is_active and boss.for_availability
    assert report.calendars_lost == ["Boss"] and heard == [boss.pk]


def test_rate_limits_push_the_next_sync_back_by_the_providers_delay(connection, sandbox_client):
    sandbox_client.fault("google", "rate_limit", email=MAILBOX, retry_after=120, count=3)
    before = timezone.now()
    report = sync.sync_connection(connection.pk)
    connection.refresh_from_db()
    assert "retry after" in report.error.lower()
    assert connection.next_sync_at >= before + timedelta(seconds=119)
    assert connection.sync_failures == 1 and connection.status == "active"


def test_a_held_lease_keeps_a_second_sync_out_and_an_expired_one_does_not(connection):
    held = leases.claim(CalendarConnection, connection.pk, prefix="sync_")
    assert held
    assert sync.sync_connection(connection.pk).claimed is False
    # A worker that died mid-sync: its lease runs out and the next sync proceeds.
    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert sync.sync_connection(connection.pk).claimed is True


def test_reconnecting_repairs_the_same_connection(
    connection, sandbox_client, admin_client, connect_google
):
    sandbox_client.fault("google", "revoke_grant", email=MAILBOX)
    sandbox_client.fault("google", "expire_access_tokens", email=MAILBOX)
    sync.sync_connection(connection.pk)
    connection.refresh_from_db()
    assert connection.needs_reconnect
    page = admin_client.get("/app/settings/general/calendar/").content.decode()
    assert "Reconnect required" in page and ">Reconnect</a>" in page

    response = connect_google()  # the whole OAuth flow again
    assert response.status_code == 302
    repaired = CalendarConnection.objects.get(user=connection.user)
    assert repaired.pk == connection.pk and repaired.status == "active"
    assert sync.sync_connection(connection.pk).error == ""


def test_a_write_that_fails_for_good_is_shown_on_the_settings_page(
    connection, admin_client, sandbox_client
):
    from calendars import outbox
    from calendars.models import CalendarWrite
    from calendars.providers.base import EventWrite

    team = connection.calendars.get(name="Boss")  # read-only: the provider refuses writes
    with transaction.atomic():
        write = outbox.enqueue(
            connection,
            CalendarWrite.Action.CREATE,
            "f" * 32,
            EventWrite("f" * 32, "Board meeting", _at(2, 9), _at(2, 10)),
            calendar=team,
        )
    assert outbox.process(write.pk) == "failed"
    page = admin_client.get("/app/settings/general/calendar/").content.decode()
    assert "could not be written to your calendar" in page and "Board meeting" in page


def test_an_old_full_sync_is_redone_to_re_anchor_the_window(connection, primary):
    sync.sync_connection(connection.pk, full=True)
    primary.refresh_from_db()
    assert primary.full_synced_at
    type(primary).objects.filter(pk=primary.pk).update(
        full_synced_at=timezone.now() - timedelta(days=8)
    )
    sync.sync_connection(connection.pk)
    primary.refresh_from_db()
    assert timezone.now() - primary.full_synced_at < timedelta(minutes=1)


def test_a_superseded_sync_writes_nothing(connection, primary, sandbox_client):
    """A worker whose lease ran out and was taken over stops before storing anything."""
    sync.sync_connection(connection.pk, full=True)
    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Late",
        start=_at(1, 9).isoformat(),
        end=_at(1, 10).isoformat(),
    )
    stale = leases.Lease(CalendarConnection, connection.pk, "lost-its-lease", "sync_", 15)
    CalendarConnection.objects.filter(pk=connection.pk).update(sync_lease_owner="someone-else")
    client = connections.provider_for(connection)
    with pytest.raises(leases.LeaseLost):
        sync.sync_calendar(client, primary, False, sync.SyncReport(connection.pk), lease=stale)
    assert "Late" not in _mirror(primary)


def test_waiting_for_a_reconnect_does_not_use_up_a_writes_attempts(
    connection, primary, sandbox_client
):
    """Hours of waiting for the user to reconnect, then one server hiccup: the write is
    retried and lands; it is not failed for good because the waiting counted as attempts."""
    from calendars import outbox
    from calendars.models import CalendarWrite
    from calendars.providers.base import EventWrite

    with transaction.atomic():
        write = outbox.enqueue(
            connection,
            CalendarWrite.Action.CREATE,
            "e" * 32,
            EventWrite("e" * 32, "Kick-off", _at(2, 9), _at(2, 10)),
            calendar=primary,
        )
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.RECONNECT_REQUIRED
    )
    now = timezone.now()
    for step in range(outbox.MAX_ATTEMPTS + 3):  # a few hours of postponements
        with time_machine.travel(now + (step + 1) * outbox.RECONNECT_RETRY, tick=False):
            assert outbox.process(write.pk) == "postponed"
    write.refresh_from_db()
    assert write.state == CalendarWrite.State.PENDING and write.attempts == 0

    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.ACTIVE
    )
    sandbox_client.fault("google", "server_error", email=MAILBOX, status=503, count=1)
    assert outbox.process(write.pk) == "retrying"
    write.refresh_from_db()
    assert write.state == CalendarWrite.State.PENDING and write.attempts == 1
    assert outbox.process(write.pk) == "done"
    assert [e["summary"] for e in sandbox_client.events(MAILBOX, primary.remote_id)] == [
        "Kick-off"
    ]
