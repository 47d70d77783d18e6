"""Microsoft emulation: identity platform v2 (OpenID discovery, consent page, token endpoint)
and the Microsoft Graph v1.0 calendar API.

Paths mirror Microsoft's under one base URL. MSAL refuses an http authority, so clients reach
the identity paths on the https port (both ports answer; the OpenID configuration names
endpoints with the scheme and host it was fetched with):

  authority   BASE/<tenant>      (any tenant segment: common, organizations, a GUID, a domain)
  discovery   BASE/<tenant>/v2.0/.well-known/openid-configuration
  authorize   BASE/<tenant>/oauth2/v2.0/authorize     token   BASE/<tenant>/oauth2/v2.0/token
  Graph       BASE/graph/v1.0/...

This module registers both and serves Graph's routes; the identity platform lives in
`microsoft_identity.py`, Graph's JSON for calendars and events in `microsoft_events.py`.

Where Graph leaves room, the sandbox chooses (documented for the app's adapter):

- Access levels: `/me/calendars` carries Graph's own flags. `canShare` is true for the owner
  only, `canEdit` and `canViewPrivateItems` for owners and writers. A read share and a
  free/busy-only share look alike there; reading a free/busy-only calendar's events answers
  403 ErrorAccessDenied, which is how a client tells them apart.
- Delta sync keeps its state on the server, as Graph does: each round remembers what the window
  held, and the next round reports the difference (changed items in full, vanished ones as
  `@removed`, which covers deletions and moves out of the window). That state lives in memory
  only: after a restart, old links answer 410 SyncStateNotFound and clients sync afresh. The
  expire_sync_tokens fault invalidates it through the calendar's sync epoch.
- getSchedule resolves an address to the caller's own primary calendar, to a calendar shared
  with the caller under that address as its id, or to another Microsoft mailbox's primary
  calendar (organisation-wide free/busy).
- Time zones: clients may send Windows ids ("Pacific Standard Time") or IANA names, in
  `Prefer: outlook.timezone`, event start/end and getSchedule; times come back in the zone
  named as asked. A mailbox reports its own zones (mailboxSettings.timeZone,
  originalStartTimeZone, getSchedule working hours) as Windows ids, as Exchange Online does,
  unless set to IANA names (`PATCH /_sandbox/microsoft/mailboxes/<email>`). All-day events
  are floating: they read as midnight to midnight in whatever zone the client
  asks for with `Prefer: outlook.timezone` (UTC by default).
- Subscriptions notify every change of their calendar whatever `changeType` asked for, and
  accept http notification URLs (Graph insists on https).
- Every refresh answers a new refresh token; the old ones keep working (sandbox/grants.py).
- Calendars a mailbox creates have names unique in it, compared case-insensitively (409
  ErrorFolderExists, as Exchange Online answers); deleting one takes its events with it.
  Deleting the default calendar is refused (400 ErrorDeleteDistinguishedFolder), as is
  deleting one the mailbox does not own (403; Graph would remove a share from the list).
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from sandbox import invitations, recurrence, timezones
from sandbox.microsoft_events import (
    calendar_resource,
    event_fields,
    event_resource,
    expand_wanted,
    fail,
    graph_error,
    json_body,
    own_response,
    owner_of,
    parse_time,
    parse_when,
    patch_fields,
    prefer,
    show_as_of,
    view_zone,
    when,
    zone_names,
)
from sandbox.microsoft_identity import PROVIDER, display_name, register_identity, user_id
from sandbox.microsoft_subscriptions import push_format, register_subscriptions
from sandbox.server import Site, json_response
from sandbox.state import (
    Access,
    Calendar,
    Conflict,
    Event,
    Fault,
    Gone,
    Invalid,
    Mailbox,
    NotFound,
    SandboxError,
    State,
    role_at_least,
)

GRAPH = "/graph/v1.0"
GRAPH_SCOPE_PREFIX = "https://graph.microsoft.com/"
DEFAULT_SCOPES = [
    "openid",
    "profile",
    "offline_access",
    "User.Read",
    "MailboxSettings.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
]
PROFILE_SCOPES = frozenset({"user.read", "user.readwrite", "user.readbasic.all", "user.read.all"})
SETTINGS_SCOPES = frozenset({"mailboxsettings.read", "mailboxsettings.readwrite"})
READ_SCOPES = frozenset(
    {
        "calendars.read",
        "calendars.readbasic",
        "calendars.read.shared",
        "calendars.readwrite",
        "calendars.readwrite.shared",
    }
)
WRITE_SCOPES = frozenset({"calendars.readwrite", "calendars.readwrite.shared"})
PAGE_SIZE, MAX_PAGE_SIZE = 10, 1000
SCHEDULE_LIMIT = timedelta(days=62)
DELTA_ROUNDS_KEPT = 5000
# availabilityView digits, and which status wins when items overlap in one slot.
AVAILABILITY = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
PRECEDENCE = ("free", "workingElsewhere", "tentative", "busy", "oof")
PREFER_PAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def register(site: Site) -> None:
    site.default_scopes[PROVIDER] = list(DEFAULT_SCOPES)
    site.notifier.formats[PROVIDER] = push_format
    register_identity(site)
    _register_graph(site)
    site.route(
        "/_sandbox/microsoft/mailboxes/<email>",
        ["PATCH"],
        lambda request, email: configure(site.state, request, email),
    )


def configure(state: State, request: Request, email: str) -> Response:
    """Control API: how a Microsoft mailbox reports time zones ("windows", the default, as
    Exchange Online mailboxes do, or "iana")."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    mailbox = state.mailbox(email)
    if mailbox.provider != PROVIDER:
        raise Invalid(f"{mailbox.email} is not a Microsoft mailbox")
    if "timezone_names" in body:
        if body["timezone_names"] not in timezones.KINDS:
            raise Invalid(f"timezone_names must be one of {', '.join(timezones.KINDS)}")
        mailbox.extra["timezone_names"] = body["timezone_names"]
    return json_response({"email": mailbox.email, "timezone_names": zone_names(mailbox)})


# --- errors and authentication -------------------------------------------------------------


def _short_scope(scope: str) -> str:
    if scope.lower().startswith(GRAPH_SCOPE_PREFIX):
        scope = scope[len(GRAPH_SCOPE_PREFIX) :]
    return scope.lower()


def _access_denied() -> NoReturn:
    fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


class Gate:
    """Bearer-token authentication for Graph calls needing one of `scopes`, plus Graph's
    rendering of faults and state errors."""

    provider = PROVIDER

    def __init__(self, state: State, scopes: frozenset[str]) -> None:
        self.state, self.scopes = state, scopes

    def authenticate(self, request: Request) -> Mailbox:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        found = self.state.authenticate(PROVIDER, token) if scheme.lower() == "bearer" else None
        if found is None:
            fail(
                401,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
                headers={"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
            )
        mailbox, grant = found
        if not {_short_scope(scope) for scope in grant.scopes} & self.scopes:
            _access_denied()
        return mailbox

    def fault_response(self, fault: Fault) -> Response:
        retry = {"Retry-After": str(fault.retry_after)}
        if fault.kind == "rate_limit":
            return graph_error(
                fault.status or 429,
                "TooManyRequests",
                "Application is over its MailboxConcurrency limit.",
                retry,
            )
        status = fault.status or 500
        if status == 503:  # Graph's "come back later" carries a delay, a plain 500 does not
            return graph_error(503, "ServiceUnavailable", "Service Unavailable", retry)
        return graph_error(status, "generalException", "An internal server error occurred.")

    def error_response(self, problem: SandboxError) -> Response:
        if isinstance(problem, NotFound | Gone):
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        if isinstance(problem, Conflict):
            return graph_error(409, "ErrorItemAlreadyExists", str(problem))
        return graph_error(400, "ErrorInvalidRequest", str(problem))


# --- Graph: lookups --------------------------------------------------------------------------


def _readable(state: State, mailbox: Mailbox, calendar_id: str) -> tuple[Calendar, Access]:
    """A calendar whose events the mailbox may read: a free/busy-only share answers 403."""
    calendar, access = state.calendar_for(mailbox, calendar_id)
    if not role_at_least(access.role, "reader"):
        _access_denied()
    return calendar, access


def _writable(state: State, mailbox: Mailbox, calendar_id: str) -> Calendar:
    calendar, access = _readable(state, mailbox, calendar_id)
    if not role_at_least(access.role, "writer"):
        _access_denied()
    return calendar


def _locate(state: State, mailbox: Mailbox, event_id: str) -> tuple[Calendar, Access]:
    """The visible calendar holding an event (or the series of an occurrence id)."""
    series_id = event_id.rpartition("_")[0]
    for calendar, access in state.calendars_of(mailbox):
        if event_id in calendar.events or series_id in calendar.events:
            return calendar, access
    raise NotFound(f"event {event_id} not found")


def _live_event(
    state: State, mailbox: Mailbox, event_id: str, minimum: str
) -> tuple[Calendar, Event]:
    calendar, access = _locate(state, mailbox, event_id)
    if not role_at_least(access.role, minimum):
        _access_denied()
    event = state.find_event(calendar, event_id)
    if event.cancelled:
        raise NotFound(f"event {event_id} not found")
    return calendar, event


def _check_if_match(request: Request, event: Event) -> None:
    """A write carrying a stale `@odata.etag` in If-Match is refused as Exchange Online refuses
    a stale change key: 412 ErrorIrresolvableConflict (as reported in
    https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/1201)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    if "*" not in tags and str(event.changed) not in tags:
        fail(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed "
            "in the request does not match the current change key for the item.",
        )


@contextmanager
def _recurrence_checked() -> Iterator[None]:
    """A recurrence dateutil cannot expand (say BYMONTHDAY=40) is the client's error."""
    try:
        yield
    except recurrence.RecurrenceError as exc:
        fail(400, "ErrorInvalidRequest", str(exc))


def _by_transaction(state: State, mailbox: Mailbox, transaction_id: str) -> Event | None:
    for calendar, _ in state.calendars_of(mailbox):
        for event in calendar.events.values():
            if not event.cancelled and event.extra.get("transactionId") == transaction_id:
                return event
    return None


def _page_size(request: Request) -> int:
    wanted = request.args.get("$top") or prefer(request, PREFER_PAGE) or PAGE_SIZE
    try:
        size = int(wanted)
    except ValueError:
        fail(400, "BadRequest", f"Invalid page size '{wanted}'.")
    return max(1, min(size, MAX_PAGE_SIZE))


def _link(request: Request, **params: str) -> str:
    return f"{request.base_url}?{urlencode(params)}"


def _paged(request: Request, items: list[dict[str, Any]]) -> Response:
    """One page of a collection; `$skip` in the nextLink carries the position."""
    try:
        skip = max(0, int(request.args.get("$skip", 0)))
    except ValueError:
        fail(400, "BadRequest", "Invalid $skip.")
    size = _page_size(request)
    body: dict[str, Any] = {"value": items[skip : skip + size]}
    if skip + size < len(items):
        body["@odata.nextLink"] = _link(
            request, **{**request.args.to_dict(), "$skip": str(skip + size)}
        )
    return json_response(body)


def _window(request: Request) -> tuple[datetime, datetime]:
    args = request.args
    if not (args.get("startDateTime") and args.get("endDateTime")):
        fail(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    window = (
        parse_time(args["startDateTime"], "startDateTime"),
        parse_time(args["endDateTime"], "endDateTime"),
    )
    if window[1] <= window[0]:
        fail(400, "ErrorInvalidParameter", "The end of the time window precedes its start.")
    return window


# --- Graph: profile, calendars, events -------------------------------------------------------


def _register_graph(site: Site) -> None:
    state = site.state
    gates = {
        "profile": Gate(state, PROFILE_SCOPES),
        "settings": Gate(state, SETTINGS_SCOPES),
        "read": Gate(state, READ_SCOPES),
        "write": Gate(state, WRITE_SCOPES),
    }

    def me(request: Request, mailbox: Mailbox) -> Response:
        return json_response(
            {
                "id": user_id(mailbox.email),
                "displayName": display_name(mailbox.email),
                "mail": mailbox.email,
                "userPrincipalName": mailbox.email,
                "preferredLanguage": "en-US",
                "businessPhones": [],
                "jobTitle": None,
            }
        )

    def mailbox_settings(request: Request, mailbox: Mailbox) -> Response:
        return json_response(
            {
                "timeZone": timezones.named(mailbox.timezone, zone_names(mailbox)),
                "dateFormat": "yyyy-MM-dd",
                "timeFormat": "HH:mm",
                "language": {"locale": "en-US"},
            }
        )

    def calendars(request: Request, mailbox: Mailbox) -> Response:
        return _paged(
            request,
            [
                calendar_resource(calendar, access)
                for calendar, access in state.calendars_of(mailbox)
            ],
        )

    def calendar(request: Request, mailbox: Mailbox, calendar_id: str = "primary") -> Response:
        return json_response(calendar_resource(*state.calendar_for(mailbox, calendar_id)))

    for path, methods, gate, view in [
        ("/me", ["GET"], "profile", me),
        ("/me/mailboxSettings", ["GET"], "settings", mailbox_settings),
        ("/me/calendars", ["GET"], "read", calendars),
        ("/me/calendars/<calendar_id>", ["GET"], "read", calendar),
        ("/me/calendar", ["GET"], "read", calendar),
    ]:
        site.api_route(GRAPH + path, methods, gates[gate], view)
    _register_calendar_writes(site, gates)
    _register_events(site, gates)
    _register_views(site, gates)
    _register_schedule(site, gates)
    register_subscriptions(site, gates["read"], _readable)


def _register_calendar_writes(site: Site, gates: dict[str, Gate]) -> None:
    state = site.state

    def create(request: Request, mailbox: Mailbox) -> Response:
        name = str(json_body(request).get("name") or "").strip()
        if not name:
            fail(400, "ErrorInvalidParameter", "The calendar needs a name.")
        # Exchange Online keeps folder names unique in a mailbox.
        if state.owned_calendar(mailbox, name) is not None:
            fail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        calendar = state.add_calendar(mailbox.email, name=name, access="owner")
        return json_response(calendar_resource(*state.calendar_for(mailbox, calendar.id)), 201)

    def delete(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, access = state.calendar_for(mailbox, calendar_id)
        if access.primary:
            fail(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
        if access.role != "owner":
            _access_denied()
        state.delete_calendar(calendar.id)
        return Response(status=204)

    site.api_route(GRAPH + "/me/calendars", ["POST"], gates["write"], create)
    site.api_route(GRAPH + "/me/calendars/<calendar_id>", ["DELETE"], gates["write"], delete)


def _register_events(site: Site, gates: dict[str, Gate]) -> None:
    state = site.state

    def list_events(request: Request, mailbox: Mailbox, calendar_id: str = "primary") -> Response:
        calendar, _ = _readable(state, mailbox, calendar_id)
        zone, expand = view_zone(request), expand_wanted(request)
        stored = sorted(
            (e for e in calendar.events.values() if not e.cancelled and not e.recurring_event_id),
            key=lambda e: e.span()[0],
        )
        return _paged(
            request,
            [event_resource(e, calendar, zone, expand, zone_names(mailbox)) for e in stored],
        )

    def create(request: Request, mailbox: Mailbox, calendar_id: str = "primary") -> Response:
        calendar, body = _writable(state, mailbox, calendar_id), json_body(request)
        transaction = str(body.get("transactionId") or "")
        # A retried POST with the same transactionId gets the event the first one made.
        event = _by_transaction(state, mailbox, transaction) if transaction else None
        if event is None:
            extra = {key: body[key] for key in ("transactionId", "recurrence") if body.get(key)}
            with _recurrence_checked():
                event = state.create_event(
                    calendar,
                    Event(id="", calendar_id=calendar.id, extra=extra, **event_fields(body)),
                )
            state.record_write(PROVIDER, mailbox, "create", None, event, body, "all")
        else:
            calendar = state.data.calendars[event.calendar_id]
        return json_response(
            event_resource(
                event, calendar, view_zone(request), expand_wanted(request), zone_names(mailbox)
            ),
            201,
        )

    def get(request: Request, mailbox: Mailbox, event_id: str) -> Response:
        calendar, event = _live_event(state, mailbox, event_id, "reader")
        return json_response(
            event_resource(
                event, calendar, view_zone(request), expand_wanted(request), zone_names(mailbox)
            )
        )

    def update(request: Request, mailbox: Mailbox, event_id: str) -> Response:
        calendar, event = _live_event(state, mailbox, event_id, "writer")
        _check_if_match(request, event)
        body = json_body(request)
        with _recurrence_checked():
            before, after = state.update_event(
                calendar, event_id, patch_fields(event, calendar, body)
            )
        state.record_write(PROVIDER, mailbox, "update", before, after, body, "all")
        return json_response(
            event_resource(
                after, calendar, view_zone(request), expand_wanted(request), zone_names(mailbox)
            )
        )

    def delete(request: Request, mailbox: Mailbox, event_id: str) -> Response:
        calendar, event = _live_event(state, mailbox, event_id, "writer")
        _check_if_match(request, event)
        tombstone = state.delete_event(calendar, event_id)
        # Deleting a meeting from the organizer's calendar cancels it for the attendees.
        state.record_write(PROVIDER, mailbox, "delete", event, tombstone, {}, "all")
        return Response(status=204)

    for prefix in ("/me/calendars/<calendar_id>", "/me/calendar"):
        site.api_route(GRAPH + prefix + "/events", ["GET"], gates["read"], list_events)
        site.api_route(GRAPH + prefix + "/events", ["POST"], gates["write"], create)
    site.api_route(GRAPH + "/me/events", ["GET"], gates["read"], list_events)
    site.api_route(GRAPH + "/me/events", ["POST"], gates["write"], create)
    site.api_route(GRAPH + "/me/events/<event_id>", ["GET"], gates["read"], get)
    site.api_route(GRAPH + "/me/events/<event_id>", ["PATCH"], gates["write"], update)
    site.api_route(GRAPH + "/me/events/<event_id>", ["DELETE"], gates["write"], delete)
    for action, response in ANSWERS.items():
        site.api_route(
            GRAPH + f"/me/events/<event_id>/{action}",
            ["POST"],
            gates["write"],
            lambda request, mailbox, event_id, action=action, response=response: _answer(
                state, request, mailbox, event_id, action, response
            ),
        )


# https://learn.microsoft.com/en-us/graph/api/event-accept (and event-decline,
# event-tentativelyaccept): the body may carry comment and sendResponse (default true);
# decline and tentativelyAccept also proposedNewTime. The answer is 202 Accepted.
ANSWERS = {"accept": "accepted", "tentativelyAccept": "tentative", "decline": "declined"}
ANSWER_PARAMETERS = {
    "accept": {"comment", "sendResponse"},
    "tentativelyAccept": {"comment", "sendResponse", "proposedNewTime"},
    "decline": {"comment", "sendResponse", "proposedNewTime"},
}


def _answer(
    state: State, request: Request, mailbox: Mailbox, event_id: str, action: str, response: str
) -> Response:
    body = json_body(request) if request.content_length else {}
    for name in body:
        if name not in ANSWER_PARAMETERS[action]:
            fail(
                400,
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.{action}'.",
            )
    send = body.get("sendResponse", True)
    if not isinstance(send, bool):
        fail(400, "RequestBodyRead", "sendResponse must be a boolean.")
    calendar, event = _live_event(state, mailbox, event_id, "writer")
    if event.organizer.lower() == mailbox.email:
        fail(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. You can't respond to a meeting you organized.",
        )
    invitations.respond(state, mailbox, calendar, event.id, response, send=send)
    return Response(status=202)


# --- Graph: calendarView and its delta -------------------------------------------------------


@dataclass
class Round:
    """One delta round: the items it reports, and the window's contents it leaves the client
    with (event or occurrence id → change position of what was sent)."""

    email: str
    calendar_id: str
    window: tuple[datetime, datetime]
    epoch: int
    items: list[dict[str, Any]]
    contents: dict[str, int]


class Rounds:
    """Delta state kept on the server, as Graph keeps it; the oldest rounds are forgotten."""

    def __init__(self) -> None:
        self._rounds: OrderedDict[str, Round] = OrderedDict()

    def add(self, delta_round: Round) -> str:
        key = secrets.token_urlsafe(18)
        self._rounds[key] = delta_round
        while len(self._rounds) > DELTA_ROUNDS_KEPT:
            self._rounds.popitem(last=False)
        return key

    def find(self, key: str, mailbox: Mailbox, calendar: Calendar) -> Round:
        found = self._rounds.get(key)
        if (
            found is None
            or found.email != mailbox.email
            or found.calendar_id != calendar.id
            or found.epoch != calendar.sync_epoch
        ):
            fail(
                410,
                "SyncStateNotFound",
                "The sync state generation is not found. Please start a new sync.",
            )
        return found


def _contents(
    state: State, calendar: Calendar, window: tuple[datetime, datetime]
) -> dict[str, Event]:
    return {event.id: event for event in state.occurrences(calendar, window)}


def _first_round(
    state: State, mailbox: Mailbox, calendar: Calendar, window: tuple[datetime, datetime], zone: str
) -> Round:
    current = _contents(state, calendar, window)
    return Round(
        mailbox.email,
        calendar.id,
        window,
        calendar.sync_epoch,
        [event_resource(e, calendar, zone, names=zone_names(mailbox)) for e in current.values()],
        {event_id: e.changed for event_id, e in current.items()},
    )


def _next_round(state: State, previous: Round, calendar: Calendar, zone: str, names: str) -> Round:
    current = _contents(state, calendar, previous.window)
    changed = sorted(
        (e for event_id, e in current.items() if previous.contents.get(event_id) != e.changed),
        key=lambda e: e.changed,
    )
    removed = [
        {"id": event_id, "@removed": {"reason": "deleted"}}
        for event_id in previous.contents
        if event_id not in current
    ]
    return Round(
        previous.email,
        calendar.id,
        previous.window,
        calendar.sync_epoch,
        [event_resource(e, calendar, zone, names=names) for e in changed] + removed,
        {event_id: e.changed for event_id, e in current.items()},
    )


# Change tracking over a calendar view takes startDateTime/endDateTime and the
# odata.maxpagesize preference only (https://learn.microsoft.com/en-us/graph/delta-query-events).
DELTA_UNSUPPORTED = ("$select", "$filter", "$orderby", "$expand", "$search", "$top", "$skip")


def _check_delta_query(request: Request) -> None:
    used = [name for name in DELTA_UNSUPPORTED if name in request.args]
    if used:
        fail(
            400,
            "ErrorInvalidUrlQuery",
            "The following parameters are not supported with change tracking over the "
            f"'CalendarView' resource: '{', '.join(used)}'.",
        )


def _delta_page(request: Request, key: str, delta_round: Round, offset: int) -> Response:
    size = _page_size(request)
    body: dict[str, Any] = {"value": delta_round.items[offset : offset + size]}
    if offset + size < len(delta_round.items):
        body["@odata.nextLink"] = _link(request, **{"$skiptoken": f"{key}.{offset + size}"})
    else:
        body["@odata.deltaLink"] = _link(request, **{"$deltatoken": key})
    return json_response(body, headers={"Preference-Applied": f"odata.maxpagesize={size}"})


def _register_views(site: Site, gates: dict[str, Gate]) -> None:
    state = site.state
    rounds = Rounds()

    def calendar_view(request: Request, mailbox: Mailbox, calendar_id: str = "primary") -> Response:
        calendar, _ = _readable(state, mailbox, calendar_id)
        zone, expand = view_zone(request), expand_wanted(request)
        found = state.occurrences(calendar, _window(request))
        names = zone_names(mailbox)
        return _paged(request, [event_resource(e, calendar, zone, expand, names) for e in found])

    def delta(request: Request, mailbox: Mailbox, calendar_id: str = "primary") -> Response:
        calendar, _ = _readable(state, mailbox, calendar_id)
        args, zone = request.args, view_zone(request)
        if "$skiptoken" in args:
            key, _, offset = args["$skiptoken"].rpartition(".")
            delta_round = rounds.find(key, mailbox, calendar)
            return _delta_page(request, key, delta_round, int(offset) if offset.isdigit() else 0)
        if "$deltatoken" in args:
            previous = rounds.find(args["$deltatoken"], mailbox, calendar)
            delta_round = _next_round(state, previous, calendar, zone, zone_names(mailbox))
        else:
            _check_delta_query(request)
            delta_round = _first_round(state, mailbox, calendar, _window(request), zone)
        return _delta_page(request, rounds.add(delta_round), delta_round, 0)

    for prefix in ("/me/calendars/<calendar_id>", "/me/calendar", "/me"):
        site.api_route(GRAPH + prefix + "/calendarView", ["GET"], gates["read"], calendar_view)
        site.api_route(GRAPH + prefix + "/calendarView/delta", ["GET"], gates["read"], delta)


# --- Graph: getSchedule ----------------------------------------------------------------------


def _schedule_calendar(state: State, mailbox: Mailbox, address: str) -> Calendar | None:
    """Whose free/busy an address stands for (see the module docstring)."""
    address = address.strip().lower()
    if address == mailbox.email:
        return state.calendar_for(mailbox, "primary")[0]
    if address in mailbox.calendars and not mailbox.calendars[address].lost:
        return state.data.calendars[address]
    other = state.data.mailboxes.get(address)
    if other is not None and other.provider == PROVIDER:
        return state.data.calendars[other.primary_calendar_id]
    return None


def _schedule_status(event: Event, owner: str) -> str | None:
    """The free/busy status an event shows, or None when it leaves the time free."""
    status = show_as_of(event)
    if status == "free" or event.extra.get("isCancelled"):
        return None
    if own_response(event, owner) == "declined":
        return None
    return status if status in AVAILABILITY else "busy"


def _availability_view(
    items: list[tuple[Event, str]], window: tuple[datetime, datetime], interval: timedelta
) -> str:
    view, slot = [], window[0]
    while slot < window[1]:
        statuses = [
            status
            for event, status in items
            if event.span()[0] < slot + interval and event.span()[1] > slot
        ]
        top = max(statuses, key=PRECEDENCE.index, default="free")
        view.append(AVAILABILITY[top])
        slot += interval
    return "".join(view)


def _schedule(
    state: State,
    mailbox: Mailbox,
    address: str,
    window: tuple[datetime, datetime],
    interval: timedelta,
    zone: str,
) -> dict[str, Any]:
    calendar = _schedule_calendar(state, mailbox, address)
    if calendar is None:
        return {
            "scheduleId": address,
            "availabilityView": "",
            "scheduleItems": [],
            "error": {
                "message": f"The user {address} was not found.",
                "responseCode": "ErrorMailRecipientNotFound",
            },
        }
    owner = owner_of(calendar)
    found = [
        (e, s)
        for e in state.occurrences(calendar, window)
        if (s := _schedule_status(e, owner)) is not None
    ]
    return {
        "scheduleId": address,
        "availabilityView": _availability_view(found, window, interval),
        "scheduleItems": [
            {
                "isPrivate": False,
                "status": status,
                "subject": e.summary,
                "location": e.location,
                "start": when(e.span()[0], zone),
                "end": when(e.span()[1], zone),
            }
            for e, status in found
        ],
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            # The schedule owner's working hours, in their zone as their mailbox names it.
            "timeZone": {"name": _owner_zone_name(state, calendar)},
        },
    }


def _owner_zone_name(state: State, calendar: Calendar) -> str:
    owner = state.data.mailboxes.get(owner_of(calendar).lower())
    if owner is None:
        return timezones.to_windows(calendar.timezone)
    return timezones.named(owner.timezone, zone_names(owner))


def _register_schedule(site: Site, gates: dict[str, Gate]) -> None:
    state = site.state

    def get_schedule(request: Request, mailbox: Mailbox) -> Response:
        body = json_body(request)
        schedules = body.get("schedules")
        if not isinstance(schedules, list) or not schedules:
            fail(400, "ErrorInvalidParameter", "schedules must list at least one address.")
        window = (
            parse_when(body.get("startTime"), "startTime")[0],
            parse_when(body.get("endTime"), "endTime")[0],
        )
        if window[1] <= window[0]:
            fail(400, "ErrorInvalidParameter", "The end time precedes the start time.")
        if window[1] - window[0] > SCHEDULE_LIMIT:
            fail(
                400,
                "ErrorInvalidParameter",
                "The requested time duration exceeds the maximum of 62 days.",
            )
        minutes = body.get("availabilityViewInterval") or 30
        if not isinstance(minutes, int) or not 5 <= minutes <= 1440:
            fail(
                400,
                "ErrorInvalidParameter",
                "availabilityViewInterval must be between 5 and 1440 minutes.",
            )
        zone, interval = view_zone(request), timedelta(minutes=minutes)
        return json_response(
            {
                "value": [
                    _schedule(state, mailbox, str(address), window, interval, zone)
                    for address in schedules
                ]
            }
        )

    site.api_route(GRAPH + "/me/calendar/getSchedule", ["POST"], gates["read"], get_schedule)
