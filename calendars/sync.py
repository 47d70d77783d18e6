"""Sync in: bring the Event mirror of a connection up to date with its provider.

One sync of a connection runs at a time: a worker claims a lease on the connection row
before it talks to the provider, renews it while it works and gives it back afterwards; no
database lock or transaction is held while the provider is called. A worker that dies
mid-sync stops renewing, so its lease runs out within seconds and a waiting sync (a push
notification's) takes over. A sync asked for while one runs is not lost: the running one
sees the request when it ends and the task runs another.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from calendars import busy, connections, notifications, push
from calendars.models import Calendar, CalendarConnection, Event
from calendars.providers.base import (
    CalendarAccessLost,
    CalendarProvider,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    RemoteEvent,
    SyncTokenExpired,
)
from calendars.signals import events_changed
from scheduler import availability_cache, leases
from scheduler.retry import backoff

logger = logging.getLogger(__name__)

# A sync renews its lease every few seconds while it runs (scheduler.leases); a worker that
# dies mid-sync, even by SIGKILL, frees the connection within this many seconds.
LEASE_SECONDS = 10
PAST_DAYS, FUTURE_DAYS = 30, 400
FULL_SYNC_EVERY = timedelta(days=7)
RETRY_FIRST, RETRY_CAP = timedelta(seconds=30), timedelta(hours=1)


@dataclass
class SyncReport:
    """What one sync did, for logs, the management command, tests and the task's follow-ups."""

    connection_id: int
    claimed: bool = True
    started_at: str = ""
    finished_at: str = ""
    upserted: int = 0
    removed: int = 0
    full_resyncs: int = 0
    calendars_lost: list[str] = field(default_factory=list)
    error: str = ""
    # Not claimed: seconds until the lease that blocked this sync runs out, when a sync was
    # asked for after the running one started (the caller retries then).
    lease_free_in: float | None = None
    # Claimed: a sync was asked for while this one ran (a push notification): run another.
    again: bool = False


def sync_window(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS)


# --- Sync -------------------------------------------------------------------------------


PageCallback = Callable[[Calendar, int], None]  # (calendar, events on the page just read)


def sync_connection(
    connection_id: int, full: bool = False, on_page: PageCallback | None = None
) -> SyncReport:
    """Sync one connection now, unless another sync of it is running (then claimed=False).

    `on_page` hears about every page read, for progress displays."""
    started = timezone.now()
    lease = leases.claim(CalendarConnection, connection_id, prefix="sync_", seconds=LEASE_SECONDS)
    if lease is None:
        return _not_claimed(connection_id)
    CalendarConnection.objects.filter(pk=connection_id).update(sync_started_at=started)
    try:
        with lease:
            connection = CalendarConnection.objects.select_related("user").get(pk=connection_id)
            report = _sync_claimed(connection, full, on_page, lease)
    finally:
        lease.release()
    report.started_at, report.finished_at = started.isoformat(), timezone.now().isoformat()
    report.again = CalendarConnection.objects.filter(
        pk=connection_id, sync_requested_at__gt=started
    ).exists()
    return report


def _not_claimed(connection_id: int) -> SyncReport:
    report = SyncReport(connection_id, claimed=False)
    row = (
        CalendarConnection.objects.filter(pk=connection_id)
        .values("sync_lease_until", "sync_requested_at", "sync_started_at")
        .first()
    )
    if row and row["sync_lease_until"] and row["sync_requested_at"]:
        asked_later = row["sync_started_at"] is None or (
            row["sync_requested_at"] > row["sync_started_at"]
        )
        if asked_later:
            wait = (row["sync_lease_until"] - timezone.now()).total_seconds()
            report.lease_free_in = max(wait, 0.0)
    return report


def _sync_claimed(
    connection: CalendarConnection, full: bool, on_page: PageCallback | None, lease
) -> SyncReport:
    report = SyncReport(connection.pk)
    if connection.needs_reconnect:
        report.error = "reconnect required"
        return report
    try:
        client = connections.provider_for(connection)
        _lose_calendars(connections.refresh_calendars(connection, client), report)
        for calendar in _mirrored(connection):
            _sync_calendar_safely(client, calendar, full, report, on_page, lease)
            if calendar.is_active:
                push.ensure_channel(client, calendar)
    except leases.LeaseLost:
        report.error = "superseded by another sync of this connection"
        return report
    except ReconnectRequired as exc:
        report.error = str(exc)
        if connections.mark_reconnect_required(connection, str(exc)):
            notifications.queue_reconnect_email(connection.pk)
        return report
    except ProviderError as exc:
        report.error = str(exc)
        _schedule_retry(connection, exc)
        return report
    except Exception as exc:  # a bug or a database blip: recorded, backed off, retried
        logger.exception("calendar sync raised unexpectedly", extra={"connection": connection.pk})
        report.error = f"Unexpected error ({type(exc).__name__}); it was logged."
        _schedule_retry(connection, exc, message=report.error)
        return report
    _record_success(connection)
    return report


def _mirrored(connection: CalendarConnection):
    """The calendars whose events the app mirrors: the main calendar and availability ones."""
    return connection.calendars.filter(is_active=True, is_task_calendar=False).filter(
        Q(is_primary=True) | Q(for_availability=True)
    )


def _sync_calendar_safely(
    client, calendar: Calendar, full: bool, report, on_page, lease: leases.Lease
) -> None:
    try:
        sync_calendar(client, calendar, full, report, on_page, lease)
    except CalendarAccessLost:
        _lose_calendars([calendar], report)


def _lose_calendars(lost: list[Calendar], report: SyncReport) -> None:
    report.calendars_lost += [calendar.name for calendar in lost]
    connections.lose_calendars(lost)


def sync_calendar(
    client: CalendarProvider,
    calendar: Calendar,
    full: bool,
    report: SyncReport,
    on_page: PageCallback | None = None,
    lease: leases.Lease | None = None,
) -> None:
    """Page through the calendar's changes and apply them to the mirror in one transaction.

    The new sync token is stored with the changes, so a failure mid-way leaves the old token
    and the next sync starts again from it: nothing is lost, nothing applied twice.
    """
    stale = calendar.full_synced_at is None or (
        timezone.now() - calendar.full_synced_at > FULL_SYNC_EVERY
    )
    token = "" if full or stale else calendar.sync_token
    try:
        pages = _read(client, calendar, token, on_page, lease)
    except SyncTokenExpired:
        report.full_resyncs += 1
        token = ""
        pages = _read(client, calendar, token, on_page, lease)
    events = {event.id: event for page in pages for event in page.events}
    removed = {rid for page in pages for rid in page.removed_ids} - set(events)
    next_token = next((p.next_sync_token for p in reversed(pages) if p.next_sync_token), None)
    with transaction.atomic():
        if lease is not None:
            lease.check()
        if not token:
            # A full sync replaces the mirror: anything not listed is gone.
            removed |= set(
                calendar.events.exclude(remote_id__in=list(events)).values_list(
                    "remote_id", flat=True
                )
            )
        spans, changed = _apply(calendar, events.values(), removed)
        user_id = calendar.connection.user_id
        if not token:
            busy.refresh(user_id)  # a full sync rewrites the whole mirror
        elif spans:
            busy.refresh(user_id, spans)
        if changed or removed:
            availability_cache.bump([user_id])
        calendar.sync_token = next_token or ""
        calendar.last_synced_at = timezone.now()
        calendar.last_error = ""
        if not token:
            calendar.full_synced_at = calendar.last_synced_at
        calendar.save(
            update_fields=["sync_token", "last_synced_at", "last_error", "full_synced_at"]
        )
        # The CRM looks at what changed; a full sync shows it every event (a contact added
        # since may be a guest of one).
        reported = sorted(events) if not token else sorted(changed)
        transaction.on_commit(lambda: _announce(calendar, reported, sorted(removed)))
    report.upserted += len(events)
    report.removed += len(removed)


def _read(client, calendar: Calendar, token: str, on_page, lease: leases.Lease | None) -> list:
    pages = []
    for page in client.changes(calendar.remote_id, token or None, sync_window(timezone.now())):
        pages.append(page)
        if lease is not None:
            lease.renew()
        if on_page is not None:
            on_page(calendar, len(page.events) + len(page.removed_ids))
    return pages


def _announce(calendar: Calendar, changed: list[str], removed: list[str]) -> None:
    """Tell upper layers (CRM) what changed. A failing receiver is logged, never allowed to
    undo or hide a sync that has already been stored."""
    results = events_changed.send_robust(
        sender=Calendar,
        connection_id=calendar.connection_id,
        calendar_id=calendar.pk,
        changed_remote_ids=changed,
        removed_remote_ids=removed,
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error(
                "events_changed receiver failed",
                exc_info=result,
                extra={"receiver": getattr(receiver, "__qualname__", str(receiver))},
            )


MIRRORED_FIELDS = [
    "start",
    "end",
    "all_day",
    "busy",
    "title",
    "attendees",
    "organizer",
    "recurring_event_id",
    "app_key",
]


def _values(event: RemoteEvent) -> tuple:
    """The mirrored fields of an event, in MIRRORED_FIELDS order."""
    return (
        event.start,
        event.end,
        event.all_day,
        event.busy,
        event.title[:1024],
        sorted({a.email.lower() for a in event.attendees}),
        event.organizer.lower(),
        event.recurring_event_id,
        event.app_key,
    )


def _apply(calendar: Calendar, events, removed: set[str]) -> tuple[list, list[str]]:
    """Store the changes; returns (the spans of time they touch, old and new, for the busy
    store; the ids of events whose mirrored fields changed)."""
    spans: list[tuple[datetime, datetime]] = []
    if removed:
        gone = calendar.events.filter(remote_id__in=list(removed))
        spans += gone.values_list("start", "end")
        gone.delete()
    events = list(events)
    stored = {
        values[0]: values[1:]
        for values in calendar.events.filter(remote_id__in=[e.id for e in events]).values_list(
            "remote_id", *MIRRORED_FIELDS
        )
    }
    # A full resync mostly re-reads what the mirror already has: write only what changed.
    changed = []
    for event in events:
        values, old = _values(event), stored.get(event.id)
        if old != values:
            changed.append((event.id, values))
            spans.append((values[0], values[1]))
            if old is not None:
                spans.append((old[0], old[1]))
    _upsert(calendar, changed, timezone.now())
    return spans, [remote_id for remote_id, _ in changed]


UPSERT_SQL = """
INSERT INTO calendars_event
    (calendar_id, remote_id, start, "end", all_day, busy, title, attendees, organizer,
     recurring_event_id, app_key, synced_at)
SELECT %s, * , %s FROM unnest(
    %s::text[], %s::timestamptz[], %s::timestamptz[], %s::boolean[], %s::boolean[], %s::text[],
    %s::jsonb[], %s::text[], %s::text[], %s::text[])
ON CONFLICT (calendar_id, remote_id) DO UPDATE SET
    start = EXCLUDED.start, "end" = EXCLUDED."end", all_day = EXCLUDED.all_day,
    busy = EXCLUDED.busy, title = EXCLUDED.title, attendees = EXCLUDED.attendees,
    organizer = EXCLUDED.organizer, recurring_event_id = EXCLUDED.recurring_event_id,
    app_key = EXCLUDED.app_key, synced_at = EXCLUDED.synced_at
"""


def _upsert(calendar: Calendar, changed: list[tuple[str, tuple]], now: datetime) -> None:
    """Insert or update the changed events: on PostgreSQL one statement per thousand events
    from column arrays (no model instance per event)."""
    if not changed:
        return
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(
            [
                Event(
                    calendar=calendar,
                    remote_id=remote_id,
                    synced_at=now,
                    **dict(zip(MIRRORED_FIELDS, values, strict=True)),
                )
                for remote_id, values in changed
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["calendar", "remote_id"],
            update_fields=[*MIRRORED_FIELDS, "synced_at"],
        )
        return
    with connection.cursor() as cursor:
        for begin in range(0, len(changed), 1000):
            batch = changed[begin : begin + 1000]
            columns = list(zip(*(values for _, values in batch), strict=True))
            attendees = [json.dumps(value) for value in columns[5]]
            cursor.execute(
                UPSERT_SQL,
                [
                    calendar.pk,
                    now,
                    [remote_id for remote_id, _ in batch],
                    list(columns[0]),
                    list(columns[1]),
                    list(columns[2]),
                    list(columns[3]),
                    list(columns[4]),
                    attendees,
                    list(columns[6]),
                    list(columns[7]),
                    list(columns[8]),
                ],
            )


# --- Outcome ----------------------------------------------------------------------------


def _record_success(connection: CalendarConnection) -> None:
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.ACTIVE,
        last_synced_at=now,
        next_sync_at=now + timedelta(minutes=settings.CALENDAR_POLL_MINUTES),
        sync_failures=0,
        last_error="",
    )


def _schedule_retry(connection: CalendarConnection, error: Exception, message: str = "") -> None:
    """Back off: the provider's own delay when it gave one, else the shared backoff."""
    failures = connection.sync_failures + 1
    if isinstance(error, RateLimited):
        delay = timedelta(seconds=error.retry_after)
    else:
        delay = backoff(failures, first=RETRY_FIRST, cap=RETRY_CAP)
    permanent = getattr(error, "permanent", False)
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.ERROR if permanent else connection.status,
        next_sync_at=now + delay,
        sync_failures=failures,
        last_error=(message or str(error))[:2000],
        last_error_at=now,
    )
    logger.warning(
        "calendar sync failed",
        extra={"connection": connection.pk, "error": str(error), "retry_in": delay.total_seconds()},
    )


def queue_sync(connection_id: int, full: bool = False) -> None:
    """Sync this connection soon, after the current transaction commits. A sync that is
    running already will run again when it ends (the request is kept on the row)."""
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection_id).update(
        next_sync_at=now, sync_requested_at=now
    )
    sync_connection_task.delay_on_commit(connection_id, full=full)


# At most this many follow-ups wait for a blocking lease to run out; after that the
# dispatcher (every minute) picks the connection up, since it is due.
FOLLOW_UPS = 3


@shared_task(
    name="calendars.tasks.sync_connection",
    ignore_result=False,
    soft_time_limit=600,  # a first full sync of a big mailbox takes a while
    time_limit=660,
)
def sync_connection_task(connection_id: int, full: bool = False, follow_up: int = 0) -> dict:
    report = sync_connection(connection_id, full=full)
    if report.again:
        sync_connection_task.delay(connection_id)
    elif report.lease_free_in is not None and follow_up < FOLLOW_UPS:
        # Asked for while another sync held the lease: if that worker died, its lease runs
        # out soon; try again then instead of waiting for the next poll.
        sync_connection_task.apply_async(
            (connection_id, full, follow_up + 1), countdown=report.lease_free_in + 0.5
        )
    return asdict(report)


def due_connection_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        CalendarConnection.objects.filter(next_sync_at__lte=now)
        .exclude(status=CalendarConnection.Status.RECONNECT_REQUIRED)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .order_by("next_sync_at")
        .values_list("pk", flat=True)[:limit]
    )
