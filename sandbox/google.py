"""Google emulation: OAuth 2.0 (consent page, token, revoke) and Calendar API v3.

Paths mirror Google's, under one base URL:
  auth_uri  BASE/o/oauth2/auth (also /o/oauth2/v2/auth)     token_uri  BASE/token
  revoke    BASE/revoke                                     API        BASE/calendar/v3/...
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from werkzeug.exceptions import abort
from werkzeug.wrappers import Request, Response

from sandbox import grants, invitations
from sandbox.push import Push
from sandbox.recurrence import FAR_FUTURE
from sandbox.server import Site, json_response
from sandbox.state import (
    ROLES,
    Attendee,
    Calendar,
    Change,
    Channel,
    Conflict,
    Event,
    Fault,
    Gone,
    Invalid,
    Mailbox,
    NotFound,
    OAuthError,
    SandboxError,
    State,
    check_timezone,
    decode_token,
    encode_token,
    new_id,
    now,
    parse_moment,
    role_at_least,
)

PROVIDER = "google"
UID_SUFFIX = "@google.com"
API = "/calendar/v3"
SCOPE = "https://www.googleapis.com/auth/calendar"
WRITE_SCOPES = (SCOPE, SCOPE + ".events")
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
CHANNEL_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)
SYNC_EXCLUSIVE = (
    "timeMin",
    "timeMax",
    "orderBy",
    "q",
    "updatedMin",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)
CHANNEL_LIFETIME = timedelta(days=7)


def register(site: Site) -> None:
    site.default_scopes[PROVIDER] = [SCOPE]
    site.notifier.formats[PROVIDER] = push_format
    _register_oauth(site)
    _register_calendar(site)


# --- errors ----------------------------------------------------------------------------------


def error(
    code: int,
    reason: str,
    message: str,
    domain: str = "global",
    headers: dict[str, str] | None = None,
) -> Response:
    """Google's JSON error shape."""
    return json_response(
        {
            "error": {
                "code": code,
                "message": message,
                "status": STATUS_NAMES.get(code, "UNKNOWN"),
                "errors": [{"domain": domain, "reason": reason, "message": message}],
            }
        },
        code,
        headers,
    )


def fail(code: int, reason: str, message: str, **options: Any) -> NoReturn:
    abort(error(code, reason, message, **options))


def _insufficient_scopes(writes: bool) -> Response:
    """A token without a calendar scope (the user unticked it, say): Google APIs answer 403
    PERMISSION_DENIED with reason insufficientPermissions and an ErrorInfo detail
    ACCESS_TOKEN_SCOPE_INSUFFICIENT (https://google.aip.dev/193), and say in WWW-Authenticate
    which scopes would do (RFC 6750 insufficient_scope)."""
    message = "Request had insufficient authentication scopes."
    body = {
        "error": {
            "code": 403,
            "message": message,
            "status": "PERMISSION_DENIED",
            "errors": [
                {"domain": "global", "reason": "insufficientPermissions", "message": message}
            ],
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": "calendar-json.googleapis.com"},
                }
            ],
        }
    }
    scopes = " ".join(WRITE_SCOPES if writes else (*WRITE_SCOPES, SCOPE + ".readonly"))
    challenge = (
        f'Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{scopes}"'
    )
    return json_response(body, 403, {"WWW-Authenticate": challenge})


class Gate:
    """Bearer-token authentication for Calendar API calls, plus Google's fault rendering."""

    provider = PROVIDER

    def __init__(self, state: State, writes: bool) -> None:
        self.state, self.writes = state, writes

    def authenticate(self, request: Request) -> Mailbox:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        found = self.state.authenticate(PROVIDER, token) if scheme.lower() == "bearer" else None
        if found is None:
            fail(
                401,
                "authError",
                "Invalid Credentials",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        mailbox, grant = found
        if self.writes:
            allowed = any(scope in WRITE_SCOPES for scope in grant.scopes)
        else:  # any calendar scope reads: calendar.readonly, calendar.freebusy, ...
            allowed = any(scope.startswith(SCOPE) for scope in grant.scopes)
        if not allowed:
            abort(_insufficient_scopes(self.writes))
        return mailbox

    def fault_response(self, fault: Fault) -> Response:
        headers = {"Retry-After": str(fault.retry_after)}
        if fault.kind == "rate_limit":
            status = fault.status or 403
            domain = "usageLimits" if status == 403 else "global"
            return error(status, "rateLimitExceeded", "Rate Limit Exceeded", domain, headers)
        return error(fault.status or 500, "backendError", "Backend Error", headers=headers)

    def error_response(self, problem: SandboxError) -> Response:
        if isinstance(problem, NotFound):
            return error(404, "notFound", "Not Found")
        if isinstance(problem, Conflict):
            return error(409, "duplicate", str(problem))
        if isinstance(problem, Gone):
            return error(410, "deleted", "Resource has been deleted")
        return error(400, "invalid", str(problem))


# --- OAuth -----------------------------------------------------------------------------------

AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "access_type",
    "prompt",
    "login_hint",
)

CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (sandbox)</title>
</head><body>
<h1>Sandbox Google sign-in</h1>
<p><strong>{client_id}</strong> wants to access your Google Account.</p>
<form method="post">{hidden}
<label for="email">Account</label>
<select id="email" name="email">{options}</select>
<p>This will allow the app to:</p><ul>{scopes}</ul>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def _auth_request(params: dict[str, str]) -> dict[str, str]:
    """The authorization request's parameters, or a 400 page naming what is wrong."""
    for name in ("client_id", "redirect_uri", "scope"):
        if not params.get(name):
            abort(_error_page(f"Missing required parameter: {name}"))
    if params.get("response_type") != "code":
        abort(_error_page("Only response_type=code is supported"))
    if params.get("code_challenge_method", "S256") not in ("S256", "plain"):
        abort(_error_page("Unsupported code_challenge_method"))
    return {name: params.get(name, "") for name in AUTH_PARAMS}


def _error_page(message: str) -> Response:
    body = (
        f"<!doctype html><title>Error 400</title><h1>Error 400: invalid_request</h1>"
        f"<p>{html.escape(message)}</p>"
    )
    return Response(body, 400, content_type="text/html; charset=utf-8")


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def _redirect(uri: str, params: dict[str, str]) -> Response:
    return Response(status=302, headers={"Location": _with_query(uri, params)})


def _granular(requested: list[str]) -> bool:
    """Google lets the user pick scopes when more than one non-sign-in scope is requested
    (https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions);
    sign-in scopes (openid, email, profile) come with the sign-in itself."""
    return len([s for s in requested if s not in grants.GOOGLE_SIGN_IN_SCOPES]) > 1


def _scope_item(scope: str, requested: list[str]) -> str:
    if not _granular(requested) or scope in grants.GOOGLE_SIGN_IN_SCOPES:
        return f"<li>{html.escape(scope)}</li>"
    return (
        f'<li><label><input type="checkbox" name="grant" value="{html.escape(scope)}" checked>'
        f" {html.escape(scope)}</label></li>"
    )


def _granted(requested: list[str], ticked: list[str]) -> list[str]:
    """The scopes a consent grants: all asked for, or the ticked ones where the user chose."""
    if not _granular(requested):
        return requested
    return [s for s in requested if s in grants.GOOGLE_SIGN_IN_SCOPES or s in ticked]


def _register_oauth(site: Site) -> None:
    state = site.state

    def consent(request: Request) -> Response:
        params = _auth_request(request.args)
        mailboxes = [m.email for m in state.data.mailboxes.values() if m.provider == PROVIDER]
        hint = params["login_hint"].lower()
        options = "".join(
            f'<option value="{html.escape(email)}"{" selected" if email == hint else ""}>'
            f"{html.escape(email)}</option>"
            for email in mailboxes
        )
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in params.items()
            if value
        )
        scopes = "".join(
            _scope_item(scope, params["scope"].split()) for scope in params["scope"].split()
        )
        page = CONSENT_PAGE.format(
            client_id=html.escape(params["client_id"]),
            hidden=hidden,
            options=options or "<option>(no Google mailbox)</option>",
            scopes=scopes,
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def decide(request: Request) -> Response:
        params = _auth_request(request.form)
        reply = {"state": params["state"]} if params["state"] else {}
        if request.form.get("decision") != "allow":
            return _redirect(params["redirect_uri"], {"error": "access_denied", **reply})
        mailbox = state.mailbox(request.form.get("email", ""))
        if mailbox.provider != PROVIDER:
            abort(_error_page(f"{mailbox.email} is not a Google mailbox"))
        granted = _granted(params["scope"].split(), request.form.getlist("grant"))
        code = state.issue_code(
            PROVIDER,
            mailbox.email,
            params["client_id"],
            params["redirect_uri"],
            granted,
            params["code_challenge"],
            params["code_challenge_method"],
        )
        return _redirect(
            params["redirect_uri"], {"code": code.code, "scope": " ".join(granted), **reply}
        )

    for path in ("/o/oauth2/auth", "/o/oauth2/v2/auth"):
        site.route(path, ["GET"], consent)
        site.route(path, ["POST"], decide)
    site.route("/token", ["POST"], lambda request: _token(state, request))
    site.route(
        "/_sandbox/google/clients/<client_id>",
        ["PATCH"],
        lambda request, client_id: json_response(
            grants.set_client(state, client_id, request.get_json(silent=True) or {})
        ),
    )
    site.route("/revoke", ["POST"], lambda request: _revoke(state, request))


def _client_credentials(request: Request) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (the code exchange) or the form (a refresh)."""
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.username or "", request.authorization.password or ""
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _token(state: State, request: Request) -> Response:
    form = request.form
    client_id, client_secret = _client_credentials(request)
    try:
        if not client_id:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if form.get("grant_type") == "authorization_code":
            grant = state.redeem_code(
                PROVIDER,
                form.get("code", ""),
                client_id,
                client_secret,
                form.get("redirect_uri", ""),
                form.get("code_verifier", ""),
            )
        elif form.get("grant_type") == "refresh_token":
            grant = state.refresh_grant(
                PROVIDER, form.get("refresh_token", ""), client_id, client_secret
            )
            grants.google_refresh(state, grant)
        else:
            raise OAuthError("unsupported_grant_type", "Invalid grant_type.")
    except OAuthError as problem:
        return json_response(
            {"error": problem.error, "error_description": problem.description}, problem.status
        )
    access = state.issue_access_token(grant)
    answer = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": int((access.expires_at - now()).total_seconds()),
        "scope": " ".join(grant.scopes),
    }
    if form.get("grant_type") == "authorization_code":
        answer["refresh_token"] = grant.refresh_token  # Google sends it on the exchange only
    return json_response(answer)


def _revoke(state: State, request: Request) -> Response:
    token = request.values.get("token", "")
    if not state.revoke_token(token):
        return json_response({"error": "invalid_token", "error_description": "Bad Request"}, 400)
    return json_response({})


# --- representation --------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds, as Google writes created/updated."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _when(value: datetime | date, timezone: str) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"dateTime": value.astimezone(ZoneInfo(timezone)).isoformat(), "timeZone": timezone}
    return {"date": value.isoformat()}


def _person(email: str, mailbox: Mailbox) -> dict[str, Any]:
    return {"email": email, **({"self": True} if email == mailbox.email else {})}


def _attendee_resource(attendee: Attendee, event: Event, mailbox: Mailbox) -> dict[str, Any]:
    resource = {"email": attendee.email, "responseStatus": attendee.response}
    optional = {
        "displayName": attendee.name,
        "optional": attendee.optional,
        "organizer": attendee.email == event.organizer,
        "self": attendee.email == mailbox.email,
    }
    return resource | {key: value for key, value in optional.items() if value}


def event_resource(event: Event, mailbox: Mailbox) -> dict[str, Any]:
    """The events#resource Google would return for `event`, seen by `mailbox`."""
    resource: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": etag(event),
        "id": event.id,
        "status": event.status,
        "created": rfc3339(event.created),
        "updated": rfc3339(event.updated),
        "summary": event.summary,
        "creator": _person(event.organizer, mailbox),
        "organizer": _person(event.organizer, mailbox),
        "start": _when(event.start, event.timezone),
        "end": _when(event.end, event.timezone),
        "iCalUID": event.ical_uid(UID_SUFFIX),
        "sequence": event.sequence,
        "eventType": event.event_type,
        "reminders": {"useDefault": True},
    }
    optional = {
        "description": event.description,
        "location": event.location,
        "recurrence": event.recurrence,
        "recurringEventId": event.recurring_event_id,
        "originalStartTime": event.original_start and _when(event.original_start, event.timezone),
        # Google leaves transparency out for opaque (busy) events.
        "transparency": "transparent" if event.show_as in ("free", "workingElsewhere") else "",
        "attendees": [_attendee_resource(a, event, mailbox) for a in event.attendees],
        "extendedProperties": event.private_properties and {"private": event.private_properties},
    }
    return resource | {key: value for key, value in optional.items() if value}


def _tombstone(event: Event) -> dict[str, Any]:
    """How a list or sync reports a deleted event: little more than its id."""
    resource = {
        "kind": "calendar#event",
        "etag": etag(event),
        "id": event.id,
        "status": "cancelled",
    }
    if event.recurring_event_id:
        resource["recurringEventId"] = event.recurring_event_id
        resource["originalStartTime"] = _when(event.original_start, event.timezone)
    return resource


def _moment(body: dict[str, Any], name: str) -> tuple[datetime | date, str]:
    """A start/end object: {"date"} or {"dateTime", "timeZone"}; returns (value, zone)."""
    value = body.get(name)
    if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
        raise Invalid(f"Missing {name} time.")
    zone = value.get("timeZone", "")
    if value.get("date"):
        parsed = parse_moment(value["date"])
        if isinstance(parsed, datetime):
            raise Invalid(f"Invalid {name} date.")
        return parsed, zone
    try:
        moment = datetime.fromisoformat(value["dateTime"])
    except (TypeError, ValueError):
        raise Invalid(f"Invalid {name} time.") from None
    if moment.tzinfo is None:
        if not zone:
            raise Invalid(f"Missing time zone definition for {name} time.")
        moment = moment.replace(tzinfo=ZoneInfo(check_timezone(zone)))
    return moment, zone


def _attendees(body: dict[str, Any]) -> list[Attendee]:
    found = []
    for item in body.get("attendees") or []:
        if not isinstance(item, dict) or "@" not in str(item.get("email", "")):
            raise Invalid("Invalid attendee email.")
        found.append(
            Attendee(
                item["email"].lower(),
                item.get("displayName", ""),
                item.get("responseStatus", "needsAction"),
                bool(item.get("optional")),
            )
        )
    return found


def event_fields(body: dict[str, Any], calendar: Calendar) -> dict[str, Any]:
    """Neutral event fields from an events#resource sent by a client."""
    start, zone = _moment(body, "start")
    end, _ = _moment(body, "end")
    if body.get("recurrence") and isinstance(start, datetime) and not zone:
        raise Invalid("Missing time zone definition for start time.")
    private = (body.get("extendedProperties") or {}).get("private") or {}
    return {
        "start": start,
        "end": end,
        "timezone": zone or calendar.timezone,
        "summary": body.get("summary", ""),
        "description": body.get("description", ""),
        "location": body.get("location", ""),
        "status": body.get("status", "confirmed"),
        "show_as": "free" if body.get("transparency") == "transparent" else "busy",
        "event_type": body.get("eventType", "default"),
        "attendees": _attendees(body),
        "recurrence": list(body.get("recurrence") or []),
        "private_properties": {str(k): str(v) for k, v in private.items()},
    }


def _merge(resource: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Patch semantics: given fields replace, extendedProperties maps merge key by key."""
    merged = resource | patch
    if "extendedProperties" in patch:
        old, new = resource.get("extendedProperties", {}), patch["extendedProperties"] or {}
        merged["extendedProperties"] = {
            kind: {**old.get(kind, {}), **(new.get(kind) or {})} for kind in ("private", "shared")
        }
    return merged


# --- Calendar API ----------------------------------------------------------------------------


def _json_body(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "parseError", "Parse Error")
    return body


def _flag(request: Request, name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def _max_results(request: Request, default: int, ceiling: int) -> int:
    try:
        wanted = int(request.args.get("maxResults", default))
    except ValueError:
        raise Invalid("Invalid value for maxResults") from None
    if wanted < 1:
        raise Invalid("Invalid value for maxResults")
    return min(wanted, ceiling)


def _time(text: Any, name: str) -> datetime:
    moment = parse_moment(text) if isinstance(text, str) else None
    if not isinstance(moment, datetime):
        raise Invalid(f"Bad Request: {name} must be an RFC 3339 timestamp with offset")
    return moment


def _readable(state: State, mailbox: Mailbox, calendar_id: str) -> tuple[Calendar, str]:
    """A calendar whose events the mailbox may read: free/busy-only sharing answers 404."""
    calendar, access = state.calendar_for(mailbox, calendar_id)
    if not role_at_least(access.role, "reader"):
        raise NotFound(calendar_id)
    return calendar, access.role


def _writable(state: State, mailbox: Mailbox, calendar_id: str) -> Calendar:
    calendar, role = _readable(state, mailbox, calendar_id)
    if not role_at_least(role, "writer"):
        fail(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
    return calendar


def _send_updates(request: Request) -> str:
    legacy = "all" if request.args.get("sendNotifications") == "true" else "none"
    policies = {"all": "all", "externalOnly": "external", "none": "none"}
    value = request.args.get("sendUpdates") or legacy
    if value not in policies:
        raise Invalid("Invalid value for sendUpdates")
    return policies[value]


def calendar_entry(calendar: Calendar, role: str, primary: bool) -> dict[str, Any]:
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{calendar.sync_epoch}"',
        "id": calendar.id,
        "summary": calendar.name,
        "timeZone": calendar.timezone,
        "accessRole": role,
        "defaultReminders": [],
    }
    return entry | ({"primary": True} if primary else {})


def calendar_resource(calendar: Calendar) -> dict[str, Any]:
    return {
        "kind": "calendar#calendar",
        "etag": f'"{calendar.sync_epoch}"',
        "id": calendar.id,
        "summary": calendar.name,
        "timeZone": calendar.timezone,
    }


def push_format(channel: Channel, number: int, change: Change | None) -> Push:
    """A Google notification: empty body, everything in X-Goog-* headers."""
    label = "sync" if change is None else "exists"
    headers = {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Message-Number": str(number),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-State": label,
        "X-Goog-Resource-URI": channel.resource_uri,
    }
    if channel.token:
        headers["X-Goog-Channel-Token"] = channel.token
    if channel.expiration:
        headers["X-Goog-Channel-Expiration"] = format_datetime(channel.expiration, usegmt=True)
    return Push(label, headers)


def _register_calendar(site: Site) -> None:
    state = site.state
    read, write = Gate(state, writes=False), Gate(state, writes=True)

    def calendar_list(request: Request, mailbox: Mailbox) -> Response:
        minimum = request.args.get("minAccessRole", "freeBusyReader")
        if minimum not in ROLES:
            raise Invalid("Invalid value for minAccessRole")
        entries = [
            calendar_entry(calendar, access.role, access.primary)
            for calendar, access in state.calendars_of(mailbox)
            if role_at_least(access.role, minimum)
        ]
        size = _max_results(request, 100, 250)
        offset = decode_token(request.args["pageToken"])["o"] if "pageToken" in request.args else 0
        body = {
            "kind": "calendar#calendarList",
            "etag": f'"{state.data.seq}"',
            "items": entries[offset : offset + size],
        }
        if offset + size < len(entries):
            body["nextPageToken"] = encode_token({"o": offset + size})
        return json_response(body)

    def calendar_list_entry(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, access = state.calendar_for(mailbox, calendar_id)
        return json_response(calendar_entry(calendar, access.role, access.primary))

    def get_calendar(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        return json_response(calendar_resource(state.calendar_for(mailbox, calendar_id)[0]))

    def insert_calendar(request: Request, mailbox: Mailbox) -> Response:
        body = _json_body(request)
        if not body.get("summary"):
            fail(400, "required", "Missing title.")
        calendar = state.add_calendar(
            mailbox.email,
            name=body["summary"],
            access="owner",
            id=f"{new_id()}@group.calendar.google.com",
            timezone=body.get("timeZone", ""),
        )
        return json_response(calendar_resource(calendar))

    def delete_calendar(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, access = state.calendar_for(mailbox, calendar_id)
        if access.primary:
            fail(403, "cannotDeletePrimaryCalendar", "Cannot delete primary calendar.")
        if access.role != "owner":
            fail(403, "requiredAccessLevel", "You need to have owner access to this calendar.")
        state.delete_calendar(calendar.id)
        return Response(status=204)

    for path, methods, gate, view in [
        ("/users/me/calendarList", ["GET"], read, calendar_list),
        ("/users/me/calendarList/<calendar_id>", ["GET"], read, calendar_list_entry),
        ("/calendars", ["POST"], write, insert_calendar),
        ("/calendars/<calendar_id>", ["GET"], read, get_calendar),
        ("/calendars/<calendar_id>", ["DELETE"], write, delete_calendar),
    ]:
        site.api_route(API + path, methods, gate, view)
    _register_events(site, read, write)
    _register_free_busy_and_push(site, read)


# --- events ----------------------------------------------------------------------------------


@dataclass
class Listing:
    """One events.list request, resumed from its page token when there is one."""

    single: bool
    show_deleted: bool
    window: tuple[datetime, datetime] | None
    order: str
    text: str
    private: dict[str, str]
    updated_min: datetime | None
    size: int
    sync_from: int | None  # change position of the sync token; None for a full listing
    snapshot: int  # changes after this position are left to the next sync
    after: tuple | None  # sort key of the last item of the previous page


def _listing(state: State, calendar: Calendar, request: Request) -> Listing:
    args = request.args
    page = decode_token(args["pageToken"]) if "pageToken" in args else {}
    sync_from = page.get("p")
    if "syncToken" in args:
        if used := [name for name in SYNC_EXCLUSIVE if name in args]:
            raise Invalid(f"syncToken cannot be combined with {', '.join(used)}")
        try:
            sync_from = state.sync_position(calendar, args["syncToken"])
        except Gone as problem:
            fail(410, "fullSyncRequired", str(problem))
    order = args.get("orderBy", "")
    if order not in ("", "startTime", "updated") or (
        order == "startTime" and not _flag(request, "singleEvents")
    ):
        raise Invalid("The requested ordering is not available for the particular query.")
    window = None
    if "timeMin" in args or "timeMax" in args:
        window = (
            _time(args["timeMin"], "timeMin") if "timeMin" in args else FAR_PAST,
            _time(args["timeMax"], "timeMax") if "timeMax" in args else FAR_FUTURE,
        )
    private = dict(item.partition("=")[::2] for item in args.getlist("privateExtendedProperty"))
    return Listing(
        _flag(request, "singleEvents"),
        _flag(request, "showDeleted") or sync_from is not None,
        window,
        order,
        args.get("q", "").lower(),
        private,
        _time(args["updatedMin"], "updatedMin") if "updatedMin" in args else None,
        _max_results(request, 250, 2500),
        sync_from,
        page.get("s", state.data.seq),
        tuple(page["k"]) if "k" in page else None,
    )


def _candidates(state: State, calendar: Calendar, listing: Listing) -> list[Event]:
    """The stored events or expanded instances the listing starts from."""
    stored = (
        state.changes_since(calendar, listing.sync_from)
        if listing.sync_from is not None
        else list(calendar.events.values())
    )
    if not listing.single:
        return [e for e in stored if _in_window(state, calendar, e, listing.window)]
    found: dict[str, Event] = {}
    for event in stored:
        if event.recurrence:
            found.update((i.id, i) for i in state.instances(calendar, event, listing.window))
        elif listing.sync_from is not None or not event.recurring_event_id:
            # A full listing gets exceptions through their series' instances.
            found[event.id] = event
    return [e for e in found.values() if listing.window is None or e.overlaps(listing.window)]


def _in_window(
    state: State, calendar: Calendar, event: Event, window: tuple[datetime, datetime] | None
) -> bool:
    if window is None:
        return True
    if event.recurrence:
        return bool(state.instances(calendar, event, window))
    return event.overlaps(window)


def _wanted(event: Event, listing: Listing) -> bool:
    if event.cancelled and not listing.show_deleted:
        return False
    if event.changed > listing.snapshot:
        return False
    if listing.updated_min and event.updated < listing.updated_min:
        return False
    if any(event.private_properties.get(k) != v for k, v in listing.private.items()):
        return False
    words = f"{event.summary} {event.description} {event.location}".lower()
    return listing.text in words


def _sort_key(event: Event, order: str) -> tuple:
    start = event.span()[0].astimezone(UTC).isoformat()
    if order == "startTime":
        return start, event.id
    if order == "updated":
        return event.updated.isoformat(), event.id
    return event.changed, start, event.id


def _events_page(
    state: State, calendar: Calendar, listing: Listing, mailbox: Mailbox, role: str
) -> dict[str, Any]:
    rows = sorted(
        (
            (_sort_key(e, listing.order), e)
            for e in _candidates(state, calendar, listing)
            if _wanted(e, listing)
        ),
        key=lambda row: row[0],
    )
    rows = [(key, e) for key, e in rows if listing.after is None or key > listing.after]
    page = rows[: listing.size]
    body = {
        "kind": "calendar#events",
        "etag": f'"{listing.snapshot}"',
        "summary": calendar.name,
        "updated": rfc3339(now()),
        "timeZone": calendar.timezone,
        "accessRole": role,
        "defaultReminders": [],
        "items": [_tombstone(e) if e.cancelled else event_resource(e, mailbox) for _, e in page],
    }
    if len(rows) > listing.size:
        body["nextPageToken"] = encode_token(
            {"s": listing.snapshot, "k": list(page[-1][0]), "p": listing.sync_from}
        )
    else:
        body["nextSyncToken"] = state.sync_token(calendar, listing.snapshot)
    return body


def etag(event: Event) -> str:
    """An event's etag: it changes with every change of the event (the global change number)."""
    return f'"{event.changed}"'


def _etag_listed(header: str | None, event: Event) -> bool:
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag(event) in tags


def _check_if_match(request: Request, event: Event) -> None:
    """Conditional modification: an update or delete with a stale If-Match etag answers 412
    (https://developers.google.com/calendar/api/guides/version-resources), in the error shape
    Google APIs give a failed precondition (reason conditionNotMet, location If-Match)."""
    header = request.headers.get("If-Match")
    if header is not None and not _etag_listed(header, event):
        abort(
            json_response(
                {
                    "error": {
                        "code": 412,
                        "message": "Precondition Failed",
                        "status": "FAILED_PRECONDITION",
                        "errors": [
                            {
                                "domain": "global",
                                "reason": "conditionNotMet",
                                "message": "Precondition Failed",
                                "locationType": "header",
                                "location": "If-Match",
                            }
                        ],
                    }
                },
                412,
            )
        )


def _stored(calendar: Calendar, event: Event) -> Event:
    """The stored event behind an instance (its series), or the event itself."""
    return (
        calendar.events.get(event.recurring_event_id, event) if event.recurring_event_id else event
    )


SHARED_FIELDS = ("summary", "description", "location", "start", "end", "recurrence")


def _guest_change(
    state: State, mailbox: Mailbox, calendar: Calendar, current: Event, body: dict[str, Any]
) -> Event:
    """A guest changes their copy of someone else's meeting: they may answer it (their own
    attendee entry's responseStatus, https://developers.google.com/calendar/api/v3/reference/
    events); its shared properties belong to the organizer (403 forbiddenForNonOrganizer, as
    for guests without guestsCanModify)."""
    shown = event_resource(current, mailbox)
    guests = {str(a.get("email", "")).lower() for a in body.get("attendees") or []}
    changed = [f for f in SHARED_FIELDS if f in body and body[f] != shown.get(f)]
    # With attendeesOmitted the guest sends its own entry only (events#resource); otherwise
    # the list is the event's whole guest list and must stay as it is.
    omitted = bool(body.get("attendeesOmitted"))
    if omitted and not guests <= {mailbox.email}:
        changed.append("attendees")
    if (
        not omitted
        and "attendees" in body
        and guests != {a.email.lower() for a in current.attendees}
    ):
        changed.append("attendees")
    if changed:
        fail(
            403,
            "forbiddenForNonOrganizer",
            "Shared properties can only be changed by the organizer of the event.",
        )
    own = next(
        (
            a
            for a in body.get("attendees") or []
            if str(a.get("email", "")).lower() == mailbox.email
        ),
        None,
    )
    response = own.get("responseStatus") if own else None
    if response is None or response == _own_response(current, mailbox):
        return current
    try:
        return invitations.respond(state, mailbox, calendar, current.id, response)
    except Invalid:
        fail(400, "invalid", f"Invalid attendee responseStatus {response!r}.")


def _own_response(event: Event, mailbox: Mailbox) -> str:
    own = next((a for a in event.attendees if a.email.lower() == mailbox.email), None)
    return own.response if own else ""


def _register_events(site: Site, read: Gate, write: Gate) -> None:
    state = site.state
    events = API + "/calendars/<calendar_id>/events"

    def list_events(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, role = _readable(state, mailbox, calendar_id)
        listing = _listing(state, calendar, request)
        return json_response(_events_page(state, calendar, listing, mailbox, role))

    def get_event(request: Request, mailbox: Mailbox, calendar_id: str, event_id: str) -> Response:
        calendar, _ = _readable(state, mailbox, calendar_id)
        event = state.find_event(calendar, event_id)
        if _etag_listed(request.headers.get("If-None-Match"), event):
            return Response(status=304, headers={"ETag": etag(event)})  # conditional retrieval
        return json_response(event_resource(event, mailbox))

    def insert_event(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, body = _writable(state, mailbox, calendar_id), _json_body(request)
        event_id = str(body.get("id", ""))
        if event_id and not EVENT_ID.fullmatch(event_id):
            fail(400, "invalid", "Invalid resource id value.")
        event = state.create_event(
            calendar, Event(id=event_id, calendar_id=calendar.id, **event_fields(body, calendar))
        )
        state.record_write(PROVIDER, mailbox, "create", None, event, body, _send_updates(request))
        return json_response(event_resource(event, mailbox))

    def change_event(
        request: Request, mailbox: Mailbox, calendar_id: str, event_id: str
    ) -> Response:
        calendar, body = _writable(state, mailbox, calendar_id), _json_body(request)
        current = state.find_event(calendar, event_id)
        _check_if_match(request, current)
        if not invitations.organizes(calendar, _stored(calendar, current)):
            after = _guest_change(state, mailbox, calendar, current, body)
            return json_response(event_resource(after, mailbox))
        if request.method == "PATCH":
            changes = event_fields(_merge(event_resource(current, mailbox), body), calendar)
            if "transparency" not in body:
                del changes["show_as"]  # keep a show-as Google cannot express (oof, ...)
        else:
            changes = event_fields(body, calendar)
        before, after = state.update_event(calendar, event_id, changes)
        state.record_write(PROVIDER, mailbox, "update", before, after, body, _send_updates(request))
        return json_response(event_resource(after, mailbox))

    def delete_event(
        request: Request, mailbox: Mailbox, calendar_id: str, event_id: str
    ) -> Response:
        calendar = _writable(state, mailbox, calendar_id)
        before = state.find_event(calendar, event_id)
        _check_if_match(request, before)
        tombstone = state.delete_event(calendar, event_id)
        state.record_write(
            PROVIDER, mailbox, "delete", before, tombstone, {}, _send_updates(request)
        )
        return Response(status=204)

    site.api_route(events, ["GET"], read, list_events)
    site.api_route(events, ["POST"], write, insert_event)
    site.api_route(events + "/<event_id>", ["GET"], read, get_event)
    site.api_route(events + "/<event_id>", ["PATCH", "PUT"], write, change_event)
    site.api_route(events + "/<event_id>", ["DELETE"], write, delete_event)


def _busy(
    state: State, mailbox: Mailbox, calendar_id: str, window: tuple[datetime, datetime]
) -> dict[str, Any]:
    """One calendar's busy blocks, clipped to the window and merged where they touch."""
    try:
        calendar, _ = state.calendar_for(mailbox, calendar_id)
    except NotFound:
        return {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    owner = calendar.owner or calendar.id
    spans = sorted(
        (max(e.span()[0], window[0]), min(e.span()[1], window[1]))
        for e in state.occurrences(calendar, window)
        if e.blocks_time_of(owner)
    )
    merged: list[list[datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "busy": [
            {
                "start": start.astimezone(UTC).strftime(stamp),
                "end": end.astimezone(UTC).strftime(stamp),
            }
            for start, end in merged
        ]
    }


def _expiration(body: dict[str, Any]) -> datetime:
    if not body.get("expiration"):
        return now() + CHANNEL_LIFETIME
    try:
        return datetime.fromtimestamp(int(body["expiration"]) / 1000, UTC)
    except (TypeError, ValueError):
        raise Invalid("Invalid expiration") from None


def _check_address(state: State, address: str) -> None:
    """Google delivers only to https addresses ("WebHook callback must be HTTPS", reason
    push.webhookUrlNotHttps; https://developers.google.com/calendar/api/guides/push); plain
    http only when the sandbox allows it (the app's tests receive on http)."""
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("Invalid channel address")
    if parts.scheme == "http" and not state.settings.allow_http_push:
        fail(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")


def _register_free_busy_and_push(site: Site, read: Gate) -> None:
    state = site.state

    def free_busy(request: Request, mailbox: Mailbox) -> Response:
        body = _json_body(request)
        window = (_time(body.get("timeMin"), "timeMin"), _time(body.get("timeMax"), "timeMax"))
        if window[1] <= window[0]:
            fail(400, "timeRangeEmpty", "The specified time range is empty.")
        ids = [str(item.get("id", "")) for item in body.get("items") or []]
        return json_response(
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": {cal_id: _busy(state, mailbox, cal_id, window) for cal_id in ids},
            }
        )

    def watch(request: Request, mailbox: Mailbox, calendar_id: str) -> Response:
        calendar, _ = _readable(state, mailbox, calendar_id)
        body = _json_body(request)
        if body.get("type") not in ("web_hook", "webhook"):
            raise Invalid("Invalid channel type; only web_hook is supported")
        if not CHANNEL_ID.fullmatch(str(body.get("id", ""))):
            raise Invalid("Invalid channel id")
        _check_address(state, str(body.get("address", "")))
        channel = Channel(
            body["id"],
            PROVIDER,
            mailbox.email,
            calendar.id,
            body["address"],
            str(body.get("token", "")),
            expiration=_expiration(body),
            resource_uri=f"{request.host_url}calendar/v3/calendars/{calendar.id}/events?alt=json",
        )
        try:
            state.add_channel(channel)
        except Conflict:
            fail(400, "channelIdNotUnique", f"Channel id {channel.id} not unique")
        site.notifier.send(channel)  # Google confirms a new channel with a "sync" message
        answer = {
            "kind": "api#channel",
            "id": channel.id,
            "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri,
            "expiration": str(int(channel.expiration.timestamp() * 1000)),
        }
        return json_response(answer | ({"token": channel.token} if channel.token else {}))

    def stop(request: Request, mailbox: Mailbox) -> Response:
        body = _json_body(request)
        channel = state.data.channels.get(str(body.get("id", "")))
        if channel is None or channel.email != mailbox.email:
            raise NotFound("channel not found")
        state.stop_channel(PROVIDER, channel.id, str(body.get("resourceId", "")))
        return Response(status=204)

    site.api_route(API + "/freeBusy", ["POST"], read, free_busy)
    site.api_route(API + "/calendars/<calendar_id>/events/watch", ["POST"], read, watch)
    site.api_route(API + "/channels/stop", ["POST"], read, stop)
