"""CRM services: contacts, meetings and tasks.

Each write runs in one transaction. A meeting created in the CRM queues its calendar
invitation in that same transaction (the calendars outbox), so the invitation exists
exactly when the meeting does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from calendars import outbox
from calendars.models import Calendar, CalendarWrite
from calendars.providers.base import Attendee, EventWrite
from crm import task_sync
from crm.models import Contact, Meeting, Task
from scheduler.models import Account, User

logger = logging.getLogger(__name__)

Action = CalendarWrite.Action
MEETING_REF = "crm.meeting:"
# Only meetings made in the CRM become invitations: calendar-sync meetings came from the
# calendar, integrations sync themselves, and bookings are written by the booking flow
# whether calendar sync is on or not (SPEC §1.4, §2).
PUSHED_SOURCES = frozenset({Meeting.Source.CRM})


class DuplicateContact(ValueError):
    """Another contact of the account already has this email address."""


# --- Contacts ---------------------------------------------------------------------------


def find_contact(account: Account, email: str, *, lock: bool = False) -> Contact | None:
    """The account's contact with this address, whatever its case."""
    contacts = Contact.objects.annotate(email_ci=Lower("email"))
    if lock:
        contacts = contacts.select_for_update()
    return contacts.filter(account=account, email_ci=email.strip().lower()).first()


def create_contact(
    account: Account,
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    owner: User | None = None,
) -> Contact:
    """Add a contact; raises DuplicateContact when the address is taken (even by a racer)."""
    try:
        with transaction.atomic():
            return Contact.objects.create(
                account=account,
                email=email.strip(),
                first_name=first_name,
                last_name=last_name,
                company=company,
                owner=owner,
            )
    except IntegrityError as exc:
        raise DuplicateContact("A contact with this email address already exists.") from exc


@transaction.atomic
def upsert_contact(
    account: Account,
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    owner: User | None = None,
    fill_only: bool = False,
) -> Contact:
    """The account's contact with this address, created if needed; names given replace the
    stored ones (only empty ones with `fill_only`, for what anonymous visitors type: a
    booking must never rename an existing contact), and an owner is set only where there is
    none.

    Concurrent calls for one address end with one contact: the loser of the insert race
    hits the unique index, rolls back to its savepoint and updates the winner's row.
    """
    contact = find_contact(account, email, lock=True)
    if contact is None:
        try:
            return create_contact(
                account, email=email, first_name=first_name, last_name=last_name, owner=owner
            )
        except DuplicateContact:
            contact = find_contact(account, email, lock=True)
    _update_contact(
        contact, first_name=first_name, last_name=last_name, owner=owner, fill_only=fill_only
    )
    return contact


def _update_contact(
    contact: Contact, *, first_name: str, last_name: str, owner, fill_only: bool
) -> None:
    changes = {"first_name": first_name, "last_name": last_name}
    changes = {
        field: value
        for field, value in changes.items()
        if value and not (fill_only and getattr(contact, field))
    }
    if owner is not None and contact.owner_id is None:
        changes["owner"] = owner
    for field, value in changes.items():
        setattr(contact, field, value)
    if changes:
        contact.save(update_fields=[*changes, "updated_at"])


# --- Meetings ---------------------------------------------------------------------------


def invitation_calendar(user: User) -> Calendar | None:
    """The default personal calendar a CRM meeting of this user is written to; None when
    calendar sync is off or no calendar is connected (the meeting is only logged)."""
    return (
        Calendar.objects.filter(
            connection__user=user, connection__calendar_sync=True, is_primary=True
        )
        .select_related("connection")
        # A legacy account's non-legacy or calendar-settings connection ("" and
        # "calendar_settings" sort first) carries calendar sync, not its meetings one.
        .order_by("connection__legacy_slot")
        .first()
    )


def create_meeting(
    owner: User,
    *,
    contacts: Iterable[Contact],
    title: str,
    start: datetime,
    end: datetime,
    description: str = "",
    location: str = "",
    source: str = Meeting.Source.CRM,
    calendar: Calendar | None = None,
    guests: Iterable[str] = (),
    status: str = Meeting.Status.SCHEDULED,
    video_url: str = "",
    conference: str = "",
    answers: Iterable[tuple[str, str]] = (),
) -> Meeting:
    """Log a meeting on contacts of the owner's account; a CRM meeting also sends the
    contacts an invitation from the owner's calendar when calendar sync is on.

    `calendar` writes the meeting to that calendar whatever calendar sync says (a booking
    always lands in the host's default personal calendar, SPEC §1.4); `guests` are extra
    attendees who are not contacts (the other hosts of a group page). A REQUESTED meeting
    (a meeting request) is only logged until `confirm_meeting`. `conference` asks the
    calendar to create a video meeting with the event (its link arrives later:
    `set_video_url`); `answers` are (question, answer) pairs the contact gave.
    """
    contacts = list(contacts)
    _check_meeting(owner, contacts, start, end)
    if calendar is None and source in PUSHED_SOURCES:
        calendar = invitation_calendar(owner)
    if status == Meeting.Status.REQUESTED:
        calendar = None
    with transaction.atomic():
        meeting = Meeting.objects.create(
            account_id=owner.account_id,
            owner=owner,
            title=title,
            start=start,
            end=end,
            description=description,
            location=location,
            source=source,
            status=status,
            guest_emails=sorted({email.lower() for email in guests}),
            calendar_event_key=uuid.uuid4().hex if calendar else "",
            video_url=video_url,
            answers=[{"question": q, "answer": a} for q, a in answers],
        )
        meeting.contacts.set(contacts)
        if calendar:
            outbox.enqueue(
                calendar.connection,
                Action.CREATE,
                meeting.calendar_event_key,
                _event_write(meeting, contacts, conference),
                calendar=calendar,
                ref=f"{MEETING_REF}{meeting.pk}",
            )
    if not calendar:
        logger.info("meeting logged without invitation", extra={"meeting": meeting.pk})
    return meeting


def _check_meeting(owner: User, contacts: list[Contact], start: datetime, end: datetime):
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("Meeting times must be aware datetimes.")
    if end < start:
        raise ValueError("A meeting cannot end before it starts.")
    if any(contact.account_id != owner.account_id for contact in contacts):
        raise ValueError("Every contact must belong to the owner's account.")


def _event_write(meeting: Meeting, contacts: Iterable[Contact], conference: str = "") -> EventWrite:
    return EventWrite(
        key=meeting.calendar_event_key,
        title=meeting.title,
        start=meeting.start,
        end=meeting.end,
        timezone=meeting.owner.timezone,
        description=meeting.description,
        location=meeting.location,
        attendees=tuple(Attendee(c.email.lower(), c.full_name) for c in contacts)
        + tuple(Attendee(email) for email in meeting.guest_emails),
        send_invitations=True,
        conference=conference,
    )


def _pushed_create(meeting: Meeting) -> CalendarWrite | None:
    """The outbox create that put this meeting in a calendar, if it was ever pushed.

    Later writes go to that connection and calendar, even if calendar sync was turned off
    since: the contacts hold an invitation that must be changed or withdrawn.
    """
    if not meeting.calendar_event_key:
        return None
    return (
        CalendarWrite.objects.select_related("connection", "calendar")
        .filter(
            key=meeting.calendar_event_key,
            action=Action.CREATE,
            connection__user_id=meeting.owner_id,
        )
        .first()
    )


def _locked(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update().select_related("owner").get(pk=meeting.pk)


@transaction.atomic
def cancel_meeting(meeting: Meeting) -> Meeting:
    """Cancel a meeting; a pushed one is deleted from the calendar (contacts are told)."""
    meeting = _locked(meeting)  # a double submit must not queue two deletes
    if meeting.is_cancelled:
        return meeting
    meeting.status = Meeting.Status.CANCELLED
    meeting.save(update_fields=["status"])
    pushed = _pushed_create(meeting)
    if pushed:
        outbox.enqueue(
            pushed.connection,
            Action.DELETE,
            meeting.calendar_event_key,
            calendar=pushed.calendar,
            remote_event_id=meeting.calendar_remote_id,
            ref=f"{MEETING_REF}{meeting.pk}",
        )
    return meeting


@transaction.atomic
def confirm_meeting(
    meeting: Meeting,
    *,
    start: datetime,
    end: datetime,
    calendar: Calendar | None,
    conference: str = "",
) -> Meeting:
    """A meeting request was accepted: schedule it at `start` and, with a calendar, send the
    invitation from it (as `create_meeting` would have)."""
    meeting = _locked(meeting)
    if not meeting.is_requested:
        raise ValueError("Only a requested meeting can be confirmed.")
    _check_meeting(meeting.owner, [], start, end)
    meeting.status, meeting.start, meeting.end = Meeting.Status.SCHEDULED, start, end
    meeting.calendar_event_key = uuid.uuid4().hex if calendar else ""
    meeting.save(update_fields=["status", "start", "end", "calendar_event_key"])
    if calendar:
        outbox.enqueue(
            calendar.connection,
            Action.CREATE,
            meeting.calendar_event_key,
            _event_write(meeting, meeting.contacts.all(), conference),
            calendar=calendar,
            ref=f"{MEETING_REF}{meeting.pk}",
        )
    return meeting


def set_video_url(meeting_id: int, url: str) -> None:
    """Where to join the meeting, once the calendar created the video meeting."""
    Meeting.objects.filter(pk=meeting_id).update(video_url=url)


@transaction.atomic
def reschedule_meeting(meeting: Meeting, *, start: datetime, end: datetime) -> Meeting:
    """Move a meeting; a pushed one moves in the calendar too (contacts get an update)."""
    meeting = _locked(meeting)
    if meeting.is_cancelled:
        raise ValueError("A cancelled meeting cannot be rescheduled.")
    _check_meeting(meeting.owner, [], start, end)
    meeting.start, meeting.end = start, end
    meeting.save(update_fields=["start", "end"])
    pushed = _pushed_create(meeting)
    if pushed:
        outbox.enqueue(
            pushed.connection,
            Action.UPDATE,
            meeting.calendar_event_key,
            _event_write(meeting, meeting.contacts.all()),
            calendar=pushed.calendar,
            remote_event_id=meeting.calendar_remote_id,
            ref=f"{MEETING_REF}{meeting.pk}",
        )
    return meeting


# --- Tasks ------------------------------------------------------------------------------


def create_task(
    owner: User,
    *,
    title: str,
    contact: Contact | None = None,
    due_at: datetime | None = None,
) -> Task:
    if contact is not None and contact.account_id != owner.account_id:
        raise ValueError("The contact must belong to the owner's account.")
    _check_due(due_at)
    with transaction.atomic():
        task = Task.objects.create(
            account_id=owner.account_id, owner=owner, contact=contact, title=title, due_at=due_at
        )
        task_sync.push(task)
    return task


def _check_due(due_at: datetime | None) -> None:
    if due_at is not None and timezone.is_naive(due_at):
        raise ValueError("A due time must be an aware datetime.")


@transaction.atomic
def update_task(task: Task, *, title: str, due_at: datetime | None) -> Task:
    _check_due(due_at)
    task.title, task.due_at = title, due_at
    task.save(update_fields=["title", "due_at"])
    task_sync.push(task)
    return task


@transaction.atomic
def complete_task(task: Task) -> Task:
    if not task.is_completed:
        task.status, task.completed_at = Task.Status.COMPLETED, timezone.now()
        task.save(update_fields=["status", "completed_at"])
        task_sync.push(task)
    return task


@transaction.atomic
def reopen_task(task: Task) -> Task:
    if task.is_completed:
        task.status, task.completed_at = Task.Status.OPEN, None
        task.save(update_fields=["status", "completed_at"])
        task_sync.push(task)
    return task


@transaction.atomic
def delete_task(task: Task) -> None:
    task_sync.push(task, deleted=True)
    task.delete()
