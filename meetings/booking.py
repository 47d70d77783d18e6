"""Booking, rescheduling and cancelling (DESIGN flow 5).

A booking is decided by the same function that lists the page's slots (`slots.free_hosts`
is `slots.offered_slots` for one start), over the same data: the page never offers a time it
would refuse, nor refuses one it offers. That data is checked three times: against the
providers' live free/busy where the hosts' connections are healthy (all hosts at once, within
a time budget, before any lock is taken, so no network call ever holds one), again against
the mirror and existing reservations while the hosts' rows are locked, and finally by
PostgreSQL's exclusion constraint on reservations, which makes an overlap impossible even if
the code above were wrong.

The page's state comes from its hosts' calendar health (`HostData.plan`): healthy → a
booking; no calendar, or one that needs reconnecting → a meeting request (the host decides,
meetings.requests); an inactive availability calendar → refused, and its owner told.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from calendars import freebusy
from calendars.models import Calendar
from crm import services as crm
from crm.models import Meeting
from meetings import availability as engine
from meetings import conferencing, emails, policies, reminders, routing, slots
from meetings.models import Booking, HostReservation, SchedulingPage
from scheduler import availability_cache
from scheduler.models import User

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "5s"
# Lock waits that time out are retried (the slot re-checked) until this deadline.
LOCK_RETRY_SECONDS = 20
# PostgreSQL's answers to a lock that could not be had in time, and to a broken deadlock.
LOCK_SQLSTATES = {"55P03", "40P01"}
TAKEN_CODES = {
    engine.ReasonCode.BUSY,
    engine.ReasonCode.BUFFER,
    engine.ReasonCode.ALREADY_BOOKED,
    engine.ReasonCode.DAILY_MAXIMUM,
}
TAKEN = "This time is no longer free. Please pick another."
# The CRM meeting's source for each booking source.
MEETING_SOURCES = {
    Booking.Source.PAGE: Meeting.Source.BOOKING,
    Booking.Source.CHAT: Meeting.Source.CHAT,
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


T = TypeVar("T")


# --- Locks and transactions ---------------------------------------------------------------


def _advisory_locks(keys: list[int]) -> None:
    """Transaction-scoped PostgreSQL advisory locks, taken in a fixed order with a short
    timeout (no deadlocks, no pile-ups). SQLite (the embedded default) serialises writing
    transactions anyway."""
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        for key in sorted(set(keys)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _key(*parts) -> int:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_hosts(host_ids) -> None:
    """Serialise changes of these hosts' existing bookings (cancel, reschedule, accepting a
    request); new bookings take only `serialise`'s locks. Call inside a transaction."""
    _advisory_locks([_key("host", host_id) for host_id in host_ids])


BUCKET = timedelta(hours=1)


def serialise(host_ids, rules: slots.Ruleset, start: datetime, end: datetime) -> None:
    """Take only the locks the rules need (in one sorted batch: no deadlocks): the hours the
    booking's padded time touches (overlaps and buffers), and each host's local day when
    the page has a daily maximum (it counts the day's bookings)."""
    low = int((start - rules.buffer_before).timestamp() // BUCKET.total_seconds())
    high = int((end + rules.buffer_after).timestamp() // BUCKET.total_seconds())
    keys = [_key("hour", h, b) for h in host_ids for b in range(low, high + 1)]
    for host_id in host_ids:
        own = slots.rules_of(rules, host_id)
        if own.daily_maximum is not None:
            keys.append(_key("host-day", host_id, start.astimezone(own.zone).date()))
    _advisory_locks(keys)


def _lock_wait(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in LOCK_SQLSTATES


def locked(work: Callable[[], T], conflict_retries: int = 0) -> T:
    """Run `work` in a transaction; a lock wait that times out runs it again (it re-checks
    the time, so a time taken meanwhile becomes a 409), until LOCK_RETRY_SECONDS. A 503
    only when the database itself cannot be reached or stays saturated. With
    `conflict_retries`, a reservation refused by the exclusion constraint runs `work` again
    (a round robin page then picks another free member)."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    while True:
        try:
            with transaction.atomic():
                return work()
        except IntegrityError as exc:
            # The exclusion constraint: another booking of this host committed first.
            if conflict_retries > 0:
                conflict_retries -= 1
                continue
            raise SlotTaken(
                "This time was just booked by someone else. Please pick another."
            ) from exc
        except OperationalError as exc:
            if not _lock_wait(exc):
                logger.error("database unavailable during a booking", exc_info=True)
                raise TryAgain("The service is busy right now. Please try again.") from exc
            if time.monotonic() > deadline:
                raise TryAgain("Many people are booking right now. Please try again.") from exc


# --- Deciding ----------------------------------------------------------------------------


@dataclass
class Prepared:
    """What was learnt before the transaction: live provider answers by host."""

    live_busy: dict[int, list[engine.BusyInterval]] = field(default_factory=dict)

    def forget(self, start: datetime, end: datetime) -> None:
        """Take [start, end) out of the reported busy time: a booking being moved is in its
        hosts' calendars at its current time and must not block its own move. Free/busy
        answers merge and clip events, so the time is cut out of each interval; another
        event inside it is still seen in the mirror."""
        for host_id, intervals in self.live_busy.items():
            kept = []
            for i in intervals:
                if i.start < start:
                    kept.append(engine.BusyInterval(i.start, min(i.end, start), i.label))
                if i.end > end:
                    kept.append(engine.BusyInterval(max(i.start, end), i.end, i.label))
            self.live_busy[host_id] = kept


def _plan_or_refuse(
    page: SchedulingPage, data: slots.HostData, start: datetime, alert: bool = False
) -> slots.Plan:
    plan = data.plan(page.kind, slots.pages_enabled(page))
    if alert and plan.inactive:
        emails.queue_inactive_calendar_alerts(page, list(plan.inactive), start)
    if plan.state == slots.PageState.DISABLED:
        raise PageUnavailable("This scheduling page is not available.")
    if plan.state == slots.PageState.BLOCKED:
        raise CalendarInactive(
            "Booking is not possible right now: the host's calendar cannot be checked. "
            "The host has been told; please try again later."
        )
    return plan


def prepare(
    page: SchedulingPage, hosts: list[int], rules: slots.Ruleset, start, end, exclude=None
) -> Prepared:
    """Before any lock: refuse what the page cannot take, and ask the live hosts' providers
    for their busy time around the slot."""
    data = slots.load_hosts(hosts, (start, end), exclude_booking_id=exclude)
    plan = _plan_or_refuse(page, data, start, alert=True)
    if plan.state != slots.PageState.LIVE:
        return Prepared()
    return ask_live(data, plan.hosts, rules, start, end)


def ask_live(data: slots.HostData, hosts, rules: slots.Ruleset, start, end) -> Prepared:
    """The busy time the live hosts' providers report around [start, end), all asked at
    once within LIVE_CHECK_BUDGET_SECONDS (calendars.freebusy); the mirror decides for a
    provider that does not answer in time."""
    live = [h for h in hosts if data.host_state(h) == slots.PageState.LIVE]
    calendars = [c for c in data.calendars if c.connection.user_id in live and c.is_active]
    answer = freebusy.live_busy(calendars, start - rules.buffer_before, end + rules.buffer_after)
    prepared = Prepared()
    owners = {c.connection_id: c.connection.user_id for c in calendars}
    for connection_id, busy in answer.busy.items():
        prepared.live_busy.setdefault(owners[connection_id], []).extend(
            engine.BusyInterval(interval.start, interval.end, "live") for interval in busy
        )
    return prepared


def _current(page, hosts, start, end, prepared: Prepared, exclude=None):
    """The hosts' data as it is now (call with the hosts locked), live answers added."""
    data = slots.load_hosts(hosts, (start, end), exclude_booking_id=exclude)
    for host_id, busy in prepared.live_busy.items():
        data.add_busy(host_id, busy)
    return data, _plan_or_refuse(page, data, start)


def _refuse(reasons: list[engine.Reason]) -> None:
    """Raise the visitor's answer. Conflicts get a generic 409: the explanation would name
    the host's calendars, which are none of the visitor's business."""
    if not reasons or any(reason.code in TAKEN_CODES for reason in reasons):
        raise SlotTaken(TAKEN)
    message = reasons[0].message
    raise BookingError(message, {"start": message})


# --- Booking ----------------------------------------------------------------------------


def book(
    page: SchedulingPage,
    start: datetime,
    duration: int,
    visitor: Visitor,
    now: datetime | None = None,
    source: str = Booking.Source.PAGE,
) -> Booking:
    """Book (or, when the hosts' calendars cannot take it, request) `duration` minutes at
    `start` on `page`. `source` says where the contact booked from (the booking page, the
    chat widget); the booking and its CRM meeting carry it."""
    now = now or timezone.now()
    if duration not in page.durations:
        raise BookingError(
            "This duration is not offered.", {"duration": "Choose an offered duration."}
        )
    hosts = slots.page_hosts(page)
    rules = slots.rules_for(page, duration, hosts)
    end = start + rules.duration
    prepared = prepare(page, hosts, rules, start, end)

    def work() -> Booking:
        serialise(hosts, rules, start, end)
        data, plan = _current(page, hosts, start, end, prepared)
        free = slots.free_hosts(page.kind, plan, rules, data, start, now)
        if not free:
            _refuse(slots.refusals(plan, rules, data, start, now))
        routed_among: tuple[int, ...] = ()
        if page.kind == SchedulingPage.Kind.ROUND_ROBIN:
            # The hosts are locked: no other booking of this page reads the history now.
            chosen = routing.pick_host(page, free, _contact_owner(page, visitor.email), now)
            attending, routed_among = [chosen], free
        else:
            chosen, attending = page.owner_id, list(free)
        booking = _create(page, chosen, attending, start, end, plan.state, visitor, now, source)
        if routed_among:
            booking.routed_among = sorted(routed_among)
            booking.save(update_fields=["routed_among"])
        return booking

    retries = len(hosts) - 1 if page.kind == SchedulingPage.Kind.ROUND_ROBIN else 0
    return locked(work, conflict_retries=retries)


def _contact_owner(page: SchedulingPage, email: str) -> int | None:
    contact = crm.find_contact(page.account, email)
    return contact.owner_id if contact is not None else None


def _create(page, host_id, attending, start, end, state, visitor: Visitor, now, source) -> Booking:
    live = state == slots.PageState.LIVE
    host = User.objects.get(pk=host_id)
    calendar = main_calendar(host_id) if live else None
    conference = conferencing.requested(page, calendar)
    expires = min(start, now + timedelta(hours=settings.MEETING_REQUEST_EXPIRY_HOURS))
    booking = Booking.objects.create(
        page=page,
        host=host,
        start=start,
        end=end,
        status=Booking.Status.CONFIRMED if live else Booking.Status.REQUESTED,
        source=source,
        email=visitor.email.strip().lower(),
        first_name=visitor.first_name,
        last_name=visitor.last_name,
        timezone=visitor.timezone,
        answers=visitor.answers,
        manage_token=secrets.token_urlsafe(32),
        expires_at=None if live else expires,
        conference_status=conferencing.PENDING if conference else "",
    )
    if live:
        reserve(booking, attending)
        reminders.plan(booking, now)
    # An anonymous visitor fills a contact's empty fields but never renames it: what they
    # typed stays on the booking and in the CRM meeting's description.
    contact = crm.upsert_contact(
        page.account,
        email=visitor.email,
        first_name=visitor.first_name,
        last_name=visitor.last_name,
        owner=host,
        fill_only=True,
    )
    meeting = crm.create_meeting(
        host,
        contacts=[contact],
        title=f"{page.name}: {visitor.first_name} {visitor.last_name}",
        start=start,
        end=end,
        location=page.fixed_video_link or page.location,
        description=description(page, visitor),
        source=MEETING_SOURCES[source],
        calendar=calendar,
        guests=[u.email for u in User.objects.filter(pk__in=attending).exclude(pk=host_id)],
        status=Meeting.Status.SCHEDULED if live else Meeting.Status.REQUESTED,
        video_url=page.fixed_video_link,
        conference=conference,
        answers=visitor.answers.items(),
    )
    booking.crm_meeting_id, booking.calendar_event_key = meeting.pk, meeting.calendar_event_key
    booking.save(update_fields=["crm_meeting_id", "calendar_event_key"])
    if not live:
        emails.queue_request_received(booking)
    elif conference:
        # The contact's confirmation waits (briefly) for the video link: meetings.conferencing.
        reminders.hold_confirmation(booking, now)
        emails.queue_host_booked(booking)
    else:
        emails.queue_confirmation(booking)
    return booking


def reserve(booking: Booking, host_ids) -> None:
    """Hold the hosts' time for a confirmed booking (the exclusion constraint backs it)."""
    HostReservation.objects.bulk_create(
        HostReservation(booking=booking, host_id=h, start=booking.start, end=booking.end)
        for h in host_ids
    )
    availability_cache.bump(host_ids)


def main_calendar(host_id: int) -> Calendar | None:
    """The host's default personal calendar: the only one a booking is written to."""
    return Calendar.objects.filter(
        connection__user_id=host_id,
        connection__scheduling_pages=True,
        is_primary=True,
        is_active=True,
    ).first()


def description(page: SchedulingPage, visitor: Visitor) -> str:
    lines = [
        f"Booked on the scheduling page “{page.name}” by {visitor.first_name} "
        f"{visitor.last_name} <{visitor.email}>."
    ]
    lines += [f"{question}: {answer}" for question, answer in visitor.answers.items()]
    return "\n".join(lines)


# --- Changing a booking -----------------------------------------------------------------


def _changeable(token: str, now: datetime) -> Booking:
    """The booking behind a manage link, with its hosts locked first and then the booking
    row alone: the same order `book` takes, so the two never deadlock."""
    booking = Booking.objects.select_related("page", "host").filter(manage_token=token).first()
    if booking is None:
        raise PageUnavailable("No such booking.")
    _lock_hosts(reservation_hosts(booking))
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("page", "host")
        .get(pk=booking.pk)
    )
    if booking.start <= now and booking.is_open:
        raise BookingError("This meeting has already started; contact the host to change it.")
    return booking


def reservation_hosts(booking: Booking) -> list[int]:
    return list(booking.reservations.values_list("host_id", flat=True)) or [booking.host_id]


def cancel(token: str, now: datetime | None = None, reason: str = "") -> Booking:
    """The contact cancels a booking (within the page's cancellation notice, with a reason
    when the page asks for one), or withdraws a meeting request."""
    now = now or timezone.now()
    reason = reason.strip()

    def work() -> Booking:
        booking = _changeable(token, now)
        if booking.is_request:
            return _withdraw(booking, now)
        if booking.status != Booking.Status.CONFIRMED:
            return booking
        allowed = policies.cancel(booking, now)
        if not allowed:
            raise BookingError(allowed.why_not)
        if policies.reason_required(booking.page) and not reason:
            message = "Please tell the host why you cancel."
            raise BookingError(message, {"reason": message})
        booking.status, booking.cancelled_at = Booking.Status.CANCELLED, now
        booking.cancel_reason = reason if policies.reason_asked(booking.page) else ""
        booking.sequence += 1
        booking.save(update_fields=["status", "cancelled_at", "cancel_reason", "sequence"])
        availability_cache.bump(booking.reservations.values_list("host_id", flat=True))
        booking.reservations.update(active=False)
        reminders.cancel(booking, kind=None)
        cancel_crm_meeting(booking)  # also deletes the calendar event, contact told
        emails.queue_cancellation(booking)
        return booking

    return locked(work)


def _withdraw(booking: Booking, now: datetime) -> Booking:
    booking.status, booking.cancelled_at = Booking.Status.WITHDRAWN, now
    booking.save(update_fields=["status", "cancelled_at"])
    cancel_crm_meeting(booking)
    emails.queue_request_withdrawn(booking)
    return booking


def cancel_crm_meeting(booking: Booking) -> None:
    meeting = Meeting.objects.filter(pk=booking.crm_meeting_id).first()
    if meeting is not None:
        crm.cancel_meeting(meeting)


def reschedule(token: str, start: datetime, now: datetime | None = None) -> Booking:
    """Move a confirmed booking, with every check a new booking gets: the same hosts must be
    free at the new time, and their calendars able to take the change."""
    now = now or timezone.now()
    current = Booking.objects.select_related("page").filter(manage_token=token).first()
    if current is None:
        raise PageUnavailable("No such booking.")
    page = current.page
    hosts = reservation_hosts(current)
    rules = slots.rules_for(page, current.duration_minutes, hosts)
    end = start + rules.duration
    prepared = prepare(page, hosts, rules, start, end, exclude=current.pk)
    prepared.forget(current.start, current.end)  # the providers report the meeting itself

    def work() -> Booking:
        booking = _changeable(token, now)
        serialise(hosts, rules, start, end)  # the time it moves to
        if booking.status != Booking.Status.CONFIRMED:
            raise BookingError("This meeting cannot be rescheduled online. Contact the host.")
        allowed = policies.reschedule(booking, now)
        if not allowed:
            raise BookingError(allowed.why_not)
        data, _ = _current(page, hosts, start, end, prepared, exclude=booking.pk)
        everyone = slots.moving_plan(data)
        if everyone.state != slots.PageState.LIVE:
            raise CalendarInactive(
                "This meeting cannot be moved right now: the host's calendar cannot be "
                "updated. Please try again later or contact the host."
            )
        # Every attending host must be free: what the page lists for this move.
        if not slots.free_hosts(slots.MOVING, everyone, rules, data, start, now):
            _refuse(slots.refusals(everyone, rules, data, start, now))
        booking.reservations.update(start=start, end=end)
        booking.start, booking.end = start, end
        booking.sequence += 1
        booking.save(update_fields=["start", "end", "sequence"])
        availability_cache.bump(hosts)
        reminders.replan(booking, now)
        meeting = Meeting.objects.filter(pk=booking.crm_meeting_id).first()
        if meeting is not None:
            crm.reschedule_meeting(meeting, start=start, end=end)
        emails.queue_rescheduled(booking)
        return booking

    return locked(work)
