"""Planned emails to contacts: reminders before a meeting, and a confirmation held back until
the meeting's video link is known (meetings.conferencing).

Plans are rows (`PlannedEmail`) written in the booking's own transaction. A periodic task
(every 30 s) sends what is due: it claims each row with a lease (scheduler.leases), then, in
one transaction that checks the lease is still its own, queues the email through the mail
outbox and marks the row sent. A worker that dies before that commit leaves the row planned
(its lease runs out and another worker sends it); one that stalls past its lease finds it lost
and writes nothing. So each planned email is queued exactly once, and the outbox sends it.

Reminders are planned per page (up to three, e.g. one day and one hour before). "N days
before" is the same wall-clock time N days earlier in the contact's time zone (a meeting at
10:00 gets its reminder at 10:00 the day before, across a DST change too); minutes and hours
are elapsed time. A cancelled meeting's reminders are cancelled; a moved meeting's are
planned again for the new time, and a row only fires for the start it was planned for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Meeting
from meetings import emails
from meetings.models import Booking, PlannedEmail
from scheduler import leases

logger = logging.getLogger(__name__)

MAX_REMINDERS = 3
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
LEASE_SECONDS = 30
State = PlannedEmail.State
Kind = PlannedEmail.Kind


@dataclass(frozen=True)
class Offset:
    """How long before the meeting a reminder goes out."""

    amount: int
    unit: str  # minutes | hours | days

    @property
    def label(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"

    def due(self, start: datetime, zone: str) -> datetime:
        if self.unit == "days":
            # Aware arithmetic within one zone is wall-clock arithmetic; the result is read
            # with the offset in force on that day.
            local = start.astimezone(ZoneInfo(zone)) - timedelta(days=self.amount)
            return local.astimezone(UTC)
        return start - timedelta(minutes=self.amount * UNITS[self.unit])


def offsets(raw) -> list[Offset]:
    """A page's reminders as stored (`[{"amount", "unit"}]`), validated."""
    found = []
    for item in raw or []:
        amount, unit = item.get("amount"), item.get("unit")
        whole = isinstance(amount, int) and not isinstance(amount, bool)
        if whole and unit in UNITS and 0 < amount * UNITS[unit] <= 30 * 24 * 60:
            found.append(Offset(amount, unit))
    return found[:MAX_REMINDERS]


def plan(booking: Booking, now: datetime) -> list[PlannedEmail]:
    """Plan the page's reminders for a confirmed booking (call in its transaction).
    Reminders whose time has already passed (a meeting booked an hour ahead gets no "one
    day before" reminder) are not planned."""
    rows = []
    for offset in offsets(booking.page.reminders):
        due = offset.due(booking.start, booking.timezone)
        if due > now:
            rows.append(
                PlannedEmail(
                    booking=booking,
                    kind=Kind.REMINDER,
                    label=offset.label,
                    due_at=due,
                    booking_start=booking.start,
                )
            )
    return PlannedEmail.objects.bulk_create(rows)


def cancel(booking: Booking, kind: str | None = Kind.REMINDER) -> int:
    """Cancel the booking's planned emails of `kind` (None: every kind) not sent yet."""
    rows = booking.planned_emails.filter(state=State.PLANNED)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return rows.update(state=State.CANCELLED)


def replan(booking: Booking, now: datetime) -> list[PlannedEmail]:
    """The booking moved: its reminders are planned again for the new time."""
    cancel(booking)
    return plan(booking, now)


def hold_confirmation(booking: Booking, now: datetime) -> PlannedEmail:
    """Plan the contact's confirmation for when the video link is known, at the latest
    CONFERENCE_WAIT_SECONDS from now (then it goes without, and the link follows)."""
    wait = settings.CONFERENCE_WAIT_SECONDS
    row = PlannedEmail.objects.create(
        booking=booking,
        kind=Kind.CONFIRMATION,
        due_at=now + timedelta(seconds=wait),
        booking_start=booking.start,
    )
    transaction.on_commit(lambda: _send_later(row.pk, wait))
    return row


def release_confirmation(booking: Booking, now: datetime) -> bool:
    """Send a held confirmation now (call in a transaction); False when none is waiting
    (it went out already, or was never held)."""
    rows = booking.planned_emails.filter(kind=Kind.CONFIRMATION, state=State.PLANNED)
    row_ids = list(rows.values_list("pk", flat=True))
    if not row_ids:
        return False
    rows.update(due_at=now)
    for row_id in row_ids:
        transaction.on_commit(lambda row_id=row_id: _send_later(row_id, 0))
    return True


def _send_later(row_id: int, seconds: float) -> None:
    from meetings.tasks import send_planned_email

    send_planned_email.apply_async((row_id,), countdown=seconds)


# --- Sending ------------------------------------------------------------------------------


def due_ids(now: datetime, limit: int = 500) -> list[int]:
    return list(
        PlannedEmail.objects.filter(state=State.PLANNED, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def send_due(now: datetime | None = None) -> dict[str, int]:
    """Send every planned email that is due (the periodic task)."""
    now = now or timezone.now()
    outcomes: dict[str, int] = {}
    for row_id in due_ids(now):
        outcome = send(row_id, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def send(row_id: int, now: datetime | None = None) -> str:
    """Send one planned email if it is due and still wanted; exactly once (module doc)."""
    now = now or timezone.now()
    lease = leases.claim(
        PlannedEmail, row_id, seconds=LEASE_SECONDS, state=State.PLANNED, due_at__lte=now
    )
    if lease is None:
        return "skipped"
    with transaction.atomic():
        try:
            lease.check()
        except leases.LeaseLost:
            return "lost"
        row = PlannedEmail.objects.select_related("booking__page", "booking__host").get(pk=row_id)
        if row.state != State.PLANNED:  # cancelled while we held the lease
            lease.release()
            return "cancelled"
        outcome = _verdict(row, now)
        email = None
        if outcome == State.SENT:
            email = _queue(row)
        lease.release(state=outcome, sent_at=now if email else None, email=email)
    return str(outcome)


def _verdict(row: PlannedEmail, now: datetime) -> str:
    booking = row.booking
    if booking.status != Booking.Status.CONFIRMED or _host_cancelled(booking):
        return State.CANCELLED
    if row.kind == Kind.REMINDER and booking.start != row.booking_start:
        return State.CANCELLED  # moved: the reminders for the new time are their own rows
    if row.kind == Kind.REMINDER and booking.start <= now:
        return State.SKIPPED  # too late to remind anyone (workers were down)
    return State.SENT


def _host_cancelled(booking: Booking) -> bool:
    """The host cancelled the meeting on the CRM record or deleted it from their calendar
    (calendar sync cancels the CRM meeting): no reminder for a meeting that will not happen."""
    return Meeting.objects.filter(
        pk=booking.crm_meeting_id, status=Meeting.Status.CANCELLED
    ).exists()


def _queue(row: PlannedEmail):
    if row.kind == Kind.CONFIRMATION:
        return emails.queue_contact_confirmation(row.booking)
    return emails.queue_reminder(row.booking, row.label)
