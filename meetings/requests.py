"""Meeting requests: what a page takes when its hosts' calendars cannot take a booking
(no calendar connected, or one that needs reconnecting; SPEC §2, §4 "Requests").

A request holds no time. The host accepts it (with every check a booking gets: the time must
still be free in their calendars and bookings; it becomes a confirmed booking, the event is
written, the contact told), proposes another time (the contact accepts it from their manage
link, or withdraws), or declines it with a message. Unanswered requests expire.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from crm import services as crm
from crm.models import Meeting
from meetings import booking as booking_service
from meetings import conferencing, emails, reminders, slots
from meetings.booking import BookingError, CalendarInactive, PageUnavailable, SlotTaken
from meetings.models import Booking, SchedulingPage
from scheduler.models import User


class NotYours(PageUnavailable):
    """Only the request's host (or the page's owner) answers it; to anyone else it does not
    exist."""


def for_host(user: User):
    """The requests a user may answer: those they host and those on pages they own."""
    return Booking.objects.filter(Q(host=user) | Q(page__owner=user)).select_related("page", "host")


def open_requests(user: User):
    return for_host(user).filter(status=Booking.Status.REQUESTED).order_by("start")


def _attending(booking: Booking) -> list[int]:
    if booking.page.kind == SchedulingPage.Kind.GROUP:
        return slots.page_hosts(booking.page)
    return [booking.host_id]


def _locked_request(booking_id: int, user: User | None, token: str = "") -> Booking:
    rows = Booking.objects.filter(pk=booking_id)
    current = rows.select_related("page", "host").first()
    if current is None or (user is not None and not for_host(user).filter(pk=booking_id).exists()):
        raise NotYours("No such meeting request.")
    if token and current.manage_token != token:
        raise NotYours("No such meeting request.")
    booking_service._lock_hosts(_attending(current))
    booking = rows.select_for_update(of=("self",)).select_related("page", "host").get()
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(f"This request is already {booking.get_status_display().lower()}.")
    return booking


def _check_free(booking: Booking, start: datetime, now: datetime, prepared) -> None:
    """The attending hosts must be free at `start` (busy time, bookings, buffers and the
    daily maximum, as for a booking; the page's hours and notice are the host's to waive)."""
    if start <= now:
        raise BookingError("This time is in the past.", {"start": "Pick a time in the future."})
    page = booking.page
    rules = slots.page_rules(page, booking.duration_minutes)
    hosts = _attending(booking)
    booking_service.serialise(hosts, rules, start, start + rules.duration)
    data = slots.load_hosts(hosts, (start, start + rules.duration))
    for host_id, busy in prepared.live_busy.items():
        data.add_busy(host_id, busy)
    blocked = [c.name for c in data.inactive_calendars()]
    if blocked:
        raise CalendarInactive(
            f"Availability calendar {', '.join(blocked)} is inactive: remove it or regain "
            "access before accepting meetings."
        )
    everyone = slots.Plan(slots.PageState.LIVE, tuple(hosts))
    taken = [
        reason
        for reason in slots.refusals(everyone, rules, data, start, now)
        if reason.code in booking_service.TAKEN_CODES
    ]
    if taken:
        raise SlotTaken("This time is no longer free in the calendar.", {"start": taken[0].message})


def _prepare(booking: Booking, start: datetime) -> booking_service.Prepared:
    """Ask the live calendars before any lock, as a booking does."""
    rules = slots.page_rules(booking.page, booking.duration_minutes)
    hosts = _attending(booking)
    end = start + rules.duration
    data = slots.load_hosts(hosts, (start, end))
    return booking_service.ask_live(data, hosts, rules, start, end)


def _confirm(booking: Booking, start: datetime, now: datetime) -> Booking:
    """Turn the locked request into a confirmed booking at `start`."""
    end = start + (booking.end - booking.start)
    booking.start, booking.end = start, end
    booking.status, booking.answered_at = Booking.Status.CONFIRMED, now
    booking.proposed_start = booking.proposed_end = None
    booking.expires_at = None
    booking.save(
        update_fields=[
            "start",
            "end",
            "status",
            "answered_at",
            "proposed_start",
            "proposed_end",
            "expires_at",
        ]
    )
    booking_service.reserve(booking, _attending(booking))
    reminders.plan(booking, now)
    meeting = Meeting.objects.filter(pk=booking.crm_meeting_id).first()
    if meeting is not None:
        calendar = booking_service.main_calendar(booking.host_id)
        conference = conferencing.requested(booking.page, calendar)
        meeting = crm.confirm_meeting(
            meeting, start=start, end=end, calendar=calendar, conference=conference
        )
        booking.calendar_event_key = meeting.calendar_event_key
        booking.conference_status = conferencing.PENDING if conference else ""
        booking.save(update_fields=["calendar_event_key", "conference_status"])
    emails.queue_request_accepted(booking)
    return booking


def accept(booking_id: int, user: User, now: datetime | None = None) -> Booking:
    """The host accepts the request at the time the contact asked for."""
    now = now or timezone.now()
    current = Booking.objects.select_related("page").filter(pk=booking_id).first()
    if current is None:
        raise NotYours("No such meeting request.")
    prepared = _prepare(current, current.start)

    def work() -> Booking:
        booking = _locked_request(booking_id, user)
        _check_free(booking, booking.start, now, prepared)
        return _confirm(booking, booking.start, now)

    return booking_service.locked(work)


def propose(
    booking_id: int, user: User, start: datetime, message: str = "", now: datetime | None = None
) -> Booking:
    """The host proposes another time; the contact accepts it from their manage link."""
    now = now or timezone.now()
    current = Booking.objects.select_related("page").filter(pk=booking_id).first()
    if current is None:
        raise NotYours("No such meeting request.")
    prepared = _prepare(current, start)

    def work() -> Booking:
        booking = _locked_request(booking_id, user)
        _check_free(booking, start, now, prepared)
        booking.proposed_start = start
        booking.proposed_end = start + (booking.end - booking.start)
        booking.host_message, booking.answered_at = message, now
        booking.save(
            update_fields=["proposed_start", "proposed_end", "host_message", "answered_at"]
        )
        emails.queue_time_proposed(booking)
        return booking

    return booking_service.locked(work)


def accept_proposal(token: str, now: datetime | None = None) -> Booking:
    """The contact takes the time the host proposed (re-checked: it may be gone)."""
    now = now or timezone.now()
    current = Booking.objects.select_related("page").filter(manage_token=token).first()
    if current is None or current.proposed_start is None:
        raise PageUnavailable("No time was proposed for this request.")
    prepared = _prepare(current, current.proposed_start)

    def work() -> Booking:
        booking = _locked_request(current.pk, None, token=token)
        if booking.proposed_start is None:
            raise BookingError("No time was proposed for this request.")
        _check_free(booking, booking.proposed_start, now, prepared)
        return _confirm(booking, booking.proposed_start, now)

    return booking_service.locked(work)


def decline(booking_id: int, user: User, message: str = "", now: datetime | None = None):
    now = now or timezone.now()

    def work() -> Booking:
        booking = _locked_request(booking_id, user)
        booking.status, booking.answered_at = Booking.Status.DECLINED, now
        booking.host_message = message
        booking.save(update_fields=["status", "answered_at", "host_message"])
        booking_service.cancel_crm_meeting(booking)
        emails.queue_request_declined(booking)
        return booking

    return booking_service.locked(work)


def expire_due(now: datetime | None = None) -> int:
    """Expire every request whose answer time has passed (or whose time has come); the
    contact is told. Returns how many expired."""
    now = now or timezone.now()
    due = Booking.objects.filter(status=Booking.Status.REQUESTED).filter(
        Q(expires_at__lte=now) | Q(start__lte=now)
    )
    expired = 0
    for booking_id in due.values_list("pk", flat=True)[:500]:

        def work(booking_id=booking_id) -> bool:
            booking = (
                Booking.objects.select_for_update(skip_locked=True)
                .select_related("page", "host")
                .filter(pk=booking_id, status=Booking.Status.REQUESTED)
                .first()
            )
            if booking is None:
                return False
            booking.status, booking.answered_at = Booking.Status.EXPIRED, now
            booking.save(update_fields=["status", "answered_at"])
            booking_service.cancel_crm_meeting(booking)
            emails.queue_request_expired(booking)
            return True

        expired += booking_service.locked(work)
    return expired
