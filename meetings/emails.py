"""Emails about bookings and meeting requests, with an ICS file the contact's calendar app
understands. All go through the mail outbox (scheduler.mail): queued in the transaction of the
change, sent after commit, one email per task, retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from icalendar import vCalAddress, vText

from calendars.models import Calendar
from meetings import urlrules
from meetings.models import Booking, SchedulingPage
from scheduler import mail

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
    video = booking.video_url
    lines = [f"Join: {video}"] if video else []
    event.add("description", "\n".join([*lines, f"Manage this meeting: {manage_url(booking)}"]))
    location = video or booking.page.location
    if location:
        event.add("location", location)
    if video:
        event.add("url", video)
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


# Contact-facing mail goes to addresses nobody verified: a flood of bookings (or requests)
# for one address must not become a flood of mail to it.
CONTACT_LIMIT = mail.Limit(count=10, within=timedelta(hours=1))
# SPEC §1.4 emails the owner at every refused attempt; at most once per calendar per hour.
ALERT_LIMIT = mail.Limit(count=1, within=timedelta(hours=1))


def _to_contact(booking: Booking, kind: str, subject: str, template: str, context: dict, ics=None):
    attachments = ()
    if ics is not None:
        method = "CANCEL" if b"METHOD:CANCEL" in ics else "REQUEST"
        attachments = (
            mail.Attachment("invite.ics", ics, f"text/calendar; method={method}; charset=utf-8"),
        )
    return mail.queue(
        booking.email,
        subject,
        render_to_string(template, {"booking": booking, **context}),
        kind=f"booking.contact.{kind}",
        attachments=attachments,
        limit=CONTACT_LIMIT,
    )


def _to_host(booking: Booking, kind: str, subject: str, template: str, context: dict):
    mail.queue(
        booking.host.email,
        subject,
        render_to_string(template, {"booking": booking, **context}),
        kind=f"booking.host.{kind}",
    )


def queue_confirmation(booking: Booking) -> None:
    queue_contact_confirmation(booking)
    queue_host_booked(booking)


def queue_contact_confirmation(booking: Booking):
    return _to_contact(
        booking,
        "confirmed",
        f"Confirmed: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/confirmation.txt",
        {"manage_url": manage_url(booking)},
        ics_for(booking),
    )


def queue_host_booked(booking: Booking) -> None:
    _to_host(
        booking,
        "booked",
        f"New meeting booked: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_booked.txt",
        {"manage_url": manage_url(booking)},
    )


def queue_reminder(booking: Booking, label: str):
    """A reminder before the meeting (meetings.reminders), in the contact's time zone."""
    return _to_contact(
        booking,
        "reminder",
        f"Reminder: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/reminder.txt",
        {"manage_url": manage_url(booking), "label": label},
    )


def queue_video_link(booking: Booking):
    """The video link arrived after the confirmation went out: send it, with the updated
    invitation (same UID, next SEQUENCE)."""
    return _to_contact(
        booking,
        "video",
        f"Video link: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/video_link.txt",
        {"manage_url": manage_url(booking)},
        ics_for(booking),
    )


def queue_conference_failed(booking: Booking) -> None:
    _to_host(
        booking,
        "conference",
        f"No video link for {booking.first_name} {booking.last_name}'s meeting",
        "meetings/email/owner_conference_failed.txt",
        {"manage_url": manage_url(booking)},
    )


def queue_request_received(booking: Booking) -> None:
    """Offline mode: the host decides in the app; the contact can withdraw meanwhile."""
    context = {"manage_url": manage_url(booking), "request_url": request_url(booking)}
    _to_host(
        booking,
        "request",
        f"Meeting request: {booking.first_name} {booking.last_name} ({booking.page.name})",
        "meetings/email/owner_request.txt",
        context,
    )
    _to_contact(
        booking,
        "requested",
        f"Your meeting request to {booking.host.display_name} was received",
        "meetings/email/request_received.txt",
        context,
    )


def queue_request_accepted(booking: Booking) -> None:
    _to_contact(
        booking,
        "accepted",
        f"Confirmed: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/request_accepted.txt",
        {"manage_url": manage_url(booking)},
        ics_for(booking),
    )


def queue_time_proposed(booking: Booking) -> None:
    _to_contact(
        booking,
        "proposed",
        f"{booking.host.display_name} proposed another time for {booking.page.name}",
        "meetings/email/request_proposed.txt",
        {"manage_url": manage_url(booking)},
    )


def queue_request_declined(booking: Booking) -> None:
    _to_contact(
        booking,
        "declined",
        f"Your meeting request to {booking.host.display_name}",
        "meetings/email/request_declined.txt",
        {"page_url": page_link(booking)},
    )


def queue_request_expired(booking: Booking) -> None:
    _to_contact(
        booking,
        "expired",
        f"Your meeting request to {booking.host.display_name} expired",
        "meetings/email/request_expired.txt",
        {"page_url": page_link(booking)},
    )


def queue_request_withdrawn(booking: Booking) -> None:
    _to_host(
        booking,
        "withdrawn",
        f"Request withdrawn: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_withdrawn.txt",
        {},
    )


def queue_cancellation(booking: Booking) -> None:
    _to_contact(
        booking,
        "cancelled",
        f"Cancelled: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/cancelled.txt",
        {},
        ics_for(booking, cancelled=True),
    )
    _to_host(
        booking,
        "cancelled",
        f"Meeting cancelled: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_cancelled.txt",
        {},
    )


def queue_rescheduled(booking: Booking) -> None:
    context = {"manage_url": manage_url(booking)}
    _to_contact(
        booking,
        "rescheduled",
        f"Rescheduled: {booking.page.name} with {booking.host.display_name}",
        "meetings/email/rescheduled.txt",
        context,
        ics_for(booking),
    )
    _to_host(
        booking,
        "rescheduled",
        f"Meeting moved: {booking.first_name} {booking.last_name}",
        "meetings/email/owner_rescheduled.txt",
        context,
    )


def queue_inactive_calendar_alerts(
    page: SchedulingPage, calendars: list[Calendar], start: datetime | None
) -> None:
    """Tell each owner of an inactive availability calendar that a contact could not book
    (SPEC §1.4): at most once per calendar per hour, so a flood of attempts is one email."""
    for calendar in calendars:
        owner = calendar.connection.user
        context = {
            "page": page,
            "owner": owner,
            "calendars": [calendar.name],
            "start": start,
            "settings_url": settings.APP_BASE_URL + reverse("settings:calendar"),
        }
        mail.queue(
            owner.email,
            f"Someone could not book “{page.name}”: a calendar needs your attention",
            render_to_string("meetings/email/inactive_calendar.txt", context),
            kind=f"calendar.inactive.{calendar.pk}",
            limit=ALERT_LIMIT,
        )


def request_url(booking: Booking) -> str:
    return settings.APP_BASE_URL + reverse("meetings:request", args=[booking.pk])


def page_link(booking: Booking) -> str:
    return urlrules.page_url(booking.page)
