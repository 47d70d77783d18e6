"""Periodic tasks of the calendars app (sent by beat); the tasks that do one piece of work
live beside their service: `sync.sync_connection_task`, `outbox.send_calendar_write`."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from calendars import outbox, sync
from calendars.models import CalendarConnection

# Long enough for a normal sync to claim its lease before the next dispatch.
DISPATCH_HOLD = timedelta(minutes=2)

# Kept under their historical names for callers and tests.
sync_connection = sync.sync_connection_task
send_calendar_write = outbox.send_calendar_write


@shared_task
def dispatch_due_syncs() -> int:
    """Sent by beat every minute: queue a sync of every connection that is due."""
    ids = sync.due_connection_ids()
    # Hold them back so the next dispatch does not queue them again before they run.
    CalendarConnection.objects.filter(pk__in=ids).update(
        next_sync_at=timezone.now() + DISPATCH_HOLD
    )
    for connection_id in ids:
        sync.sync_connection_task.delay(connection_id)
    return len(ids)


@shared_task
def sweep_calendar_writes() -> dict:
    """Sent by beat: retry every write that is due (and any a dead worker left behind)."""
    return outbox.sweep()
