"""Write out: calendar writes queued with the change that needs them, sent after commit.

Callers (CRM meetings, tasks, bookings) call `enqueue` inside their own transaction, so the
write exists exactly when the change does. A task sends it after commit; `sweep` retries
whatever is due. Every write carries the event's idempotency key, so a retry after a lost
answer finds the event created the first time instead of creating a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calendars import connections, notifications
from calendars.models import Calendar, CalendarConnection, CalendarWrite
from calendars.providers.base import (
    Attendee,
    EventWrite,
    ProviderError,
    RateLimited,
    ReconnectRequired,
)
from calendars.signals import write_completed

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
    from calendars.tasks import send_calendar_write  # tasks import this module

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
    )


# --- Sending ----------------------------------------------------------------------------


def process(write_id: int) -> str:
    """Send one write if it is due and nothing earlier for its event is still pending.

    The row stays locked while the provider is called, so the after-commit task and the
    sweeper can never send the same write twice at once.
    """
    with transaction.atomic():
        write = (
            CalendarWrite.objects.select_for_update(skip_locked=True)
            .select_related("connection", "calendar")
            .filter(pk=write_id, state=CalendarWrite.State.PENDING)
            .first()
        )
        if write is None:
            return "skipped"
        if _earlier_pending(write):
            return "waiting"
        if write.connection.needs_reconnect:
            _postpone(write, RECONNECT_RETRY, "The calendar connection needs reconnecting.")
            return "postponed"
        return _send(write)


def _earlier_pending(write: CalendarWrite) -> bool:
    """Writes of one event go out in order: an update waits for its create."""
    return CalendarWrite.objects.filter(
        connection_id=write.connection_id,
        key=write.key,
        state=CalendarWrite.State.PENDING,
        pk__lt=write.pk,
    ).exists()


def _send(write: CalendarWrite) -> str:
    client = connections.provider_for(write.connection)
    try:
        remote_id = _perform(client, write)
    except RateLimited as exc:
        _postpone(write, timedelta(seconds=exc.retry_after), str(exc))
        return "rate limited"
    except ReconnectRequired as exc:
        if connections.mark_reconnect_required(write.connection, str(exc)):
            transaction.on_commit(lambda: notifications.send_reconnect_email(write.connection_id))
        _postpone(write, RECONNECT_RETRY, str(exc))
        return "postponed"
    except ProviderError as exc:
        if exc.permanent:  # refused for good (lost access, bad request): record and show
            _fail(write, str(exc))
            return "failed"
        return _retry(write, exc)
    except Exception as exc:  # anything unforeseen is retried too, and logged in full
        logger.exception("calendar write raised unexpectedly", extra={"write": write.pk})
        return _retry(write, exc)
    write.state, write.remote_event_id, write.done_at = (
        CalendarWrite.State.DONE,
        remote_id,
        timezone.now(),
    )
    write.attempts += 1
    write.last_error = ""
    write.save(update_fields=["state", "remote_event_id", "done_at", "attempts", "last_error"])
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
    return "done"


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


def _retry(write: CalendarWrite, error: Exception) -> str:
    if write.attempts + 1 >= MAX_ATTEMPTS:
        _fail(write, str(error))
        return "failed"
    _postpone(write, _backoff(write.attempts + 1), str(error))
    return "retrying"


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=5 * 2**attempts), timedelta(hours=1))


def _postpone(write: CalendarWrite, delay: timedelta, error: str) -> None:
    write.attempts += 1
    write.next_attempt_at = timezone.now() + delay
    write.last_error = error
    write.save(update_fields=["attempts", "next_attempt_at", "last_error"])


def _fail(write: CalendarWrite, error: str) -> None:
    write.attempts += 1
    write.state, write.last_error = CalendarWrite.State.FAILED, error
    write.save(update_fields=["attempts", "state", "last_error"])
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
