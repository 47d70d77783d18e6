from dataclasses import asdict
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from calendars import outbox, sync
from calendars.models import CalendarConnection

# Long enough for a normal sync to claim its lease before the next dispatch.
DISPATCH_HOLD = timedelta(minutes=2)


@shared_task(ignore_result=False)
def sync_connection(connection_id: int, full: bool = False) -> dict:
    return asdict(sync.sync_connection(connection_id, full=full))


@shared_task
def dispatch_due_syncs() -> int:
    """Sent by beat every minute: queue a sync of every connection that is due."""
    ids = sync.due_connection_ids()
    # Hold them back so the next dispatch does not queue them again before they run.
    CalendarConnection.objects.filter(pk__in=ids).update(
        next_sync_at=timezone.now() + DISPATCH_HOLD
    )
    for connection_id in ids:
        sync_connection.delay(connection_id)
    return len(ids)


@shared_task
def send_calendar_write(write_id: int) -> str:
    return outbox.process(write_id)


@shared_task
def sweep_calendar_writes() -> dict:
    """Sent by beat every minute: retry every write that is due."""
    return outbox.sweep()
