"""Plain-words status lines for connections and calendars on the settings page."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from calendars.models import Calendar, CalendarConnection, CalendarWrite


@dataclass(frozen=True)
class Status:
    level: str  # ok | pending | warning | problem
    headline: str
    detail: str = ""


def _ago(moment) -> str:
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, timezone.now()).split(',')[0]} ago"


def _in(moment) -> str:
    if moment - timezone.now() < timedelta(minutes=1):
        return "within a minute"
    return f"in {timeuntil(moment, timezone.now()).split(',')[0]}"


def _reason(error: str) -> str:
    """ ": <the provider's reason>" as part of a sentence (no doubled full stop)."""
    error = error.strip().rstrip(".")
    return f": {error}" if error else ""


def connection_status(connection: CalendarConnection) -> Status:
    provider = connection.get_provider_display()
    if connection.needs_reconnect:
        return Status(
            "problem",
            "Reconnect required",
            f"{provider} stopped accepting this connection"
            f"{_reason(connection.last_error)}. Nothing syncs until you reconnect; your "
            "scheduling pages take meeting requests meanwhile, which you answer in Meetings.",
        )
    next_sync = f"next sync {_in(connection.next_sync_at)}"
    failed = connection.writes.filter(state=CalendarWrite.State.FAILED).order_by("-pk")
    if failed.exists():
        last = failed.first()
        return Status(
            "warning",
            "Some changes could not be written to your calendar",
            f"{failed.count()} change(s) failed, most recently “{last.payload.get('title', '')}”: "
            f"{last.last_error}. Nothing was retried automatically; check the calendar's "
            "permissions, then change the meeting again.",
        )
    if connection.status == CalendarConnection.Status.ERROR or connection.last_error:
        return Status(
            "warning",
            "Sync problem",
            f"Last problem: {connection.last_error}. We retry automatically ({next_sync}).",
        )
    if connection.last_synced_at is None:
        return Status("pending", "First sync in progress", "Your events appear in a minute or two.")
    return Status("ok", "Connected", f"Last synced {_ago(connection.last_synced_at)}, {next_sync}.")


def calendar_status(calendar: Calendar) -> Status:
    if calendar.connection.needs_reconnect and calendar.is_active:
        return Status(
            "problem",
            "Not syncing",
            "The connection needs reconnecting; what is shown of this calendar may be out of date.",
        )
    if calendar.is_task_calendar:
        return Status("ok", "Task calendar", "Holds your CRM tasks with a due date.")
    if not calendar.is_active:
        return Status(
            "problem",
            "No access",
            "The connected account can no longer see this calendar, so contacts cannot book "
            "with you. Remove it with the X, or ask its owner to share it with you again.",
        )
    if not calendar.fully_readable:
        return Status("pending", "Free/busy only", "Needs “see all event details” to be used.")
    if calendar.last_error:
        return Status("warning", "Sync problem", calendar.last_error)
    if calendar.last_synced_at:
        return Status("ok", "Synced", f"Last synced {_ago(calendar.last_synced_at)}.")
    if calendar.is_primary or calendar.for_availability:
        return Status("pending", "Waiting for first sync")
    return Status("pending", "Not synced", "Not used for availability.")
