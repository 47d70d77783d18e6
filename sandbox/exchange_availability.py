"""EWS free/busy: GetServerTimeZones and GetUserAvailability.

Availability is per Exchange mailbox address (its primary calendar) or per outside calendar whose
id is an address; any other address (a Google or Microsoft 365 mailbox of the sandbox too) is
not in this organisation's directory: ErrorMailRecipientNotFound. Every mailbox may read every
other's free/busy, as Exchange's Default permission (AvailabilityOnly) allows, with no share; a
calendar whose share was withdrawn from the caller answers ErrorNoFreeBusyAccess.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.exchange_access import Call
from sandbox.exchange_items import free_busy_status
from sandbox.exchange_rules import (
    RulesZone,
    parse_timezone,
    timezone_definition,
    timezone_element,
    zone_rules,
)
from sandbox.exchange_xml import (
    Element,
    EwsError,
    el,
    failure,
    find,
    find_all,
    parse_datetime,
    responses,
    success,
    text,
    zone_named,
)
from sandbox.state import Calendar, Event, now
from sandbox.timezones import WINDOWS_TO_IANA

# MergedFreeBusy digits, and which status wins when events overlap.
MERGED_DIGITS = {
    "Free": "0",
    "Tentative": "1",
    "Busy": "2",
    "OOF": "3",
    "WorkingElsewhere": "4",
    "NoData": "5",
}
PRECEDENCE = ("Free", "WorkingElsewhere", "Tentative", "Busy", "OOF")
VIEWS = ("MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged")
MAX_WINDOW = timedelta(days=62)


def get_server_time_zones(call: Call, request: Element) -> Element:
    full = request.get("ReturnFullTimeZoneData", "false").lower() == "true"
    wanted = [text(node) for node in find_all(request, "m:Ids/t:Id")] or sorted(WINDOWS_TO_IANA)
    year = now().year
    definitions = [
        timezone_definition(zone_named(zone_id), year, full)
        for zone_id in wanted
        if zone_named(zone_id, "") or zone_id == "UTC"
    ]
    return responses(
        "GetServerTimeZones",
        [success("GetServerTimeZones", el("m:TimeZoneDefinitions", children=definitions))],
    )


def _calendar_of(call: Call, address: str) -> Calendar:
    """An Exchange mailbox's primary calendar, or an outside calendar known by its address.
    Mailboxes of other providers are not in this Exchange organisation's directory."""
    mailbox = call.state.data.mailboxes.get(address.strip().lower())
    if mailbox is not None and mailbox.provider == "exchange":
        calendar = call.state.data.calendars.get(mailbox.primary_calendar_id)
    else:
        calendar = call.state.data.calendars.get(address.strip().lower())
        calendar = calendar if calendar is not None and not calendar.owner else None
    if calendar is None:
        raise EwsError(
            "ErrorMailRecipientNotFound", "The e-mail address cannot be found in the directory."
        )
    access = call.mailbox.calendars.get(calendar.id)
    if access is not None and access.lost:
        raise EwsError("ErrorNoFreeBusyAccess", "You do not have free/busy access.")
    return calendar


def _busy_events(call: Call, calendar: Calendar, window: tuple[datetime, datetime]) -> list[Event]:
    owner = (calendar.owner or calendar.id).lower()
    return [
        e
        for e in call.state.occurrences(calendar, window)
        if not any(a.email == owner and a.response == "declined" for a in e.attendees)
    ]


def _merged(events: list[Event], window: tuple[datetime, datetime], minutes: int) -> str:
    digits, slot, step = [], window[0], timedelta(minutes=minutes)
    while slot < window[1]:
        statuses = [
            free_busy_status(e) for e in events if e.span()[0] < slot + step and e.span()[1] > slot
        ]
        ranked = [s for s in PRECEDENCE if s in statuses]
        digits.append(MERGED_DIGITS[ranked[-1] if ranked else "Free"])
        slot += step
    return "".join(digits)


def _event(event: Event, zone: RulesZone, detailed: bool) -> Element:
    start, end = (moment.astimezone(zone).replace(tzinfo=None) for moment in event.span())
    details = (
        None
        if not detailed
        else el(
            "t:CalendarEventDetails",
            children=[
                el("t:ID", event.id),
                el("t:Subject", event.summary),
                el("t:Location", event.location),
                el("t:IsMeeting", bool(event.attendees)),
                el("t:IsRecurring", bool(event.recurring_event_id)),
                el("t:IsException", False),
                el("t:IsReminderSet", False),
                el("t:IsPrivate", False),
            ],
        )
    )
    return el(
        "t:CalendarEvent",
        children=[
            el("t:StartTime", start.isoformat()),
            el("t:EndTime", end.isoformat()),
            el("t:BusyType", free_busy_status(event)),
            details,
        ],
    )


def _view(
    call: Call,
    calendar: Calendar,
    window: tuple[datetime, datetime],
    view: str,
    minutes: int,
    zone: RulesZone,
) -> Element:
    events = _busy_events(call, calendar, window)
    merged = view.endswith("Merged") or view == "MergedOnly"
    rules = zone_rules(ZoneInfo(calendar.timezone).key, window[0].year)
    return el(
        "m:FreeBusyView",
        children=[
            el("t:FreeBusyViewType", view),
            el("t:MergedFreeBusy", _merged(events, window, minutes)) if merged else None,
            None
            if view == "MergedOnly"
            else el(
                "t:CalendarEventArray",
                children=[_event(e, zone, view.startswith("Detailed")) for e in events],
            ),
            el(
                "t:WorkingHours",
                children=[
                    timezone_element(rules),
                    el(
                        "t:WorkingPeriodArray",
                        children=[
                            el(
                                "t:WorkingPeriod",
                                children=[
                                    el("t:DayOfWeek", "Monday Tuesday Wednesday Thursday Friday"),
                                    el("t:StartTimeInMinutes", 480),
                                    el("t:EndTimeInMinutes", 1020),
                                ],
                            )
                        ],
                    ),
                ],
            ),
        ],
    )


def _options(request: Element, zone: RulesZone) -> tuple[tuple[datetime, datetime], str, int]:
    options = find(request, "t:FreeBusyViewOptions")
    window = (
        parse_datetime(text(options, "t:TimeWindow/t:StartTime"), zone),
        parse_datetime(text(options, "t:TimeWindow/t:EndTime"), zone),
    )
    if not timedelta(0) < window[1] - window[0] <= MAX_WINDOW:
        raise EwsError("ErrorInvalidTimeInterval", "The time window must be 1 to 62 days long.")
    view = text(options, "t:RequestedView", "DetailedMerged")
    if view not in VIEWS:
        raise EwsError("ErrorInvalidRequest", f"Unknown RequestedView {view!r}.")
    return window, view, int(text(options, "t:MergedFreeBusyIntervalInMinutes", "30"))


def get_user_availability(call: Call, request: Element) -> Element:
    zone = parse_timezone(find(request, "t:TimeZone"))
    window, view, minutes = _options(request, zone)
    answers = []
    for data in find_all(request, "m:MailboxDataArray/t:MailboxData"):
        # Each answer is a plain m:ResponseMessage (no operation prefix) beside its view.
        try:
            calendar = _calendar_of(call, text(data, "t:Email/t:Address"))
            answers.append(
                el(
                    "m:FreeBusyResponse",
                    children=[success(""), _view(call, calendar, window, view, minutes, zone)],
                )
            )
        except EwsError as error:
            answers.append(
                el(
                    "m:FreeBusyResponse",
                    children=[
                        failure("", error),
                        el("m:FreeBusyView", children=[el("t:FreeBusyViewType", "None")]),
                    ],
                )
            )
    return el(
        "m:GetUserAvailabilityResponse", children=[el("m:FreeBusyResponseArray", children=answers)]
    )
