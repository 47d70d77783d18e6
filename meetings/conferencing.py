"""Video meetings for bookings: Google Meet or Microsoft Teams created in the host's calendar,
or a fixed link (SchedulingPage.conferencing).

The host's calendar creates the conference with the event, so its link exists only once the
outbox's create reached the provider. The booking says `conference_status = pending` until
then; when the write completes (calendars' `write_completed` signal, and a periodic sweep as
the backstop) a task reads the link back through `calendars.conferencing` (no lock or
transaction open meanwhile) and stores it on the booking and the CRM meeting.

The contact's confirmation waits for the link, at most CONFERENCE_WAIT_SECONDS: in the usual
case they get one confirmation with the link in it. When the provider is slow the
confirmation goes without ("on its way") and a second email brings the link with the updated
invitation. A conference that cannot be created leaves the confirmation as it is and tells
the host. A moved meeting keeps its conference: updates never ask for a new one (Google
leaves conferenceData alone at conferenceDataVersion 0; Graph keeps an online meeting online).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calendars import conferencing as calendar_conferencing
from calendars.models import Calendar
from crm import services as crm
from crm.services import MEETING_REF
from meetings import emails, reminders
from meetings.models import Booking, SchedulingPage

logger = logging.getLogger(__name__)

PENDING, READY, FAILED = "pending", "ready", "failed"
# A conference still pending after this long is given up on (the host is told).
GIVE_UP_AFTER = timedelta(hours=1)


def requested(page: SchedulingPage, calendar: Calendar | None) -> str:
    """The conference kind to ask the host's calendar for: the page's choice when that
    calendar's provider creates it, else "" (e.g. Teams asked of a Google calendar)."""
    if not page.creates_conference or calendar is None:
        return ""
    if calendar_conferencing.supports(calendar.connection, page.conferencing):
        return page.conferencing
    return ""


def on_write_completed(sender, *, ref: str, action: str, **kwargs) -> None:
    """A calendar create reached the provider: fetch the conference of its booking."""
    if action != "create" or not ref.startswith(MEETING_REF):
        return
    meeting_id = ref.removeprefix(MEETING_REF)
    if not meeting_id.isdigit():
        return
    from meetings.tasks import fetch_conference_link

    for booking_id in Booking.objects.filter(
        crm_meeting_id=int(meeting_id), conference_status=PENDING
    ).values_list("pk", flat=True):
        fetch_conference_link.delay(booking_id)


def fetch(booking_id: int) -> str:
    """Read the booking's conference from the host's calendar and store it. Returns
    "ready", "failed", "pending" (the provider is still creating it: ask again shortly),
    "waiting" (the calendar write has not happened yet) or "done" (nothing to do)."""
    booking = Booking.objects.filter(pk=booking_id, conference_status=PENDING).first()
    if booking is None:
        return "done"
    if booking.status != Booking.Status.CONFIRMED:
        Booking.objects.filter(pk=booking_id).update(conference_status="")
        return "done"
    found = calendar_conferencing.conference_for(booking.host_id, booking.calendar_event_key)
    if found is None or found.status == PENDING:
        if timezone.now() - booking.created_at > GIVE_UP_AFTER:
            return _failed(booking_id)
        return "waiting" if found is None else PENDING
    if found.status == READY and found.url:
        return _store(booking_id, found.url)
    return _failed(booking_id)


def _locked(booking_id: int) -> Booking | None:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("page", "host")
        .filter(pk=booking_id, conference_status=PENDING)
        .first()
    )


@transaction.atomic
def _store(booking_id: int, url: str) -> str:
    booking = _locked(booking_id)
    if booking is None:
        return "done"
    booking.conference_url, booking.conference_status = url, READY
    fields = ["conference_url", "conference_status"]
    if not reminders.release_confirmation(booking, timezone.now()):
        # The confirmation went out without the link: send it, with the updated invite.
        booking.sequence += 1
        fields.append("sequence")
        if booking.status == Booking.Status.CONFIRMED:
            emails.queue_video_link(booking)
    booking.save(update_fields=fields)
    if booking.crm_meeting_id:
        crm.set_video_url(booking.crm_meeting_id, url)
    return READY


@transaction.atomic
def _failed(booking_id: int) -> str:
    booking = _locked(booking_id)
    if booking is None:
        return "done"
    booking.conference_status = FAILED
    booking.save(update_fields=["conference_status"])
    reminders.release_confirmation(booking, timezone.now())
    emails.queue_conference_failed(booking)
    logger.warning("no conference could be created", extra={"booking": booking_id})
    return FAILED


def pending_ids(limit: int = 200) -> list[int]:
    """Bookings still waiting for their link (the periodic sweep asks for each again)."""
    return list(
        Booking.objects.filter(conference_status=PENDING, status=Booking.Status.CONFIRMED)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
