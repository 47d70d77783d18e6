"""Graph's representation of calendars and events, and the parsing of what clients send."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from werkzeug.exceptions import abort
from werkzeug.wrappers import Request, Response

from sandbox import timezones
from sandbox.microsoft_identity import display_name
from sandbox.server import json_response
from sandbox.state import Access, Attendee, Calendar, Event, Mailbox, now, role_at_least

UID_SUFFIX = "@sandbox.microsoft"
RESPONSE_OUT = {
    "needsAction": "notResponded",
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
}
RESPONSE_IN = {
    "accepted": "accepted",
    "tentativelyAccepted": "tentative",
    "declined": "declined",
    "organizer": "accepted",
}
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
# The zone is quoted (needed for Windows ids, which hold spaces) or a bare IANA name.
PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*(?:"([^"]*)"|([^\s,;"]+))', re.IGNORECASE)
EXPAND_PROPERTIES = re.compile(
    r"singleValueExtendedProperties(?:\(\$filter=id\s+eq\s+'([^']*)'\))?", re.IGNORECASE
)


# --- errors ---------------------------------------------------------------------------------


def graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """Graph's error shape."""
    inner = {
        "date": now().strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return json_response(
        {"error": {"code": code, "message": message, "innerError": inner}}, status, headers
    )


def fail(status: int, code: str, message: str, **options: Any) -> NoReturn:
    abort(graph_error(status, code, message, **options))


# --- Graph: representation -------------------------------------------------------------------


def iana_zone(name: str) -> str:
    """The IANA name for a zone a client sent: Graph takes Windows ids ("Pacific Standard
    Time") and IANA names alike (https://learn.microsoft.com/en-us/graph/api/resources/
    datetimetimezone). Graph lists a subset of IANA names as supported; the sandbox takes any."""
    iana = timezones.to_iana(name or "UTC")
    if iana is None:
        fail(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{name}'.",
        )
    return iana


def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(iana_zone(name))


def zone_names(mailbox: Mailbox) -> str:
    """How the mailbox reports time zones: "windows" (Exchange Online mailboxes do, e.g. in
    mailboxSettings.timeZone and originalStartTimeZone) or "iana"."""
    return str(mailbox.extra.get("timezone_names", "windows"))


def stamp(moment: datetime) -> str:
    """UTC with seven fractional digits, as Graph writes timestamps."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "0Z"


def when(value: datetime | date, zone: str) -> dict[str, str]:
    if isinstance(value, datetime):
        local = value.astimezone(_zoneinfo(zone)).replace(tzinfo=None)
    else:
        local = datetime.combine(value, time())  # all-day dates float: midnight in any zone
    return {"dateTime": local.isoformat(timespec="microseconds") + "0", "timeZone": zone}


def prefer(request: Request, pattern: re.Pattern[str]) -> str | None:
    match = pattern.search(", ".join(request.headers.getlist("Prefer")))
    return next((group for group in match.groups() if group is not None), None) if match else None


def view_zone(request: Request) -> str:
    """The zone times are rendered in: `Prefer: outlook.timezone`, else UTC."""
    zone = prefer(request, PREFER_ZONE) or "UTC"
    _zoneinfo(zone)
    return zone


def owner_of(calendar: Calendar) -> str:
    return calendar.owner or calendar.id


def _event_type(event: Event, calendar: Calendar) -> str:
    if event.recurrence:
        return "seriesMaster"
    if event.recurring_event_id:
        return "exception" if event.id in calendar.events else "occurrence"
    return "singleInstance"


def show_as_of(event: Event) -> str:
    if event.event_type == "outOfOffice" and event.show_as == "busy":
        return "oof"
    if event.event_type == "workingLocation":
        return "free"
    return event.show_as


def own_response(event: Event, owner: str) -> str:
    if event.organizer.lower() == owner.lower():
        return "organizer"
    own = next((a for a in event.attendees if a.email.lower() == owner.lower()), None)
    return RESPONSE_OUT.get(own.response, "none") if own else "none"


def _address(email: str, name: str = "") -> dict[str, str]:
    return {"name": name or display_name(email), "address": email}


def _attendee_resource(attendee: Attendee) -> dict[str, Any]:
    return {
        "type": "optional" if attendee.optional else "required",
        "status": {
            "response": RESPONSE_OUT.get(attendee.response, "none"),
            "time": "0001-01-01T00:00:00Z",
        },
        "emailAddress": _address(attendee.email, attendee.name),
    }


def _properties(event: Event, wanted: str) -> list[dict[str, str]]:
    return [
        {"id": key, "value": value}
        for key, value in event.private_properties.items()
        if not wanted or key.lower() == wanted.lower()
    ]


def event_resource(
    event: Event,
    calendar: Calendar,
    zone: str,
    expand: tuple[bool, str] = (False, ""),
    names: str = "windows",
) -> dict[str, Any]:
    """The Graph event for `event`, seen in `calendar`, with times in `zone`; `expand` asks
    for singleValueExtendedProperties (all of them, or the one id named); `names` is how the
    viewing mailbox reports time zones (see `zone_names`)."""
    kind = _event_type(event, calendar)
    resource: dict[str, Any] = {
        "@odata.etag": f'W/"{event.changed}"',
        "id": event.id,
        "createdDateTime": stamp(event.created),
        "lastModifiedDateTime": stamp(event.updated),
        "changeKey": str(event.changed),
        "categories": [],
        "transactionId": event.extra.get("transactionId"),
        "originalStartTimeZone": timezones.named(event.timezone, names),
        "originalEndTimeZone": timezones.named(event.timezone, names),
        "iCalUId": event.ical_uid(UID_SUFFIX),
        "subject": event.summary,
        "bodyPreview": event.description[:255],
        "body": {"contentType": "text", "content": event.description},
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": event.all_day,
        "isCancelled": bool(event.extra.get("isCancelled")),
        "isOrganizer": event.organizer.lower() == owner_of(calendar).lower(),
        "responseRequested": True,
        "seriesMasterId": event.recurring_event_id or None,
        "showAs": show_as_of(event),
        "type": kind,
        "responseStatus": {
            "response": own_response(event, owner_of(calendar)),
            "time": "0001-01-01T00:00:00Z",
        },
        "start": when(event.start, zone),
        "end": when(event.end, zone),
        "location": {"displayName": event.location, "locationType": "default"},
        "recurrence": event.extra.get("recurrence") if kind == "seriesMaster" else None,
        "attendees": [_attendee_resource(a) for a in event.attendees],
        "organizer": {"emailAddress": _address(event.organizer)},
    }
    if expand[0]:
        resource["singleValueExtendedProperties"] = _properties(event, expand[1])
    return resource


def calendar_resource(calendar: Calendar, access: Access) -> dict[str, Any]:
    writer = role_at_least(access.role, "writer")
    return {
        "id": calendar.id,
        "name": calendar.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": access.primary,
        "changeKey": str(calendar.sync_epoch),
        "canShare": access.role == "owner",
        "canViewPrivateItems": writer,
        "canEdit": writer,
        "isRemovable": not access.primary,
        "isTallyingResponses": access.primary,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": _address(owner_of(calendar)),
    }


def expand_wanted(request: Request) -> tuple[bool, str]:
    match = EXPAND_PROPERTIES.search(request.args.get("$expand", ""))
    return (True, match.group(1) or "") if match else (False, "")


# --- Graph: parsing what clients send --------------------------------------------------------

DAYS = {
    "sunday": "SU",
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
}
FREQUENCIES = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}
WEEK_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
# Which stored fields each top-level Graph property feeds (for PATCH).
PATCHABLE = {
    "subject": ("summary",),
    "body": ("description",),
    "location": ("location",),
    "start": ("start", "timezone"),
    "end": ("end",),
    "isAllDay": ("start", "end"),
    "showAs": ("show_as",),
    "attendees": ("attendees",),
    "recurrence": ("recurrence",),
    "singleValueExtendedProperties": ("private_properties",),
}


def json_body(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "RequestBodyRead", "Cannot read the request body as a JSON object.")
    return body


def parse_time(text: Any, name: str, zone: str = "UTC") -> datetime:
    """An ISO 8601 time; without an offset it is local time in `zone`."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        fail(400, "ErrorInvalidParameter", f"The value '{text}' of {name} is not a date.")
    return moment if moment.tzinfo else moment.replace(tzinfo=_zoneinfo(zone))


def parse_when(value: Any, name: str) -> tuple[datetime, str]:
    """A dateTimeTimeZone: returns the aware moment and the zone name."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        fail(400, "ErrorInvalidRequest", f"The {name} property is required.")
    zone = value.get("timeZone") or "UTC"
    return parse_time(value["dateTime"], name, zone), zone


def _whole_day(moment: datetime, zone: str) -> date:
    local = moment.astimezone(_zoneinfo(zone))
    if local.time() != time():
        fail(
            400,
            "ErrorInvalidRequest",
            "All-day events must start and end at midnight in their time zone.",
        )
    return local.date()


def _attendees(items: Any) -> list[Attendee]:
    found = []
    for item in items or []:
        person = (item.get("emailAddress") if isinstance(item, dict) else None) or {}
        address = str(person.get("address") or "")
        if "@" not in address:
            fail(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        response = ((item.get("status") or {}).get("response")) or "none"
        found.append(
            Attendee(
                address.lower(),
                str(person.get("name") or ""),
                RESPONSE_IN.get(response, "needsAction"),
                item.get("type") == "optional",
            )
        )
    return found


def _extended_properties(items: Any) -> dict[str, str]:
    return {
        str(item["id"]): str(item.get("value", ""))
        for item in items or []
        if isinstance(item, dict) and item.get("id")
    }


def rrule_lines(recurrence: Any, all_day: bool) -> list[str]:
    """RFC 5545 lines for a Graph patternedRecurrence (the range's startDate is the event's)."""
    if not recurrence:
        return []
    if not isinstance(recurrence, dict):
        fail(400, "ErrorInvalidRequest", "recurrence must be a patternedRecurrence object.")
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in FREQUENCIES:
        fail(400, "ErrorInvalidRequest", f"Unsupported recurrence pattern type {kind!r}.")
    try:
        days = [DAYS[day.lower()] for day in pattern.get("daysOfWeek") or []]
        parts = [f"FREQ={FREQUENCIES[kind]}", f"INTERVAL={int(pattern.get('interval') or 1)}"]
        if kind == "weekly" or kind.startswith("relative"):
            index = WEEK_INDEX[pattern.get("index") or "first"] if kind != "weekly" else ""
            parts.append("BYDAY=" + ",".join(f"{index}{day}" for day in days))
        if kind.startswith("absolute"):
            parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
        if kind.endswith("Yearly"):
            parts.append(f"BYMONTH={int(pattern['month'])}")
        if span.get("type") == "numbered":
            parts.append(f"COUNT={int(span['numberOfOccurrences'])}")
        elif span.get("type") == "endDate":
            until = date.fromisoformat(span["endDate"])
            # A local UNTIL (no Z) is turned into UTC by the recurrence module.
            parts.append(f"UNTIL={until:%Y%m%d}" + ("" if all_day else "T235959"))
    except (KeyError, TypeError, ValueError) as exc:
        fail(400, "ErrorInvalidRequest", f"Invalid recurrence: {exc}")
    if "BYDAY=" in ";".join(parts) and not days:
        fail(400, "ErrorInvalidRequest", "The recurrence pattern needs daysOfWeek.")
    return ["RRULE:" + ";".join(parts)]


def event_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Neutral event fields from a whole Graph event sent by a client."""
    start, zone = parse_when(body.get("start"), "start")
    end, _ = parse_when(body.get("end"), "end")
    all_day = bool(body.get("isAllDay"))
    show_as = body.get("showAs") or "busy"
    if show_as not in SHOW_AS:
        fail(400, "ErrorInvalidRequest", f"Invalid showAs value {show_as!r}.")
    return {
        "start": _whole_day(start, zone) if all_day else start,
        "end": _whole_day(end, zone) if all_day else end,
        "timezone": iana_zone(zone),
        "summary": str(body.get("subject") or ""),
        "description": str((body.get("body") or {}).get("content") or ""),
        "location": str((body.get("location") or {}).get("displayName") or ""),
        "show_as": show_as,
        "attendees": _attendees(body.get("attendees")),
        "recurrence": rrule_lines(body.get("recurrence"), all_day),
        "private_properties": _extended_properties(body.get("singleValueExtendedProperties")),
    }


def patch_fields(event: Event, calendar: Calendar, patch: dict[str, Any]) -> dict[str, Any]:
    """The stored fields a PATCH changes: the patch is merged into the current event, and
    only fields fed by the properties it names are taken (so an RRULE Graph cannot express
    survives an unrelated edit)."""
    current = event_resource(event, calendar, event.timezone, (True, ""))
    merged = {**current, **patch}
    if "singleValueExtendedProperties" in patch:
        merged["singleValueExtendedProperties"] = [
            {"id": k, "value": v}
            for k, v in {
                **_extended_properties(current["singleValueExtendedProperties"]),
                **_extended_properties(patch["singleValueExtendedProperties"]),
            }.items()
        ]
    if "recurrence" not in patch:
        merged["recurrence"] = None  # keep the stored rule: it is not taken from the merge
    fields = event_fields(merged)
    wanted = {name for key in patch for name in PATCHABLE.get(key, ())}
    changes = {name: value for name, value in fields.items() if name in wanted}
    if "recurrence" in patch:
        changes["extra"] = {**event.extra, "recurrence": patch["recurrence"]}
    return changes
