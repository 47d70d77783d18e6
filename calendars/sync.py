"""Sync in: bring the Event mirror of a connection up to date with its provider.

One sync of a connection runs at a time: a worker claims a lease on the connection row
before it talks to the provider and gives it back afterwards. A worker that dies mid-sync
simply lets the lease run out, and the next dispatch picks the connection up again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calendars import connections, notifications, push
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
from calendars.signals import calendar_access_lost, events_changed
from scheduler import availability_cache

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
PAST_DAYS, FUTURE_DAYS = 30, 400
FULL_SYNC_EVERY = timedelta(days=7)


@dataclass
class SyncReport:
    """What one sync did, for logs, the management command and tests."""

    connection_id: int
    claimed: bool = True
    started_at: str = ""
    finished_at: str = ""
    upserted: int = 0
    removed: int = 0
    full_resyncs: int = 0
    calendars_lost: list[str] = field(default_factory=list)
    error: str = ""


def sync_window(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS)


# --- Lease ------------------------------------------------------------------------------


def claim(connection_id: int) -> str | None:
    """Take the connection's sync lease; None when another sync holds it."""
    owner, now = uuid.uuid4().hex, timezone.now()
    claimed = (
        CalendarConnection.objects.filter(pk=connection_id)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .update(sync_lease_owner=owner, sync_lease_until=now + LEASE)
    )
    return owner if claimed else None


class LeaseLost(Exception):
    """Another worker took the connection over (this one was too slow): stop, write nothing."""


@dataclass(frozen=True)
class Lease:
    connection_id: int
    owner: str

    def renew(self) -> None:
        """Keep the lease while pages are still coming in."""
        renewed = CalendarConnection.objects.filter(
            pk=self.connection_id, sync_lease_owner=self.owner
        ).update(sync_lease_until=timezone.now() + LEASE)
        if not renewed:
            raise LeaseLost

    def hold(self) -> None:
        """Inside the transaction that stores the changes: lock the connection row and make
        sure the lease is still ours, so a superseded sync can never overwrite a newer one."""
        held = (
            CalendarConnection.objects.select_for_update()
            .filter(pk=self.connection_id, sync_lease_owner=self.owner)
            .exists()
        )
        if not held:
            raise LeaseLost


def release(connection_id: int, owner: str) -> None:
    CalendarConnection.objects.filter(pk=connection_id, sync_lease_owner=owner).update(
        sync_lease_owner="", sync_lease_until=None
    )


# --- Sync -------------------------------------------------------------------------------


PageCallback = Callable[[Calendar, int], None]  # (calendar, events on the page just read)


def sync_connection(
    connection_id: int, full: bool = False, on_page: PageCallback | None = None
) -> SyncReport:
    """Sync one connection now, unless another sync of it is running (then claimed=False).

    `on_page` hears about every page read, for progress displays."""
    owner = claim(connection_id)
    if owner is None:
        return SyncReport(connection_id, claimed=False)
    started = timezone.now()
    try:
        connection = CalendarConnection.objects.select_related("user").get(pk=connection_id)
        report = _sync_claimed(connection, full, on_page, Lease(connection_id, owner))
    finally:
        release(connection_id, owner)
    report.started_at, report.finished_at = started.isoformat(), timezone.now().isoformat()
    return report


def _sync_claimed(
    connection: CalendarConnection, full: bool, on_page: PageCallback | None, lease: Lease
) -> SyncReport:
    report = SyncReport(connection.pk)
    if connection.needs_reconnect:
        report.error = "reconnect required"
        return report
    client = connections.provider_for(connection)
    try:
        _lose_calendars(connections.refresh_calendars(connection, client), report)
        for calendar in _mirrored(connection):
            _sync_calendar_safely(client, calendar, full, report, on_page, lease)
            if calendar.is_active:
                push.ensure_channel(client, calendar)
    except LeaseLost:
        report.error = "superseded by another sync of this connection"
        return report
    except ReconnectRequired as exc:
        report.error = str(exc)
        if connections.mark_reconnect_required(connection, str(exc)):
            notifications.send_reconnect_email(connection.pk)
        return report
    except ProviderError as exc:
        report.error = str(exc)
        _schedule_retry(connection, exc)
        return report
    _record_success(connection)
    return report


def _mirrored(connection: CalendarConnection):
    """The calendars whose events the app mirrors: the main calendar and availability ones."""
    return connection.calendars.filter(is_active=True, is_task_calendar=False).filter(
        Q(is_primary=True) | Q(for_availability=True)
    )


def _sync_calendar_safely(
    client, calendar: Calendar, full: bool, report, on_page, lease: Lease
) -> None:
    try:
        sync_calendar(client, calendar, full, report, on_page, lease)
    except CalendarAccessLost:
        calendar.is_active = False
        calendar.save(update_fields=["is_active"])
        _lose_calendars([calendar], report)


def _lose_calendars(lost: list[Calendar], report: SyncReport) -> None:
    if lost:
        availability_cache.bump([lost[0].connection.user_id])
    for calendar in lost:
        report.calendars_lost.append(calendar.name)
        calendar_access_lost.send(sender=Calendar, calendar_id=calendar.pk)


def sync_calendar(
    client: CalendarProvider,
    calendar: Calendar,
    full: bool,
    report: SyncReport,
    on_page: PageCallback | None = None,
    lease: Lease | None = None,
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
            lease.hold()
        if not token:
            # A full sync replaces the mirror: anything not listed is gone.
            removed |= set(
                calendar.events.exclude(remote_id__in=list(events)).values_list(
                    "remote_id", flat=True
                )
            )
        _apply(calendar, events.values(), removed)
        if events or removed:
            availability_cache.bump([calendar.connection.user_id])
        calendar.sync_token = next_token or ""
        calendar.last_synced_at = timezone.now()
        calendar.last_error = ""
        if not token:
            calendar.full_synced_at = calendar.last_synced_at
        calendar.save(
            update_fields=["sync_token", "last_synced_at", "last_error", "full_synced_at"]
        )
        transaction.on_commit(lambda: _announce(calendar, sorted(events), sorted(removed)))
    report.upserted += len(events)
    report.removed += len(removed)


def _read(client, calendar: Calendar, token: str, on_page, lease: Lease | None) -> list:
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


def _apply(calendar: Calendar, events, removed: set[str]) -> None:
    now = timezone.now()
    if removed:
        calendar.events.filter(remote_id__in=list(removed)).delete()
    stored = {
        values[0]: values[1:]
        for values in calendar.events.filter(remote_id__in=[e.id for e in events]).values_list(
            "remote_id", *MIRRORED_FIELDS
        )
    }
    # A full resync mostly re-reads what the mirror already has: write only what changed.
    rows = [
        row
        for row in (_row(calendar, event, now) for event in events)
        if stored.get(row.remote_id) != tuple(getattr(row, f) for f in MIRRORED_FIELDS)
    ]
    Event.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["calendar", "remote_id"],
        update_fields=[*MIRRORED_FIELDS, "synced_at"],
    )


def _row(calendar: Calendar, event: RemoteEvent, now: datetime) -> Event:
    return Event(
        calendar=calendar,
        remote_id=event.id,
        start=event.start,
        end=event.end,
        all_day=event.all_day,
        busy=event.busy,
        title=event.title[:1024],
        attendees=sorted({a.email.lower() for a in event.attendees}),
        organizer=event.organizer.lower(),
        recurring_event_id=event.recurring_event_id,
        app_key=event.app_key,
        synced_at=now,
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


def _schedule_retry(connection: CalendarConnection, error: ProviderError) -> None:
    """Back off: the provider's own delay when it gave one, else exponential with a cap."""
    failures = connection.sync_failures + 1
    if isinstance(error, RateLimited):
        delay = timedelta(seconds=error.retry_after)
    else:
        delay = min(timedelta(seconds=30 * 2 ** min(failures, 10)), MAX_BACKOFF)
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.ERROR if error.permanent else connection.status,
        next_sync_at=now + delay,
        sync_failures=failures,
        last_error=str(error),
        last_error_at=now,
    )
    logger.warning(
        "calendar sync failed",
        extra={"connection": connection.pk, "error": str(error), "retry_in": delay.total_seconds()},
    )


def due_connection_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        CalendarConnection.objects.filter(next_sync_at__lte=now)
        .exclude(status=CalendarConnection.Status.RECONNECT_REQUIRED)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .order_by("next_sync_at")
        .values_list("pk", flat=True)[:limit]
    )
