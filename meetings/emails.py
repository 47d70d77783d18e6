"""Emails about bookings, with an ICS file the contact's calendar app understands."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from icalendar import vCalAddress, vText

from meetings import urlrules
from meetings.models import Booking, SchedulingPage

ICS_PRODID = "-//Meetings//Scheduling pages//EN"


def manage_url(booking: Booking) -> str:
    return urlrules.manage_url(booking)


def ics_for(booking: Booking, cancelled: bool = False) -> bytes:
    """An iTIP REQUEST (or CANCEL) for the booking; the UID stays the same across updates."""
    calendar = ICalendar()
    calendar.add("prodid", ICS_PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = IEvent()
    event.add("uid", f"{booking.manage_token}@meetings")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("summary", f"{booking.page.name} with {booking.host.display_name}")
    event.add("description", f"Manage this meeting: {manage_url(booking)}")
    location = booking.page.video_link or booking.page.location
    if location:
        event.add("location", location)
    organizer = vCalAddress(f"mailto:{booking.host.email}")
    organizer.params["cn"] = vText(booking.host.display_name)
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{booking.email}")
    attendee.params["cn"] = vText(f"{booking.first_name} {booking.last_name}")
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    event.add("attendee", attendee, encode=0)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", booking.sequence)
    calendar.add_component(event)
    return calendar.to_ical()


def _one_line(text: str) -> str:
    """Visitors type names; a line break in a subject would stop the mail from being sent."""
    return " ".join(text.split())


def _send(subject: str, template: str, context: dict, to: list[str], ics: bytes | None = None):
    message = EmailMessage(_one_line(subject), render_to_string(template, context), to=to)
    if ics is not None:
        method = "CANCEL" if b"METHOD:CANCEL" in ics else "REQUEST"
        message.attach("invite.ics", ics, f"text/calendar; method={method}; charset=utf-8")
    message.send()


def _booking(booking_id: int) -> Booking:
    return Booking.objects.select_related("page", "host").get(pk=booking_id)


def send_confirmation(booking_id: int) -> None:
    booking = _booking(booking_id)
    context = {"booking": booking, "manage_url": manage_url(booking)}
    _send(
        f"Confirmed: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/confirmation.txt",
        context,
        [booking.email],
        ics_for(booking),
    )
    _send(
        f"New meeting booked: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_booked.txt",
        context,
        [booking.host.email],
    )


def send_request_received(booking_id: int) -> None:
    """Offline mode: the owner decides; the contact is told the request was received."""
    booking = _booking(booking_id)
    context = {"booking": booking, "manage_url": manage_url(booking)}
    _send(
        f"Meeting request: {booking.first_name} {booking.last_name} ({booking.page.name})",
        "meetings/email/owner_request.txt",
        context,
        [booking.host.email],
    )
    _send(
        f"Your meeting request to {booking.host.display_name} was received",
        "meetings/email/request_received.txt",
        context,
        [booking.email],
    )


def send_cancellation(booking_id: int) -> None:
    booking = _booking(booking_id)
    context = {"booking": booking}
    _send(
        f"Cancelled: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/cancelled.txt",
        context,
        [booking.email],
        ics_for(booking, cancelled=True),
    )
    _send(
        f"Meeting cancelled: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_cancelled.txt",
        context,
        [booking.host.email],
    )


def send_rescheduled(booking_id: int) -> None:
    booking = _booking(booking_id)
    context = {"booking": booking, "manage_url": manage_url(booking)}
    _send(
        f"Rescheduled: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/rescheduled.txt",
        context,
        [booking.email],
        ics_for(booking),
    )
    _send(
        f"Meeting moved: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_rescheduled.txt",
        context,
        [booking.host.email],
    )


def send_inactive_calendar_alert(page_id: int, calendar_names: list[str], start_iso: str) -> None:
    """Sent to the owner at every refused attempt while a calendar is inactive (SPEC §1.4)."""
    page = SchedulingPage.objects.select_related("owner").get(pk=page_id)
    context = {
        "page": page,
        "calendars": calendar_names,
        "start": datetime.fromisoformat(start_iso),
        "settings_url": settings.APP_BASE_URL + reverse("settings:calendar"),
    }
    _send(
        f"Someone could not book “{page.name}”: a calendar needs your attention",
        "meetings/email/inactive_calendar.txt",
        context,
        [page.owner.email],
    )
