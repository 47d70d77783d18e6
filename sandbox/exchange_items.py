"""EWS calendar items as clients read them: t:CalendarItem rendered from the sandbox's events
(with the properties the ItemShape asks for), item ids, restrictions, FindItem (a CalendarView
expands recurring series into occurrences) and GetItem.

Writes are in `exchange_writes`, SyncFolderItems in `exchange_sync`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from sandbox import recurrence
from sandbox.exchange_access import Call, FolderRef, calendar_ref, resolve_folder
from sandbox.exchange_rules import recurrence_element
from sandbox.exchange_xml import (
    Element,
    EwsError,
    decode_id,
    el,
    encode_id,
    failure,
    find,
    find_all,
    local,
    paged,
    parse_datetime,
    responses,
    success,
    text,
    windows_zone,
)
from sandbox.state import (
    Attendee,
    Calendar,
    Event,
    NotFound,
)

PROVIDER = "exchange"
UID_SUFFIX = "@sandbox.exchange"
ITEM_NOT_FOUND = "The specified object was not found in the store."
TO_EWS_STATUS = {
    "free": "Free",
    "tentative": "Tentative",
    "busy": "Busy",
    "oof": "OOF",
    "workingElsewhere": "WorkingElsewhere",
    "noData": "NoData",
}
FROM_EWS_STATUS = {value: key for key, value in TO_EWS_STATUS.items()}
TO_EWS_RESPONSE = {
    "accepted": "Accept",
    "tentative": "Tentative",
    "declined": "Decline",
    "needsAction": "NoResponseReceived",
}
FROM_EWS_RESPONSE = {value: key for key, value in TO_EWS_RESPONSE.items()}
FREE_BUSY_FIELDS = {
    "calendar:Start",
    "calendar:End",
    "calendar:LegacyFreeBusyStatus",
    "calendar:IsAllDayEvent",
    "calendar:CalendarItemType",
    "calendar:StartTimeZone",
    "calendar:EndTimeZone",
}


def item_id(calendar_id: str, event_id: str) -> str:
    return encode_id("item", calendar_id, event_id)


def change_key(event: Event) -> str:
    return base64.b64encode(f"{event.changed}.{event.sequence}".encode()).decode()


# --- what the client asked to see --------------------------------------------------------


@dataclass
class Shape:
    base: str = "IdOnly"
    fields: set[str] = field(default_factory=set)
    extended: list[Element] = field(default_factory=list)

    @classmethod
    def parse(cls, node: Element | None) -> Shape:
        extra = find(node, "t:AdditionalProperties")
        return cls(
            text(node, "t:BaseShape", "IdOnly"),
            {uri.get("FieldURI", "") for uri in find_all(extra, "t:FieldURI")},
            find_all(extra, "t:ExtendedFieldURI"),
        )

    def wants(self, name: str) -> bool:
        if self.base == "AllProperties":
            return True
        return name in self.fields or (self.base == "Default" and name in DEFAULT_FIELDS)


@dataclass
class Seen:
    """An event (or generated occurrence) of a calendar, as one caller sees it."""

    calendar: Calendar
    event: Event
    limited: bool = False  # free/busy-only access: times and status, nothing else

    @property
    def owner(self) -> str:
        return self.calendar.owner or self.calendar.id

    @property
    def kind(self) -> str:
        if self.event.recurrence:
            return "RecurringMaster"
        if self.event.recurring_event_id:
            return "Exception" if self.event.id in self.calendar.events else "Occurrence"
        return "Single"

    @property
    def id(self) -> str:
        return item_id(self.calendar.id, self.event.id)


def property_key(uri: Element) -> str:
    """Where an extended property lives in the event's private properties."""
    space = (uri.get("PropertySetId") or uri.get("DistinguishedPropertySetId") or "").lower()
    name = uri.get("PropertyName") or uri.get("PropertyId") or uri.get("PropertyTag", "").lower()
    return f"{space}:{name}" if space else name


# --- rendering ---------------------------------------------------------------------------


def _mailbox(email: str, name: str = "") -> Element:
    return el(
        "t:Mailbox",
        children=[
            name and el("t:Name", name),
            el("t:EmailAddress", email),
            el("t:RoutingType", "SMTP"),
            el("t:MailboxType", "Mailbox"),
        ],
    )


def _response(seen: Seen, attendee: Attendee) -> str:
    if attendee.email == seen.event.organizer:
        return "Organizer"
    return TO_EWS_RESPONSE.get(attendee.response, "Unknown")


def _attendees(seen: Seen, optional: bool) -> Element | None:
    chosen = [a for a in seen.event.attendees if a.optional == optional]
    tag = "t:OptionalAttendees" if optional else "t:RequiredAttendees"
    return chosen and el(
        tag,
        children=[
            el(
                "t:Attendee",
                children=[_mailbox(a.email, a.name), el("t:ResponseType", _response(seen, a))],
            )
            for a in chosen
        ],
    )


def free_busy_status(event: Event) -> str:
    if event.event_type == "outOfOffice":
        return "OOF"
    if event.event_type == "workingLocation":
        return "WorkingElsewhere"
    return TO_EWS_STATUS.get(event.show_as, "Busy")


def my_response(seen: Seen) -> str:
    if seen.event.organizer.lower() == seen.owner.lower():
        return "Organizer"
    own = [a for a in seen.event.attendees if a.email.lower() == seen.owner.lower()]
    return TO_EWS_RESPONSE.get(own[0].response, "Unknown") if own else "Unknown"


def _zone_element(tag: str, seen: Seen) -> Element:
    return el(tag, Id=windows_zone(seen.event.timezone))


def _original(seen: Seen) -> datetime | None:
    start = seen.event.original_start
    return None if start is None else recurrence.instant(start, seen.event.timezone)


Renderer = Callable[[Seen], Element | None]
# In t:CalendarItem schema order; each renders one FieldURI (None when the value is unset).
RENDERERS: list[tuple[str, Renderer]] = [
    (
        "item:ParentFolderId",
        lambda s: el("t:ParentFolderId", Id=s.calendar.id, ChangeKey="AQAAAA=="),
    ),
    ("item:ItemClass", lambda s: el("t:ItemClass", "IPM.Appointment")),
    ("item:Subject", lambda s: el("t:Subject", s.event.summary)),
    ("item:Sensitivity", lambda s: el("t:Sensitivity", "Normal")),
    ("item:Body", lambda s: el("t:Body", s.event.description, BodyType="Text")),
    ("item:DateTimeReceived", lambda s: el("t:DateTimeReceived", s.event.created)),
    ("item:Size", lambda s: el("t:Size", 512 + len(s.event.description))),
    ("item:Importance", lambda s: el("t:Importance", "Normal")),
    ("item:DateTimeCreated", lambda s: el("t:DateTimeCreated", s.event.created)),
    ("item:ReminderIsSet", lambda s: el("t:ReminderIsSet", False)),
    ("item:HasAttachments", lambda s: el("t:HasAttachments", False)),
    ("extended", lambda s: None),  # placeholder: extended properties go here
    ("item:LastModifiedTime", lambda s: el("t:LastModifiedTime", s.event.updated)),
    ("item:IsAssociated", lambda s: el("t:IsAssociated", False)),
    (
        "calendar:UID",
        lambda s: el("t:UID", s.event.ical_uid(UID_SUFFIX)),
    ),
    ("calendar:RecurrenceId", lambda s: _original(s) and el("t:RecurrenceId", _original(s))),
    ("calendar:DateTimeStamp", lambda s: el("t:DateTimeStamp", s.event.updated)),
    ("calendar:Start", lambda s: el("t:Start", s.event.span()[0])),
    ("calendar:End", lambda s: el("t:End", s.event.span()[1])),
    ("calendar:OriginalStart", lambda s: _original(s) and el("t:OriginalStart", _original(s))),
    ("calendar:IsAllDayEvent", lambda s: el("t:IsAllDayEvent", s.event.all_day)),
    (
        "calendar:LegacyFreeBusyStatus",
        lambda s: el("t:LegacyFreeBusyStatus", free_busy_status(s.event)),
    ),
    ("calendar:Location", lambda s: el("t:Location", s.event.location)),
    ("calendar:IsMeeting", lambda s: el("t:IsMeeting", bool(s.event.attendees))),
    (
        "calendar:IsCancelled",
        lambda s: el("t:IsCancelled", bool(s.event.extra.get("is_cancelled"))),
    ),
    ("calendar:IsRecurring", lambda s: el("t:IsRecurring", bool(s.event.recurring_event_id))),
    (
        "calendar:MeetingRequestWasSent",
        lambda s: el("t:MeetingRequestWasSent", bool(s.event.attendees)),
    ),
    (
        "calendar:IsResponseRequested",
        lambda s: el("t:IsResponseRequested", bool(s.event.attendees)),
    ),
    ("calendar:CalendarItemType", lambda s: el("t:CalendarItemType", s.kind)),
    ("calendar:MyResponseType", lambda s: el("t:MyResponseType", my_response(s))),
    ("calendar:Organizer", lambda s: el("t:Organizer", children=[_mailbox(s.event.organizer)])),
    ("calendar:RequiredAttendees", lambda s: _attendees(s, optional=False)),
    ("calendar:OptionalAttendees", lambda s: _attendees(s, optional=True)),
    ("calendar:Duration", lambda s: el("t:Duration", _duration(s.event))),
    (
        "calendar:AppointmentSequenceNumber",
        lambda s: el("t:AppointmentSequenceNumber", s.event.sequence),
    ),
    (
        "calendar:AppointmentState",
        lambda s: el("t:AppointmentState", 1 if s.event.attendees else 0),
    ),
    ("calendar:Recurrence", lambda s: s.event.recurrence and recurrence_element(s.event)),
    ("calendar:StartTimeZone", lambda s: _zone_element("t:StartTimeZone", s)),
    ("calendar:EndTimeZone", lambda s: _zone_element("t:EndTimeZone", s)),
]
DEFAULT_FIELDS = {
    "item:Subject",
    "item:HasAttachments",
    "item:IsAssociated",
    "calendar:Start",
    "calendar:End",
    "calendar:LegacyFreeBusyStatus",
    "calendar:Location",
    "calendar:CalendarItemType",
    "calendar:Organizer",
}


def _duration(event: Event) -> str:
    start, end = event.span()
    return f"PT{int((end - start).total_seconds() // 60)}M"


def _extended(seen: Seen, shape: Shape) -> list[Element]:
    found = []
    for uri in shape.extended:
        value = seen.event.private_properties.get(property_key(uri))
        if value is not None:
            copy = etree.fromstring(etree.tostring(uri))
            found.append(el("t:ExtendedProperty", children=[copy, el("t:Value", value)]))
    return found


def item_element(seen: Seen, shape: Shape) -> Element:
    node = el(
        "t:CalendarItem", children=[el("t:ItemId", Id=seen.id, ChangeKey=change_key(seen.event))]
    )
    for name, render in RENDERERS:
        if name == "extended":
            node.extend([] if seen.limited else _extended(seen, shape))
        elif shape.wants(name) and (not seen.limited or name in FREE_BUSY_FIELDS):
            child = render(seen)
            if isinstance(child, Element):  # `x and el(...)` renderers may give a falsy x
                node.append(child)
    return node


def id_only(seen: Seen) -> Element:
    return el(
        "t:CalendarItem", children=[el("t:ItemId", Id=seen.id, ChangeKey=change_key(seen.event))]
    )


# --- finding items -----------------------------------------------------------------------


def resolve_item(call: Call, node: Element) -> tuple[FolderRef, Event]:
    """A t:ItemId, t:OccurrenceItemId or t:RecurringMasterItemId: its calendar and event."""
    kind = local(node)
    value = node.get(
        {"OccurrenceItemId": "RecurringMasterId", "RecurringMasterItemId": "OccurrenceId"}.get(
            kind, "Id"
        ),
        "",
    )
    _, calendar_id, event_id = decode_id(value, 3)
    try:
        folder = calendar_ref(call, calendar_id)
    except EwsError as error:
        if error.code == "ErrorFolderNotFound":
            raise EwsError("ErrorItemNotFound", ITEM_NOT_FOUND) from None
        raise
    event = _live(call, folder.calendar, event_id)
    if kind == "RecurringMasterItemId" and event.recurring_event_id:
        event = _live(call, folder.calendar, event.recurring_event_id)
    if kind == "OccurrenceItemId":
        event = _nth_occurrence(call, folder.calendar, event, int(node.get("InstanceIndex", "1")))
    return folder, event


def _live(call: Call, calendar: Calendar, event_id: str) -> Event:
    try:
        event = call.state.find_event(calendar, event_id)
    except NotFound:
        raise EwsError("ErrorItemNotFound", ITEM_NOT_FOUND) from None
    if event.cancelled:
        raise EwsError("ErrorItemNotFound", ITEM_NOT_FOUND)
    return event


def _nth_occurrence(call: Call, calendar: Calendar, master: Event, index: int) -> Event:
    if not master.recurrence:
        raise EwsError(
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "The occurrence index is out of the recurrence range.",
        )
    instances = call.state.instances(calendar, master)
    if not 1 <= index <= len(instances):
        raise EwsError(
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "The occurrence index is out of the recurrence range.",
        )
    if instances[index - 1].cancelled:
        raise EwsError(
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "The occurrence was deleted from the recurrence.",
        )
    return instances[index - 1]


def _value_of(event: Event, uri: Element) -> Any:
    if local(uri) == "ExtendedFieldURI":
        return event.private_properties.get(property_key(uri))
    getters: dict[str, Callable[[Event], Any]] = {
        "item:Subject": lambda e: e.summary,
        "calendar:Location": lambda e: e.location,
        "calendar:Start": lambda e: e.span()[0],
        "calendar:End": lambda e: e.span()[1],
        "calendar:IsAllDayEvent": lambda e: e.all_day,
        "item:ItemClass": lambda e: "IPM.Appointment",
        "calendar:LegacyFreeBusyStatus": free_busy_status,
        "calendar:UID": lambda e: e.ical_uid(UID_SUFFIX),
    }
    getter = getters.get(uri.get("FieldURI", ""))
    if getter is None:
        raise EwsError(
            "ErrorUnsupportedPathForQuery",
            f"The property {uri.get('FieldURI')} cannot be used in a restriction.",
        )
    return getter(event)


def _compare(left: Any, constant: str, call: Call) -> int:
    if isinstance(left, datetime):
        right: Any = parse_datetime(constant, call.zone)
    elif isinstance(left, bool):
        left, right = int(left), int(constant.lower() == "true")
    else:
        left, right = str(left).casefold(), constant.casefold()
    return (left > right) - (left < right)


COMPARISONS = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def matches(call: Call, event: Event, node: Element) -> bool:
    """Evaluate one Restriction search expression against a stored event."""
    name = local(node)
    if name == "And":
        return all(matches(call, event, child) for child in node)
    if name == "Or":
        return any(matches(call, event, child) for child in node)
    if name == "Not":
        return not matches(call, event, node[0])
    left = _value_of(event, node[0])
    if name == "Exists":
        return left is not None
    constant = find(node, "t:FieldURIOrConstant/t:Constant")
    if name in COMPARISONS and constant is not None:
        return left is not None and COMPARISONS[name](
            _compare(left, constant.get("Value", ""), call)
        )
    if name == "Contains" and constant is not None:
        return left is not None and constant.get("Value", "").casefold() in str(left).casefold()
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {name} is not supported.")


def _view_window(call: Call, view: Element) -> tuple[datetime, datetime]:
    window = (
        parse_datetime(view.get("StartDate", ""), call.zone),
        parse_datetime(view.get("EndDate", ""), call.zone),
    )
    if window[1] < window[0]:
        raise EwsError(
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "The End Date value is earlier than the Start Date value.",
        )
    return window


def _found(call: Call, folder: FolderRef, request: Element) -> tuple[list[Seen], int | None]:
    """The items a FindItem selects in one folder, and the page size it asked for."""
    view = find(request, "m:CalendarView")
    if folder.calendar is None:
        return [], None
    if view is not None:
        # Free/busy-only sharing still allows a calendar view of times and status.
        calendar = folder.require("freeBusyReader")
        limited = folder.role == "freeBusyReader"
        events = call.state.occurrences(calendar, _view_window(call, view))
        size = view.get("MaxEntriesReturned")
        return [Seen(calendar, e, limited) for e in events], int(size) if size else None
    calendar = folder.require("reader")
    restriction = find(request, "m:Restriction")
    events = sorted(
        (e for e in calendar.events.values() if not e.cancelled and not e.recurring_event_id),
        key=lambda e: e.span()[0],
    )
    if restriction is not None and len(restriction):
        events = [e for e in events if matches(call, e, restriction[0])]
    page = find(request, "m:IndexedPageItemView")
    size = page.get("MaxEntriesReturned") if page is not None else None
    return [Seen(calendar, e) for e in events], int(size) if size else None


def find_item(call: Call, request: Element) -> Element:
    shape = Shape.parse(find(request, "m:ItemShape"))
    page = find(request, "m:IndexedPageItemView")
    offset = int(page.get("Offset", "0")) if page is not None else 0
    messages = []
    for node in find_all(request, "m:ParentFolderIds/*"):
        try:
            seen, size = _found(call, resolve_folder(call, node), request)
            if find(request, "m:CalendarView") is not None:
                offset = 0  # a calendar view has no paging offset
            start, end, attrs = paged(len(seen), offset, size)
            items = [item_element(s, shape) for s in seen[start:end]]
            messages.append(
                success(
                    "FindItem",
                    el("m:RootFolder", children=[el("t:Items", children=items)], **attrs),
                )
            )
        except EwsError as error:
            messages.append(failure("FindItem", error))
    return responses("FindItem", messages)


def get_item(call: Call, request: Element) -> Element:
    shape = Shape.parse(find(request, "m:ItemShape"))
    messages = []
    for node in find_all(request, "m:ItemIds/*"):
        try:
            folder, event = resolve_item(call, node)
            seen = Seen(folder.require("reader"), event)
            messages.append(success("GetItem", el("m:Items", children=[item_element(seen, shape)])))
        except EwsError as error:
            messages.append(failure("GetItem", error))
    return responses("GetItem", messages)
