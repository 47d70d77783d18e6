"""Write out: calendar writes queued with the change that needs them, sent after commit.

Callers (CRM meetings, tasks, bookings) call `enqueue` inside their own transaction, so the
write exists exactly when the change does. A task sends it after commit; `sweep` retries
whatever is due. Every write carries the event's idempotency key, so a retry after a lost
answer finds the event created the first time instead of creating a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calendars import busy, connections, notifications
from calendars.models import Calendar, CalendarConnection, CalendarWrite, Event
from calendars.providers.base import (
    Attendee,
    EventWrite,
    ProviderError,
    RateLimited,
    ReconnectRequired,
)
from calendars.signals import write_completed
from scheduler import availability_cache, leases
from scheduler.retry import backoff

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
RECONNECT_RETRY = timedelta(minutes=10)
Action = CalendarWrite.Action


def enqueue(
    connection: CalendarConnection,
    action: str,
    key: str,
    event: EventWrite | None = None,
    *,
    calendar: Calendar | None = None,
    remote_event_id: str = "",
    ref: str = "",
) -> CalendarWrite:
    """Queue a write; call inside the transaction of the change that needs it.

    Without `calendar` the write goes to the connection's default personal calendar.
    """
    calendar = calendar or connection.calendars.get(is_primary=True)
    write = CalendarWrite.objects.create(
        connection=connection,
        calendar=calendar,
        action=action,
        key=key,
        payload=_payload(event) if event else {},
        remote_event_id=remote_event_id,
        ref=ref,
    )
    send_calendar_write.delay_on_commit(write.pk)
    return write


def _payload(event: EventWrite) -> dict:
    return {
        "title": event.title,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "timezone": event.timezone,
        "description": event.description,
        "location": event.location,
        "attendees": [[a.email, a.name] for a in event.attendees],
        "send_invitations": event.send_invitations,
        "busy": event.busy,
        "conference": event.conference,
    }


def _event(write: CalendarWrite) -> EventWrite:
    data = write.payload
    return EventWrite(
        key=write.key,
        title=data["title"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        timezone=data.get("timezone", "UTC"),
        description=data.get("description", ""),
        location=data.get("location", ""),
        attendees=tuple(Attendee(email, name) for email, name in data.get("attendees", [])),
        send_invitations=data.get("send_invitations", True),
        busy=data.get("busy", True),
        conference=data.get("conference", ""),
    )


# --- Sending ----------------------------------------------------------------------------

# A write's lease is renewed while its provider call runs; a worker that dies mid-write frees
# it within this many seconds, and the sweeper sends it again (the idempotency key makes the
# second attempt find the event the first one created).
LEASE_SECONDS = 10


@shared_task(name="calendars.tasks.send_calendar_write")
def send_calendar_write(write_id: int) -> str:
    return process(write_id)


def process(write_id: int) -> str:
    """Send one pending write unless another worker is sending it or an earlier write of the
    same event is still pending (writes of one event go out in order).

    No database lock or transaction is held while the provider is called: the write is
    claimed with a lease, and the outcome is stored afterwards in a short transaction that
    checks the lease is still ours.
    """
    lease = leases.claim(
        CalendarWrite, write_id, seconds=LEASE_SECONDS, state=CalendarWrite.State.PENDING
    )
    if lease is None:
        return "skipped"
    write = CalendarWrite.objects.select_related("connection", "calendar").get(pk=write_id)
    if _earlier_pending(write):
        lease.release()
        # The earlier write may have finished between the check and the release, and then
        # its follow-up found this one leased: look again rather than wait for the sweeper.
        return process(write_id) if not _earlier_pending(write) else "waiting"
    if write.connection.needs_reconnect:
        _postpone(write, lease, RECONNECT_RETRY, "The calendar connection needs reconnecting.")
        return "postponed"
    with lease:
        outcome = _send(write, lease)
    if outcome == "done":
        _send_next(write)
    return outcome


def _earlier_pending(write: CalendarWrite) -> bool:
    """Writes of one event go out in order: an update waits for its create."""
    return CalendarWrite.objects.filter(
        connection_id=write.connection_id,
        key=write.key,
        state=CalendarWrite.State.PENDING,
        pk__lt=write.pk,
    ).exists()


def _send_next(write: CalendarWrite) -> None:
    """The next pending write of the same event waited for this one: send it now."""
    following = (
        CalendarWrite.objects.filter(
            connection_id=write.connection_id,
            key=write.key,
            state=CalendarWrite.State.PENDING,
            pk__gt=write.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        send_calendar_write.delay(following)


def _send(write: CalendarWrite, lease: leases.Lease) -> str:
    client = connections.provider_for(write.connection)
    try:
        remote_id = _perform(client, write)
    except RateLimited as exc:
        _postpone(write, lease, timedelta(seconds=exc.retry_after), str(exc))
        return "rate limited"
    except ReconnectRequired as exc:
        if connections.mark_reconnect_required(write.connection, str(exc)):
            notifications.queue_reconnect_email(write.connection_id)
        _postpone(write, lease, RECONNECT_RETRY, str(exc))
        return "postponed"
    except ProviderError as exc:
        if exc.permanent:  # refused for good (lost access, bad request): record and show
            _fail(write, lease, str(exc))
            return "failed"
        return _retry(write, lease, exc)
    except Exception as exc:  # anything unforeseen is retried too, and logged in full
        logger.exception("calendar write raised unexpectedly", extra={"write": write.pk})
        return _retry(write, lease, exc)
    _done(write, lease, remote_id)
    return "done"


def _done(write: CalendarWrite, lease: leases.Lease, remote_id: str) -> None:
    with transaction.atomic():
        try:
            lease.check()
        except leases.LeaseLost:
            # Another worker re-sent it after our lease ran out; the idempotency key made
            # both attempts the same event, and the other worker records the outcome.
            return
        CalendarWrite.objects.filter(pk=write.pk).update(
            state=CalendarWrite.State.DONE,
            remote_event_id=remote_id,
            done_at=timezone.now(),
            attempts=write.attempts + 1,
            last_error="",
            lease_owner="",
            lease_until=None,
        )
        write_through(write, remote_id)
        transaction.on_commit(
            lambda: write_completed.send(
                sender=CalendarWrite,
                write_id=write.pk,
                key=write.key,
                ref=write.ref,
                action=write.action,
                remote_event_id=remote_id,
            )
        )


def write_through(write: CalendarWrite, remote_id: str) -> None:
    """Bring the mirror in line with what the app just wrote, without waiting for the next
    sync: a deleted event stops blocking its time at once (a cancelled booking's time is
    offered again), a moved one blocks its new time. The next sync confirms or corrects it."""
    mirror = Event.objects.filter(calendar_id=write.calendar_id)
    user_id = write.connection.user_id
    if write.action == Action.DELETE:
        gone = mirror.filter(Q(app_key=write.key) | Q(remote_id=remote_id or write.key))
        spans = list(gone.values_list("start", "end"))
        if spans:
            gone.delete()
            busy.refresh(user_id, spans)
            availability_cache.bump([user_id])
        return
    if write.action == Action.UPDATE and remote_id and write.payload:
        event = _event(write)
        moving = mirror.filter(remote_id=remote_id)
        spans = list(moving.values_list("start", "end"))
        if spans:
            moving.update(start=event.start, end=event.end)
            busy.refresh(user_id, [*spans, (event.start, event.end)])
            availability_cache.bump([user_id])


def _perform(client, write: CalendarWrite) -> str:
    calendar_id = write.calendar.remote_id
    if write.action == Action.CREATE:
        return client.create_event(calendar_id, _event(write))
    remote_id = write.remote_event_id or _created_remote_id(write)
    if not remote_id:
        # Never created (its create failed or was never sent): nothing to change or delete.
        return ""
    if write.action == Action.UPDATE:
        client.update_event(calendar_id, remote_id, _event(write))
    else:
        client.delete_event(calendar_id, remote_id, notify=write.payload.get("notify", True))
    return remote_id


def _created_remote_id(write: CalendarWrite) -> str:
    created = (
        CalendarWrite.objects.filter(
            connection_id=write.connection_id,
            key=write.key,
            action=Action.CREATE,
            state=CalendarWrite.State.DONE,
        )
        .exclude(remote_event_id="")
        .order_by("-pk")
        .first()
    )
    return created.remote_event_id if created else ""


def _retry(write: CalendarWrite, lease: leases.Lease, error: Exception) -> str:
    """A failed attempt: tried again with backoff, given up after MAX_ATTEMPTS of them."""
    if write.attempts + 1 >= MAX_ATTEMPTS:
        _fail(write, lease, str(error))
        return "failed"
    _postpone(write, lease, backoff(write.attempts + 1), str(error), failed=True)
    return "retrying"


def _postpone(
    write: CalendarWrite, lease: leases.Lease, delay: timedelta, error: str, failed=False
) -> None:
    """Try again after `delay`. Only a failed attempt counts towards MAX_ATTEMPTS: waiting
    for a reconnect or a rate limit can last hours and must not use the attempts up (the
    first hiccup after the user reconnects would otherwise fail the write for good)."""
    lease.release(
        attempts=write.attempts + 1 if failed else write.attempts,
        next_attempt_at=timezone.now() + delay,
        last_error=error[:2000],
    )


def _fail(write: CalendarWrite, lease: leases.Lease, error: str) -> None:
    lease.release(
        attempts=write.attempts + 1, state=CalendarWrite.State.FAILED, last_error=error[:2000]
    )
    logger.error("calendar write failed", extra={"write": write.pk, "error": error})


def due_write_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        CalendarWrite.objects.filter(state=CalendarWrite.State.PENDING, next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Send every due write, oldest first (the periodic repair of anything missed)."""
    outcomes: dict[str, int] = {}
    for write_id in due_write_ids(now):
        outcome = process(write_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
