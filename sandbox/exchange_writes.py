"""EWS writes: CreateItem, UpdateItem and DeleteItem, with the client's t:CalendarItem turned
into the sandbox's event fields. Every write is recorded with the invitations it sent
(SendMeetingInvitations, ...OrCancellations, SendMeetingCancellations).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from sandbox import exchange_responses, recurrence
from sandbox.exchange_access import Call, FolderRef, calendar_ref, resolve_folder
from sandbox.exchange_items import (
    FROM_EWS_RESPONSE,
    FROM_EWS_STATUS,
    ITEM_NOT_FOUND,
    PROVIDER,
    Seen,
    change_key,
    id_only,
    property_key,
    resolve_item,
)
from sandbox.exchange_responses import RESPONSE_ITEMS
from sandbox.exchange_rules import recurrence_lines
from sandbox.exchange_xml import (
    Element,
    EwsError,
    el,
    failure,
    find,
    find_all,
    flag,
    local,
    parse_datetime,
    responses,
    success,
    text,
    zone_named,
)
from sandbox.state import Attendee, Calendar, Event, Gone, Invalid, NotFound, SandboxError

# SendMeetingInvitations / ...OrCancellations / SendMeetingCancellations -> state's send_updates.
# "Changed" variants are treated as "all": the sandbox does not diff who needs an update.
SEND_POLICIES = {
    "SendToNone": "none",
    "SendOnlyToAll": "all",
    "SendToAllAndSaveCopy": "all",
    "SendOnlyToChanged": "all",
    "SendToChangedAndSaveCopy": "all",
}


CONFLICT_RESOLUTIONS = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")
DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")


# --- parsing what clients write ----------------------------------------------------------


def _people(node: Element | None, optional: bool) -> list[Attendee]:
    found = []
    for attendee in find_all(node, "t:Attendee"):
        email = text(attendee, "t:Mailbox/t:EmailAddress").lower()
        if "@" not in email:
            raise EwsError("ErrorInvalidRecipients", "At least one recipient isn't valid.")
        response = FROM_EWS_RESPONSE.get(text(attendee, "t:ResponseType"), "needsAction")
        found.append(Attendee(email, text(attendee, "t:Mailbox/t:Name"), response, optional))
    return found


def raw_fields(call: Call, item: Element) -> dict[str, Any]:
    """The properties present in a client's t:CalendarItem, not yet tied to an event."""
    raw: dict[str, Any] = {"properties": {}}
    for child in item:
        name = local(child)
        if name in ("Subject", "Location", "Body"):
            raw[{"Subject": "summary", "Body": "description"}.get(name, "location")] = (
                child.text or ""
            )
        elif name in ("Start", "End"):
            raw[name.lower()] = parse_datetime(child.text or "", call.zone)
        elif name == "IsAllDayEvent":
            raw["all_day"] = flag(child, "")
        elif name == "LegacyFreeBusyStatus":
            raw["show_as"] = FROM_EWS_STATUS.get(child.text or "", "busy")
        elif name in ("RequiredAttendees", "OptionalAttendees"):
            raw[name] = _people(child, optional=name == "OptionalAttendees")
        elif name in ("StartTimeZone", "MeetingTimeZone"):
            raw["timezone"] = zone_named(child.get("Id") or child.get("TimeZoneName", ""))
        elif name == "ExtendedProperty":
            raw["properties"][property_key(find(child, "t:ExtendedFieldURI"))] = text(
                child, "t:Value"
            )
        elif name == "Recurrence":
            raw["recurrence_node"] = child
    return raw


def _attendee_list(raw: dict[str, Any], before: Event | None) -> list[Attendee]:
    old = before.attendees if before else []
    required = raw.get("RequiredAttendees", [a for a in old if not a.optional])
    optional = raw.get("OptionalAttendees", [a for a in old if a.optional])
    responses_before = {a.email: a.response for a in old}
    return [
        Attendee(a.email, a.name, responses_before.get(a.email, a.response), a.optional)
        for a in required + optional
    ]


def _times(
    raw: dict[str, Any], before: Event | None, timezone: str
) -> tuple[datetime | date, datetime | date]:
    start = raw.get("start") or (before.span()[0] if before else None)
    end = raw.get("end") or (before.span()[1] if before else None)
    if start is None or end is None:
        raise EwsError("ErrorInvalidPropertySet", "Start and End are required.")
    if end < start:
        raise EwsError(
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "The End Date value is earlier than the Start Date value.",
        )
    zone = ZoneInfo(timezone)
    if not raw.get("all_day", before.all_day if before else False):
        return start.astimezone(zone), end.astimezone(zone)
    # All-day items span whole local days: EWS moves the edges out to midnight.
    first = start.astimezone(zone).date()
    last = end.astimezone(zone)
    last_day = last.date() if last.time() == datetime.min.time() else last.date() + timedelta(1)
    return first, max(last_day, first + timedelta(days=1))


def event_changes(raw: dict[str, Any], before: Event | None, calendar: Calendar) -> dict[str, Any]:
    """Neutral event fields from what the client sent, on top of `before` (None: a new item)."""
    timezone = raw.get("timezone") or (before.timezone if before else calendar.timezone)
    start, end = _times(raw, before, timezone)
    changes: dict[str, Any] = {
        "start": start,
        "end": end,
        "timezone": timezone,
        "attendees": _attendee_list(raw, before),
    }
    changes.update(
        {key: raw[key] for key in ("summary", "description", "location", "show_as") if key in raw}
    )
    properties = dict(before.private_properties) if before else {}
    properties.update(raw["properties"])
    changes["private_properties"] = {k: v for k, v in properties.items() if v is not None}
    if "recurrence_node" in raw:
        changes["recurrence"] = recurrence_lines(raw["recurrence_node"], start, timezone)
    return changes


# --- writing items -----------------------------------------------------------------------


def _send_policy(request: Element, attribute: str) -> str | None:
    """The request's invitation policy; None when it names none (EWS requires one for
    calendar items: see `_required`)."""
    value = request.get(attribute)
    if value is None:
        return None
    if value not in SEND_POLICIES:
        raise EwsError("ErrorInvalidRequest", f"Invalid {attribute} value {value!r}.")
    return SEND_POLICIES[value]


def _required(send: str | None, attribute: str) -> str:
    """SendMeetingInvitations (CreateItem), ...OrCancellations (UpdateItem) and
    SendMeetingCancellations (DeleteItem) are required for calendar items; without one
    Exchange answers Error<attribute>Required (MS-OXWSCDATA 2.2.5.24 ResponseCodeType)."""
    if send is None:
        raise EwsError(f"Error{attribute}Required", f"The {attribute} attribute is required.")
    return send


def _state_call(action: Callable[[], Any]) -> Any:
    """Run a state change, turning the state's refusals into EWS response codes."""
    try:
        return action()
    except (NotFound, Gone):
        raise EwsError("ErrorItemNotFound", ITEM_NOT_FOUND) from None
    except (Invalid, recurrence.RecurrenceError) as problem:
        raise EwsError("ErrorInvalidPropertyValue", str(problem)) from None
    except SandboxError as problem:
        raise EwsError("ErrorInvalidOperation", str(problem)) from None


def _target_folder(call: Call, request: Element) -> FolderRef:
    node = find(request, "m:SavedItemFolderId/*")
    if node is None:
        return calendar_ref(call, call.mailbox.primary_calendar_id)
    return resolve_folder(call, node)


def _record(
    call: Call, action: str, before: Event | None, after: Event, node: Element | None, send: str
) -> None:
    body = {"operation": action, "item": etree.tostring(node).decode() if node is not None else ""}
    call.state.record_write(PROVIDER, call.mailbox, action, before, after, body, send)


def create_item(call: Call, request: Element) -> Element:
    send = _send_policy(request, "SendMeetingInvitations")
    messages = []
    for node in find_all(request, "m:Items/*"):
        try:
            if local(node) in RESPONSE_ITEMS:
                exchange_responses.respond(call, request, node)
                messages.append(success("CreateItem", el("m:Items")))
                continue
            calendar = _target_folder(call, request).require("writer")
            if local(node) != "CalendarItem":
                raise EwsError("ErrorInvalidOperation", "Only calendar items are emulated.")
            policy = _required(send, "SendMeetingInvitations")
            changes = event_changes(raw_fields(call, node), None, calendar)
            event = _state_call(
                lambda c=calendar, f=changes: call.state.create_event(
                    c, Event(id="", calendar_id=c.id, **f)
                )
            )
            _record(call, "create", None, event, node, policy)
            messages.append(
                success("CreateItem", el("m:Items", children=[id_only(Seen(calendar, event))]))
            )
        except EwsError as error:
            messages.append(failure("CreateItem", error, el("m:Items")))
    return responses("CreateItem", messages)


def _apply_update(call: Call, raw: dict[str, Any], update: Element, before: Event) -> None:
    name = local(update)
    uri = update[0]
    if local(uri) == "ExtendedFieldURI":
        value = None if name == "DeleteItemField" else text(update, "*/t:ExtendedProperty/t:Value")
        raw["properties"][property_key(uri)] = value
        return
    if name == "DeleteItemField":
        field_name = uri.get("FieldURI", "").partition(":")[2]
        cleared = {
            "Location": ("location", ""),
            "Body": ("description", ""),
            "Subject": ("summary", ""),
            "RequiredAttendees": ("RequiredAttendees", []),
            "OptionalAttendees": ("OptionalAttendees", []),
        }.get(field_name)
        if cleared:
            raw[cleared[0]] = cleared[1]
        return
    item = update[1] if len(update) > 1 else None
    if item is None:
        raise EwsError("ErrorInvalidPropertySet", "The update has no item.")
    found = raw_fields(call, item)
    if name == "AppendToItemField":
        for key in ("RequiredAttendees", "OptionalAttendees"):
            if key in found:
                current = raw.get(
                    key, [a for a in before.attendees if a.optional == (key == "OptionalAttendees")]
                )
                found[key] = current + found[key]
    raw["properties"].update(found.pop("properties"))
    raw.update(found)


def _update_one(call: Call, change: Element, send: str | None, never_overwrite: bool) -> Element:
    id_node = change[0]
    folder, before = resolve_item(call, id_node)
    calendar = folder.require("writer")
    send = _required(send, "SendMeetingInvitationsOrCancellations")
    if never_overwrite and id_node.get("ChangeKey") not in (None, change_key(before)):
        raise EwsError(
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change "
            "key passed in the request does not match the current change key.",
        )
    raw: dict[str, Any] = {"properties": {}}
    for update in find_all(change, "t:Updates/*"):
        _apply_update(call, raw, update, before)
    changes = event_changes(raw, before, calendar)
    if before.recurring_event_id:
        changes.pop("recurrence", None)  # an occurrence cannot become a series
    _, after = _state_call(lambda: call.state.update_event(calendar, before.id, changes))
    _record(call, "update", before, after, change, send)
    return success(
        "UpdateItem",
        el("m:Items", children=[id_only(Seen(calendar, after))]),
        el("m:ConflictResults", children=[el("t:Count", 0)]),
    )


def update_item(call: Call, request: Element) -> Element:
    send = _send_policy(request, "SendMeetingInvitationsOrCancellations")
    # MS-OXWSCORE 3.1.4.9.4.1 (https://learn.microsoft.com/en-us/openspecs/exchange_server_
    # protocols/ms-oxwscore/0dc48948-2f1b-425a-9e53-0c247657ef12): with a stale ChangeKey,
    # NeverOverwrite fails with ErrorIrresolvableConflict; AlwaysOverwrite and AutoResolve apply
    # the update (AutoResolve "in most cases" overwrites; the sandbox always does).
    resolution = request.get("ConflictResolution", "AutoResolve")
    if resolution not in CONFLICT_RESOLUTIONS:
        raise EwsError(
            "ErrorSchemaValidation",
            "ConflictResolution must be one of " + ", ".join(CONFLICT_RESOLUTIONS),
        )
    never_overwrite = resolution == "NeverOverwrite"
    messages = []
    for change in find_all(request, "m:ItemChanges/t:ItemChange"):
        try:
            messages.append(_update_one(call, change, send, never_overwrite))
        except EwsError as error:
            messages.append(failure("UpdateItem", error))
    return responses("UpdateItem", messages)


def delete_item(call: Call, request: Element) -> Element:
    if request.get("DeleteType") not in DELETE_TYPES:  # a required attribute of the schema
        raise EwsError(
            "ErrorSchemaValidation", "DeleteType must be one of " + ", ".join(DELETE_TYPES)
        )
    send = _send_policy(request, "SendMeetingCancellations")
    messages = []
    for node in find_all(request, "m:ItemIds/*"):
        try:
            folder, before = resolve_item(call, node)
            calendar = folder.require("writer")
            send = _required(send, "SendMeetingCancellations")
            tombstone = _state_call(lambda c=calendar, e=before: call.state.delete_event(c, e.id))
            _record(call, "delete", before, tombstone, None, send)
            messages.append(success("DeleteItem"))
        except EwsError as error:
            messages.append(failure("DeleteItem", error))
    return responses("DeleteItem", messages)
