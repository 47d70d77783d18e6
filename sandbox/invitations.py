"""Meeting invitations between sandbox mailboxes, of any provider, by email address.

When the organizer's event changes (through a provider API or the control API), every
attendee that is a sandbox mailbox gets a copy in its primary calendar, kept in line with
the organizer's event: created on the invitation, updated with the organizer's updates,
cancelled with the meeting or when the attendee is removed. An attendee answers on its copy
(Google: patching its own `responseStatus`; Graph: accept / decline / tentativelyAccept; EWS:
AcceptItem / DeclineItem / TentativelyAcceptItem; or the control API) and the answer flows back
to the organizer's attendee list, which counts as a change of the organizer's event (sync
tokens, delta links and push see it; its iCalendar SEQUENCE does not move).

Who receives a change: the attendees the write sent invitations to (`sendUpdates`,
`SendMeetingInvitations...`; Graph always sends), and between Google mailboxes every attendee,
since Google Calendar shows the event on guests' calendars without email. Control-API
changes (the user in their calendar app) reach every attendee.

How a copy looks follows each provider: Google guests see the event as the organizer made it
(busy unless transparent; declined is free for them). Exchange and Microsoft 365 show a
meeting the attendee has not answered as Tentative (Outlook: "new meeting requests are shown
as tentative"), accepted as the organizer's free/busy, declined as free; a cancelled meeting
stays on their calendar as cancelled ("Canceled: " subject, free) until removed, while a
Google guest's copy is deleted.

Not emulated: meeting request / response messages in Inbox or Sent Items, proposals of new
times, responses reaching other attendees' copies, resetting responses when the organizer
moves a meeting, and the "remove declined meetings from the calendar" client setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from sandbox.state import (
    Attendee,
    Calendar,
    Event,
    Invalid,
    Invitation,
    Mailbox,
    NotFound,
    State,
    new_id,
)

RESPONSES = ("needsAction", "accepted", "tentative", "declined")
CANCELED = "Canceled: "
# How each provider writes an event's iCalendar UID; every copy keeps the organizer's.
UID_SUFFIXES = {
    "google": "@google.com",
    "microsoft": "@sandbox.microsoft",
    "exchange": "@sandbox.exchange",
}


def organizes(calendar: Calendar, event: Event) -> bool:
    """Whether `event` is the organizer's own (not an attendee's copy)."""
    owner = (calendar.owner or calendar.id).lower()
    return event.organizer.lower() == owner and "invitation" not in event.extra


def recipients_of(state: State, event: Event, invited: Iterable[str], provider: str) -> set[str]:
    """Who a write reaches: those it mailed, and (Google organizer) every Google guest."""
    found = {email.lower() for email in invited}
    if provider == "google":
        for attendee in event.attendees:
            mailbox = state.data.mailboxes.get(attendee.email.lower())
            if mailbox is not None and mailbox.provider == "google":
                found.add(mailbox.email)
    return found


# --- the organizer's side ------------------------------------------------------------------


def deliver(state: State, event: Event, recipients: set[str] | None = None) -> None:
    """Bring attendee copies in line with the organizer's `event` (just changed); `recipients`
    None means every attendee. Call under the state lock."""
    calendar = state.data.calendars.get(event.calendar_id)
    if calendar is None:
        return
    if event.recurring_event_id:  # one occurrence changed: change it in the copies' series
        _deliver_occurrence(state, calendar, event, recipients)
        return
    if not organizes(calendar, event):
        return
    copies: dict[str, list[str]] = event.extra.setdefault("copies", {})
    guests = {a.email.lower() for a in event.attendees} - {event.organizer.lower()}
    for email in sorted(guests | set(copies)):
        mailbox = state.data.mailboxes.get(email)
        if mailbox is None or (recipients is not None and email not in recipients):
            continue
        if event.cancelled or email not in guests:
            _cancel_copy(state, mailbox, copies.get(email))
        else:
            copies[email] = _upsert_copy(state, mailbox, calendar, event, copies.get(email))


def _copy_fields(event: Event, mailbox: Mailbox) -> dict[str, Any]:
    own = next((a for a in event.attendees if a.email.lower() == mailbox.email), None)
    return {
        "start": event.start,
        "end": event.end,
        "timezone": event.timezone,
        "summary": event.summary,
        "description": event.description,
        "location": event.location,
        "event_type": event.event_type,
        "organizer": event.organizer,
        "attendees": [dataclasses.replace(a) for a in event.attendees],
        "recurrence": list(event.recurrence),
        "show_as": show_as(mailbox, event.show_as, own.response if own else "needsAction"),
    }


def show_as(mailbox: Mailbox, organizer_show_as: str, response: str) -> str:
    """How a meeting shows on an attendee's calendar, given its answer."""
    if mailbox.provider == "google":
        return organizer_show_as
    if response == "declined":
        return "free"
    return organizer_show_as if response == "accepted" else "tentative"


def _upsert_copy(
    state: State, mailbox: Mailbox, calendar: Calendar, event: Event, where: list[str] | None
) -> list[str]:
    fields = _copy_fields(event, mailbox)
    extra = {
        "invitation": {"calendar": calendar.id, "event": event.id},
        "ical_uid": event.ical_uid(UID_SUFFIXES.get(calendar.provider, "")),
        "recurrence": event.extra.get("recurrence"),  # Graph's patternedRecurrence, if any
    }
    if where is not None and where[0] in state.data.calendars:
        target = state.data.calendars[where[0]]
        current = target.events.get(where[1])
        if current is not None and not current.cancelled:
            state.update_event(target, where[1], {**fields, "extra": {**current.extra, **extra}})
            return where
    target = state.data.calendars[mailbox.primary_calendar_id]
    # Google keeps the organizer's event id on guests' calendars; Exchange makes a new item.
    copy_id = event.id if mailbox.provider == "google" and event.id not in target.events else ""
    copy = state.create_event(
        target, Event(id=copy_id or new_id(), calendar_id=target.id, extra=extra, **fields)
    )
    return [target.id, copy.id]


def _cancel_copy(state: State, mailbox: Mailbox, where: list[str] | None) -> None:
    target = state.data.calendars.get(where[0]) if where else None
    copy = target.events.get(where[1]) if target and where else None
    if target is None or copy is None or copy.cancelled or copy.extra.get("isCancelled"):
        return
    if mailbox.provider == "google":
        state.delete_event(target, copy.id)
        return
    state.update_event(
        target,
        copy.id,
        {
            "summary": copy.summary
            if copy.summary.startswith(CANCELED)
            else CANCELED + copy.summary,
            "show_as": "free",
            "extra": {**copy.extra, "isCancelled": True, "is_cancelled": True},
        },
    )


def _deliver_occurrence(
    state: State, calendar: Calendar, occurrence: Event, recipients: set[str] | None
) -> None:
    master = calendar.events.get(occurrence.recurring_event_id)
    if master is None or not organizes(calendar, master):
        return
    suffix = occurrence.id[len(master.id) :]  # "_<original start>"
    for email, (copy_calendar, copy_id) in master.extra.get("copies", {}).items():
        mailbox = state.data.mailboxes.get(email)
        target = state.data.calendars.get(copy_calendar)
        if (
            mailbox is None
            or target is None
            or (recipients is not None and email not in recipients)
        ):
            continue
        try:
            if occurrence.cancelled:
                state.delete_event(target, copy_id + suffix)
            else:
                fields = _copy_fields(occurrence, mailbox)
                del fields["recurrence"]
                state.update_event(target, copy_id + suffix, fields)
        except (NotFound, Invalid):
            continue  # the copy's series no longer has that occurrence


# --- the attendee's side -------------------------------------------------------------------


def respond(
    state: State,
    mailbox: Mailbox,
    calendar: Calendar,
    event_id: str,
    response: str,
    send: bool = True,
    provider: str = "",
) -> Event:
    """The attendee `mailbox` answers the meeting `event_id` of its calendar; with `send`
    the answer reaches the organizer. Returns the attendee's updated event."""
    if response not in RESPONSES[1:]:
        raise Invalid(f"response must be one of {', '.join(RESPONSES[1:])}")
    event = state.find_event(calendar, event_id)
    if event.cancelled:
        raise NotFound(f"event {event_id} not found")
    if event.organizer.lower() == mailbox.email:
        raise Invalid("The organizer cannot respond to their own meeting.")
    attendees = _answered(event.attendees, mailbox.email, response)
    changes = {
        "attendees": attendees,
        "show_as": show_as(mailbox, _intended(state, event), response),
    }
    _, after = state.update_event(calendar, event_id, changes, bump_sequence=False)
    if send:
        _reply(state, mailbox, event, response, provider or mailbox.provider)
    return after


def _answered(attendees: list[Attendee], email: str, response: str) -> list[Attendee]:
    found = [dataclasses.replace(a) for a in attendees]
    for attendee in found:
        if attendee.email.lower() == email:
            attendee.response = response
            return found
    return [*found, Attendee(email, response=response)]


def _link(state: State, event: Event) -> tuple[Calendar, Event, str] | None:
    """The organizer's calendar and event behind an attendee's copy (or copy occurrence), and
    the id suffix of the occurrence."""
    master_id = event.recurring_event_id or event.id
    calendar = state.data.calendars.get(event.calendar_id)
    stored = calendar.events.get(master_id) if calendar else None
    link = stored.extra.get("invitation") if stored else None
    organizer_calendar = state.data.calendars.get(link["calendar"]) if link else None
    if organizer_calendar is None or link["event"] not in organizer_calendar.events:
        return None
    suffix = event.id[len(master_id) :]
    return organizer_calendar, organizer_calendar.events[link["event"]], suffix


def _intended(state: State, event: Event) -> str:
    """The free/busy the organizer meant for the meeting (what an accepted copy shows)."""
    found = _link(state, event)
    return found[1].show_as if found else "busy"


def _reply(state: State, mailbox: Mailbox, event: Event, response: str, provider: str) -> None:
    found = _link(state, event)
    if found is None:
        return  # an invitation from outside the sandbox: the answer leaves it
    organizer_calendar, organizer_event, suffix = found
    target_id = organizer_event.id + suffix
    try:
        current = state.find_event(organizer_calendar, target_id)
    except NotFound:
        return
    if current.cancelled:
        return
    attendees = _answered(current.attendees, mailbox.email, response)
    state.update_event(organizer_calendar, target_id, {"attendees": attendees}, bump_sequence=False)
    state.data.invitations.append(
        Invitation(
            provider,
            mailbox.email,
            current.organizer,
            organizer_calendar.id,
            target_id,
            "reply",
            current.summary,
            current.start,
            response=response,
        )
    )
