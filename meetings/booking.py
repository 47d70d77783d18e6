"""Booking, rescheduling and cancelling (DESIGN flow 5).

A booking is checked three times: against the provider's live free/busy where the host's
connection is healthy (before any lock is taken, so no network call ever holds one), again
against the mirror and existing reservations while the hosts' rows are locked, and finally by
PostgreSQL's exclusion constraint on reservations, which makes an overlap impossible even if
the code above were wrong.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from calendars import connections as calendar_connections
from calendars.models import Calendar
from calendars.providers.base import ProviderError
from crm import services as crm
from crm.models import Meeting
from meetings import availability as engine
from meetings import slots
from meetings.models import Booking, HostReservation, SchedulingPage
from meetings.tasks import (
    send_booking_cancelled,
    send_booking_confirmed,
    send_booking_rescheduled,
    send_inactive_calendar_alert,
    send_request_received,
)
from scheduler import availability_cache
from scheduler.models import User

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "5s"
TAKEN_CODES = {
    engine.ReasonCode.BUSY,
    engine.ReasonCode.BUFFER,
    engine.ReasonCode.ALREADY_BOOKED,
    engine.ReasonCode.DAILY_MAXIMUM,
}


class BookingError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class PageUnavailable(BookingError):
    status = 404


class SlotTaken(BookingError):
    status = 409


class CalendarInactive(BookingError):
    status = 423


class TryAgain(BookingError):
    status = 503


@dataclass(frozen=True)
class Visitor:
    email: str
    first_name: str
    last_name: str
    timezone: str
    answers: dict = field(default_factory=dict)


# --- Booking ----------------------------------------------------------------------------


def book(
    page: SchedulingPage,
    start: datetime,
    duration: int,
    visitor: Visitor,
    now: datetime | None = None,
) -> Booking:
    """Book (or, in offline mode, request) `duration` minutes at `start` on `page`."""
    now = now or timezone.now()
    if duration not in page.durations:
        raise BookingError(
            "This duration is not offered.", {"duration": "Choose an offered duration."}
        )
    rules = slots.page_rules(page, duration)
    end = start + rules.duration
    hosts = slots.page_hosts(page)
    state, data = _state(page, hosts, (start, end))
    if state == slots.PageState.LIVE:
        _live_check(data, start - rules.buffer_before, end + rules.buffer_after)
    try:
        with transaction.atomic():
            _lock_hosts(hosts)
            data = slots.load_hosts(hosts, (start, end))
            host_id, free_hosts = _choose_host(page, rules, data, start, now, visitor)
            booking = _create(page, host_id, free_hosts, start, end, state, visitor)
    except IntegrityError as exc:
        # The exclusion constraint: another booking of this host committed first.
        raise SlotTaken("This time was just booked by someone else. Please pick another.") from exc
    except OperationalError as exc:
        raise TryAgain("Many people are booking right now. Please try again.") from exc
    return booking


def _state(page: SchedulingPage, hosts: list[int], window) -> tuple[str, slots.HostData]:
    data = slots.load_hosts(hosts, window)
    state = data.state(slots.pages_enabled(page))
    if state == slots.PageState.DISABLED:
        raise PageUnavailable("This scheduling page is not available.")
    if state == slots.PageState.BLOCKED:
        names = [c.name for c in data.inactive_calendars()]
        send_inactive_calendar_alert.delay_on_commit(page.pk, names, window[0].isoformat())
        raise CalendarInactive(
            "Booking is not possible right now: the host's calendar cannot be checked. "
            "The host has been told; please try again later."
        )
    return state, data


def _live_check(data: slots.HostData, start: datetime, end: datetime) -> None:
    """Ask each host's provider whether the time is still free, where it can be asked."""
    for connection_row in data.connections.values():
        if connection_row.needs_reconnect:
            continue  # the mirror is all we have; the host has been told to reconnect
        calendar_ids = [
            c.remote_id
            for c in data.calendars
            if c.connection_id == connection_row.pk and c.is_active
        ]
        try:
            client = calendar_connections.provider_for(connection_row)
            answer = client.free_busy(calendar_ids, start, end)
        except ProviderError as exc:
            # A provider hiccup must not stop bookings: the mirror and the database decide.
            logger.warning("live free/busy check failed", extra={"error": str(exc)})
            continue
        if any(answer.busy.get(calendar_id) for calendar_id in calendar_ids):
            raise SlotTaken("This time is no longer free. Please pick another.")


def _lock_hosts(host_ids: list[int]) -> None:
    """Row-lock the hosts in a fixed order, with a short timeout (no deadlocks, no pile-ups)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    list(User.objects.select_for_update().filter(pk__in=host_ids).order_by("pk").values("pk"))


def _choose_host(page, rules, data, start, now, visitor) -> tuple[int, list[int]]:
    """(the host whose calendar gets the event, every host who attends)."""
    reasons = {
        member.id: engine.explain(rules, start, now=now, busy=member.busy, bookings=member.bookings)
        for member in slots.members(page, rules, data)
    }
    free = [host_id for host_id, why in reasons.items() if not why]
    if page.kind == SchedulingPage.Kind.ROUND_ROBIN:
        if not free:
            _refuse(reasons)
        chosen = engine.pick_round_robin_host(
            free, _recent_bookings(data.host_ids), _contact_owner(page, visitor.email)
        )
        return chosen, [chosen]
    if len(free) != len(reasons):
        _refuse({k: v for k, v in reasons.items() if v})
    return page.owner_id, list(reasons)


def _refuse(reasons: dict) -> None:
    """Raise the visitor's answer. Conflicts get a generic 409: the explanation would name
    the host's calendars, which are none of the visitor's business."""
    found = [reason for why in reasons.values() for reason in why]
    if any(reason.code in TAKEN_CODES for reason in found):
        raise SlotTaken("This time is no longer free. Please pick another.")
    message = found[0].message if found else "This time is not offered."
    raise BookingError(message, {"start": message})


def _recent_bookings(host_ids: list[int]) -> dict[int, int]:
    since = timezone.now() - timedelta(days=30)
    counts = dict.fromkeys(host_ids, 0)
    for host_id in HostReservation.objects.filter(
        host_id__in=host_ids, active=True, start__gte=since
    ).values_list("host_id", flat=True):
        counts[host_id] += 1
    return counts


def _contact_owner(page: SchedulingPage, email: str) -> int | None:
    contact = crm.find_contact(page.account, email)
    return contact.owner_id if contact is not None else None


def _create(page, host_id, attending, start, end, state, visitor: Visitor) -> Booking:
    live = state == slots.PageState.LIVE
    host = User.objects.get(pk=host_id)
    booking = Booking.objects.create(
        page=page,
        host=host,
        start=start,
        end=end,
        status=Booking.Status.CONFIRMED if live else Booking.Status.REQUESTED,
        email=visitor.email.strip().lower(),
        first_name=visitor.first_name,
        last_name=visitor.last_name,
        timezone=visitor.timezone,
        answers=visitor.answers,
        manage_token=secrets.token_urlsafe(32),
    )
    if live:
        HostReservation.objects.bulk_create(
            HostReservation(booking=booking, host_id=h, start=start, end=end) for h in attending
        )
        availability_cache.bump(attending)
    contact = crm.upsert_contact(
        page.account,
        email=visitor.email,
        first_name=visitor.first_name,
        last_name=visitor.last_name,
        owner=host,
    )
    meeting = crm.create_meeting(
        host,
        contacts=[contact],
        title=f"{page.name}: {visitor.first_name} {visitor.last_name}",
        start=start,
        end=end,
        location=page.video_link or page.location,
        description=_description(page, visitor),
        source=Meeting.Source.BOOKING,
        calendar=_main_calendar(host_id) if live else None,
        guests=[u.email for u in User.objects.filter(pk__in=attending).exclude(pk=host_id)],
    )
    booking.crm_meeting_id, booking.calendar_event_key = meeting.pk, meeting.calendar_event_key
    booking.save(update_fields=["crm_meeting_id", "calendar_event_key"])
    task = send_booking_confirmed if live else send_request_received
    task.delay_on_commit(booking.pk)
    return booking


def _main_calendar(host_id: int) -> Calendar | None:
    """The host's default personal calendar: the only one a booking is written to."""
    return Calendar.objects.filter(
        connection__user_id=host_id, is_primary=True, is_active=True
    ).first()


def _description(page: SchedulingPage, visitor: Visitor) -> str:
    lines = [f"Booked on the scheduling page “{page.name}”."]
    lines += [f"{question}: {answer}" for question, answer in visitor.answers.items()]
    return "\n".join(lines)


# --- Changing a booking -----------------------------------------------------------------


def _changeable(token: str, now: datetime) -> Booking:
    """The booking behind a manage link, with its hosts locked first and then the booking
    row alone: the same order `book` takes, so the two never deadlock."""
    booking = Booking.objects.select_related("page", "host").filter(manage_token=token).first()
    if booking is None:
        raise PageUnavailable("No such booking.")
    _lock_hosts(list(booking.reservations.values_list("host_id", flat=True)) or [booking.host_id])
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("page", "host")
        .get(pk=booking.pk)
    )
    if booking.start <= now and booking.status != Booking.Status.CANCELLED:
        raise BookingError("This meeting has already started; contact the host to change it.")
    return booking


def _changing(function):
    """Lock waits that time out (or a deadlock PostgreSQL broke) become "try again"."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except OperationalError as exc:
            raise TryAgain("Many changes are happening right now. Please try again.") from exc

    return wrapper


@_changing
def cancel(token: str, now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    with transaction.atomic():
        booking = _changeable(token, now)
        if booking.status == Booking.Status.CANCELLED:
            return booking
        if not booking.page.allow_cancel:
            raise BookingError("This meeting cannot be cancelled online. Contact the host.")
        booking.status, booking.cancelled_at = Booking.Status.CANCELLED, now
        booking.sequence += 1
        booking.save(update_fields=["status", "cancelled_at", "sequence"])
        availability_cache.bump(booking.reservations.values_list("host_id", flat=True))
        booking.reservations.update(active=False)
        meeting = Meeting.objects.filter(pk=booking.crm_meeting_id).first()
        if meeting is not None:
            crm.cancel_meeting(meeting)  # also deletes the calendar event, contact told
        send_booking_cancelled.delay_on_commit(booking.pk)
    return booking


@_changing
def reschedule(token: str, start: datetime, now: datetime | None = None) -> Booking:
    """Move a confirmed booking, with every check a new booking gets."""
    now = now or timezone.now()
    current = Booking.objects.select_related("page").filter(manage_token=token).first()
    if current is None:
        raise PageUnavailable("No such booking.")
    duration = current.duration_minutes
    rules = slots.page_rules(current.page, duration)
    end = start + rules.duration
    hosts = list(current.reservations.values_list("host_id", flat=True)) or [current.host_id]
    state, data = _state(current.page, hosts, (start, end))
    if state == slots.PageState.LIVE:
        _live_check(data, start - rules.buffer_before, end + rules.buffer_after)
    with transaction.atomic():
        booking = _changeable(token, now)
        page = booking.page
        if booking.status != Booking.Status.CONFIRMED or not page.allow_reschedule:
            raise BookingError("This meeting cannot be rescheduled online. Contact the host.")
        data = slots.load_hosts(hosts, (start, end), exclude_booking_id=booking.pk)
        reasons = {
            m.id: engine.explain(rules, start, now=now, busy=m.busy, bookings=m.bookings)
            for m in slots.members(page, rules, data)
        }
        if any(reasons.values()):
            _refuse({k: v for k, v in reasons.items() if v})
        try:
            with transaction.atomic():
                booking.reservations.update(start=start, end=end)
        except IntegrityError as exc:
            raise SlotTaken(
                "This time was just booked by someone else. Please pick another."
            ) from exc
        booking.start, booking.end = start, end
        booking.sequence += 1
        booking.save(update_fields=["start", "end", "sequence"])
        availability_cache.bump(hosts)
        meeting = Meeting.objects.filter(pk=booking.crm_meeting_id).first()
        if meeting is not None:
            crm.reschedule_meeting(meeting, start=start, end=end)
        send_booking_rescheduled.delay_on_commit(booking.pk)
    return booking
