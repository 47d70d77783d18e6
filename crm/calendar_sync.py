"""Calendar sync in (SPEC §1.2): an event the user puts in their calendar with a CRM contact
as a guest is logged as a meeting on that contact, and the meeting follows the event.

Works from the `Event` mirror that `calendars` has just committed; a handful of queries per
sync whatever the number of events or guests.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from calendars.models import Calendar, CalendarWrite, Event
from calendars.sync import sync_window
from crm.models import Contact, Meeting
from crm.services import MEETING_REF
from scheduler.models import User

FOLLOWED_FIELDS = ["title", "start", "end"]


def apply_calendar_changes(
    calendar_id: int, *, changed_remote_ids: Iterable[str], removed_remote_ids: Iterable[str]
) -> None:
    """Log, move or cancel meetings after a sync of a calendar. Running it twice for the
    same changes changes nothing."""
    calendar = (
        Calendar.objects.select_related("connection__user")
        .filter(pk=calendar_id, is_primary=True, connection__calendar_sync=True)
        .first()
    )
    if calendar is None:  # not the main calendar, or calendar sync is off
        return
    owner = calendar.connection.user
    with transaction.atomic():
        _log_changed_events(owner, calendar, list(changed_remote_ids))
        _cancel_removed_events(owner, list(removed_remote_ids))


def _log_changed_events(owner: User, calendar: Calendar, remote_ids: list[str]) -> None:
    meetings = _meetings_by_remote_id(owner, remote_ids)
    # Only events with guests, or already logged, can concern the CRM (a full sync reports
    # thousands of events, most of them without guests). Events with an app key were
    # written by this app: their meetings exist already.
    events = list(
        calendar.events.filter(remote_id__in=remote_ids, app_key="").filter(
            ~Q(attendees=[]) | Q(remote_id__in=list(meetings))
        )
    )
    if not events:
        return
    contacts = _contacts_by_email(owner, {email for event in events for email in event.attendees})
    new, moved, links = [], [], []
    for event in events:
        guests = [contacts[email] for email in event.attendees if email in contacts]
        meeting = meetings.get(event.remote_id)
        if meeting is None and guests:
            new.append(_new_meeting(owner, event))
            links += [(new[-1], contact) for contact in guests]
        elif meeting is not None:
            if _follow(meeting, event):
                moved.append(meeting)
            links += _new_links(meeting, guests)
    Meeting.objects.bulk_create(new)
    Meeting.objects.bulk_update(moved, FOLLOWED_FIELDS)
    Meeting.contacts.through.objects.bulk_create(
        [Meeting.contacts.through(meeting_id=meeting.pk, contact_id=c.pk) for meeting, c in links]
    )


def _meetings_by_remote_id(owner: User, remote_ids: list[str]) -> dict[str, Meeting]:
    meetings = Meeting.objects.filter(owner=owner, calendar_remote_id__in=remote_ids)
    return {m.calendar_remote_id: m for m in meetings.prefetch_related("contacts")}


def _contacts_by_email(owner: User, emails: set[str]) -> dict[str, Contact]:
    if not emails:
        return {}
    contacts = Contact.objects.annotate(email_ci=Lower("email")).filter(
        account_id=owner.account_id, email_ci__in=emails
    )
    return {contact.email_ci: contact for contact in contacts}


def _new_meeting(owner: User, event: Event) -> Meeting:
    return Meeting(
        account_id=owner.account_id,
        owner=owner,
        title=_title(event, "Meeting"),
        start=event.start,
        end=event.end,
        source=Meeting.Source.CALENDAR_SYNC,
        calendar_remote_id=event.remote_id,
    )


def _follow(meeting: Meeting, event: Event) -> bool:
    """Bring the meeting in line with its event; True when anything changed."""
    wanted = {"title": _title(event, meeting.title), "start": event.start, "end": event.end}
    if all(getattr(meeting, field) == value for field, value in wanted.items()):
        return False
    for field, value in wanted.items():
        setattr(meeting, field, value)
    return True


def _title(event: Event, default: str) -> str:
    return event.title[: Meeting._meta.get_field("title").max_length] or default


def _new_links(meeting: Meeting, guests: list[Contact]) -> list[tuple[Meeting, Contact]]:
    """Guests added to the event join the meeting; removed ones stay on it (it happened
    with them, or was planned to)."""
    known = {c.pk for c in meeting.contacts.all()}
    return [(meeting, contact) for contact in guests if contact.pk not in known]


def _cancel_removed_events(owner: User, remote_ids: list[str]) -> None:
    if not remote_ids:
        return
    # A full resync reports events that fell out of the sync window as removed: meetings
    # that old are history, not cancellations.
    window_start, _ = sync_window(timezone.now())
    Meeting.objects.filter(
        owner=owner,
        calendar_remote_id__in=remote_ids,
        status=Meeting.Status.SCHEDULED,
        end__gte=window_start,
    ).update(status=Meeting.Status.CANCELLED)


def record_remote_event(*, ref: str, action: str, remote_event_id: str) -> None:
    """Remember the provider's id of a meeting's event once its outbox create went out."""
    meeting_id = ref.removeprefix(MEETING_REF)
    if action != CalendarWrite.Action.CREATE or meeting_id == ref or not meeting_id.isdigit():
        return
    Meeting.objects.filter(pk=int(meeting_id), calendar_remote_id="").update(
        calendar_remote_id=remote_event_id
    )
