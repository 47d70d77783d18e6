"""Microsoft 365 calendars: OAuth through MSAL, Microsoft Graph over a plain requests session.

Every endpoint comes from settings (MICROSOFT_AUTHORITY_HOST + MICROSOFT_TENANT for MSAL,
MICROSOFT_GRAPH_URL for Graph), so the same code talks to Microsoft or to the sandbox.

Graph facts this adapter leans on:
- A sync token is the `@odata.deltaLink` of `calendarView/delta`; it fixes the window, so the
  sync engine re-anchors with a full sync as time moves. 410 means start again.
- Events the app wrote carry its idempotency key twice: as `transactionId` (Graph answers a
  retried POST with the event the first one made) and in a single-value extended property.
- `/me/calendars` does not tell a read share from a free/busy-only one; reading one event
  does (a free/busy-only share refuses with 403), so read-only calendars are probed.
- getSchedule reports a mailbox's default calendar; other calendars' busy times come from
  their calendarView, classified here.
- Graph always emails attendees about changes to a meeting the user organizes; there is no
  "don't notify" switch, so `send_invitations` / `notify` cannot be honoured.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal
import requests
from django.conf import settings
from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from calendars.providers.base import (
    Access,
    BusyInterval,
    CalendarAccessLost,
    CalendarProvider,
    ChangePage,
    Conference,
    EventWrite,
    FreeBusy,
    PermanentError,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    RemoteCalendar,
    RemoteEvent,
    SyncTokenExpired,
    TransientError,
    WatchChannel,
)
from calendars.providers.base import Attendee as RemoteAttendee

# MSAL adds openid, profile and offline_access itself (and refuses them if given).
SCOPES = ["User.Read", "MailboxSettings.Read", "Calendars.ReadWrite", "Calendars.Read.Shared"]
APP_KEY_PROPERTY = "String {0b7e2ac4-5f1d-4c7b-9a3e-8d6f1e2c4b90} Name meetingsAppKey"
DEFAULT_RETRY_AFTER = 30.0
REFRESH_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 100
SCHEDULE_SPAN = timedelta(days=62)  # getSchedule's limit per request
SUBSCRIPTION_SPAN = timedelta(minutes=10000)  # Graph allows 10080 minutes for events
BUSY_STATUSES = {"busy", "tentative", "oof"}
FREE_SHOW_AS = {"free", "workingElsewhere"}
RESPONSES = {
    "accepted": "accepted",
    "declined": "declined",
    "tentativelyAccepted": "tentative",
    "notResponded": "needsAction",
    "none": "needsAction",
}
# Errors after which only the user can fix the grant (a bad client secret is ours to fix:
# it stays a PermanentError).
RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required"}
TRANSIENT_ERRORS = {"temporarily_unavailable", "server_error"}


# --- HTTP and OAuth ---------------------------------------------------------------------


def _http_session() -> requests.Session:
    session = requests.Session()
    # Without trust_env, REQUESTS_CA_BUNDLE cannot override `verify` and ~/.netrc cannot
    # replace our Authorization header.
    session.trust_env = False
    if settings.CALENDAR_SANDBOX_CA_FILE:
        session.verify = settings.CALENDAR_SANDBOX_CA_FILE
    return session


def _msal_app(timeout: float | None = None) -> msal.ConfidentialClientApplication:
    """MSAL reads the OpenID configuration when built: failures surface as provider errors.
    The sign-in pages call it while a person waits: the interactive timeout by default."""
    http_client = _http_session()
    # MSAL sets no timeout on a client it is given.
    http_client.request = functools.partial(
        http_client.request, timeout=timeout or settings.PROVIDER_INTERACTIVE_TIMEOUT_SECONDS
    )
    try:
        return msal.ConfidentialClientApplication(
            settings.MICROSOFT_CLIENT_ID,
            client_credential=settings.MICROSOFT_CLIENT_SECRET,
            authority=f"{settings.MICROSOFT_AUTHORITY_HOST}/{settings.MICROSOFT_TENANT}",
            instance_discovery=False,
            http_client=http_client,
        )
    except requests.RequestException as exc:
        raise TransientError("Microsoft sign-in could not be reached.", detail=str(exc)) from exc
    except ValueError as exc:
        raise PermanentError("Microsoft sign-in is misconfigured.", detail=str(exc)) from exc


def begin_authorization(redirect_uri: str) -> tuple[str, dict]:
    """Return the consent URL and the flow to keep (server-side, JSON) until the callback."""
    app = _msal_app()
    with warnings.catch_warnings():
        # MSAL recommends response_mode=form_post; the callback reads the query instead,
        # because a cross-site POST would not carry the (SameSite=Lax) session cookie.
        warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning)
        flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=redirect_uri)
    return flow["auth_uri"], flow


def complete_authorization(redirect_uri: str, pending: dict, query_params: dict) -> dict:
    """Check the callback against the flow (state, nonce) and redeem the code with PKCE."""
    if pending.get("redirect_uri") != redirect_uri:
        raise ReconnectRequired("The sign-in came back to an unexpected address.")
    try:
        # MSAL pops keys off the flow: hand it a copy.
        result = _msal_app().acquire_token_by_auth_code_flow(dict(pending), dict(query_params))
    except requests.RequestException as exc:
        raise TransientError("Microsoft sign-in could not be reached.", detail=str(exc)) from exc
    except (ValueError, RuntimeError) as exc:  # state or nonce mismatch, malformed answer
        raise ReconnectRequired("Microsoft refused the sign-in.", detail=str(exc)) from exc
    if "error" in result:
        raise ReconnectRequired(
            "Microsoft refused the authorization code.", detail=result.get("error_description", "")
        )
    return _credentials(result)


def _credentials(result: dict, previous: dict | None = None) -> dict:
    """What to store from a token answer (a refresh may omit the refresh token)."""
    previous = previous or {}
    expires = datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in", 3600)))
    return {
        **previous,
        "access_token": result["access_token"],
        "refresh_token": result.get("refresh_token") or previous.get("refresh_token"),
        "expires_at": expires.isoformat(),
    }


# --- Errors -----------------------------------------------------------------------------


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER)), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _translate(
    response: requests.Response, calendar_id: str | None, lost_on: tuple[int, ...]
) -> ProviderError:
    status, code = response.status_code, _error_code(response)
    detail = response.text[:500]
    if status == 429 or (status == 503 and "Retry-After" in response.headers):
        return RateLimited(_retry_after(response), detail=detail)
    if status == 401:
        return ReconnectRequired("Microsoft no longer accepts this connection.", detail=detail)
    if status == 410:
        return SyncTokenExpired(detail=detail)
    if status in lost_on and calendar_id is not None:
        return CalendarAccessLost(calendar_id, detail=detail)
    if status >= 500:
        return TransientError(f"Microsoft Graph answered {status}.", detail=detail)
    return PermanentError(f"Microsoft Graph refused the request ({status} {code}).", detail=detail)


# --- Parsing ----------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo:
    """An IANA zone for a Graph time zone name; real mailboxes often use Windows names
    ("Pacific Standard Time"), mapped with the CLDR table exchangelib ships."""
    name = MS_TIMEZONE_TO_IANA_MAP.get(name or "", name) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _moment(value: dict) -> datetime:
    """A dateTimeTimeZone as aware UTC (Graph writes seven fractional digits; Python
    keeps six)."""
    moment = datetime.fromisoformat(value["dateTime"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.get("timeZone")))
    return moment.astimezone(UTC)


def _whole_days(value: dict, zone: ZoneInfo) -> datetime:
    """All-day events cover whole days of the mailbox's zone. Their dates come as midnight
    in the zone asked for; should one come as another instant (an all-day event converted
    from another zone), the date it falls on in the mailbox's zone counts."""
    moment = datetime.fromisoformat(value["dateTime"])
    if moment.time() != time():
        moment = _moment(value).astimezone(zone)
    day = moment.date()
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def is_busy(item: dict) -> bool:
    if item.get("isCancelled") or item.get("showAs") in FREE_SHOW_AS:
        return False
    return (item.get("responseStatus") or {}).get("response") != "declined"


def _app_key(item: dict) -> str:
    for prop in item.get("singleValueExtendedProperties") or []:
        if prop.get("id", "").lower() == APP_KEY_PROPERTY.lower():
            return prop.get("value", "")
    return item.get("transactionId") or ""


def _attendees(item: dict) -> tuple[RemoteAttendee, ...]:
    found = []
    for attendee in item.get("attendees") or []:
        person = attendee.get("emailAddress") or {}
        if person.get("address"):
            response = (attendee.get("status") or {}).get("response", "")
            found.append(
                RemoteAttendee(
                    person["address"], person.get("name", ""), RESPONSES.get(response, "")
                )
            )
    return tuple(found)


def parse_event(item: dict, zone: ZoneInfo) -> RemoteEvent:
    """A Graph event as the mirror wants it; `zone` places all-day events."""
    all_day = bool(item.get("isAllDay"))
    if all_day:
        start, end = _whole_days(item["start"], zone), _whole_days(item["end"], zone)
    else:
        start, end = _moment(item["start"]), _moment(item["end"])
    return RemoteEvent(
        id=item["id"],
        start=start,
        end=end,
        busy=is_busy(item),
        title=item.get("subject") or "",
        all_day=all_day,
        attendees=_attendees(item),
        organizer=((item.get("organizer") or {}).get("emailAddress") or {}).get("address", ""),
        recurring_event_id=item.get("seriesMasterId") or "",
        app_key=_app_key(item),
    )


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _merge(intervals: list[BusyInterval]) -> list[BusyInterval]:
    merged: list[BusyInterval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if merged and interval.start <= merged[-1].end:
            last = merged.pop()
            interval = BusyInterval(last.start, max(last.end, interval.end))
        merged.append(interval)
    return merged


def _clipped(
    start: datetime, end: datetime, window: tuple[datetime, datetime]
) -> BusyInterval | None:
    start, end = max(start, window[0]), min(end, window[1])
    return BusyInterval(start, end) if start < end else None


# --- Provider ---------------------------------------------------------------------------


TEAMS = "teams"


def teams_conference(item: dict) -> Conference:
    """An event's Teams meeting: ready with `onlineMeeting.joinUrl`; an event Graph left
    offline (the calendar does not allow Teams) will never get one."""
    url = (item.get("onlineMeeting") or {}).get("joinUrl") or ""
    if url:
        return Conference("ready", url)
    return Conference("pending" if item.get("isOnlineMeeting") else "failed")


class MicrosoftProvider(CalendarProvider):
    name = "microsoft"
    supports_push = True
    conference_kinds = frozenset({TEAMS})

    def __init__(self, credentials, on_credentials=None, timeout=None):
        super().__init__(credentials, on_credentials, timeout)
        self._graph = settings.MICROSOFT_GRAPH_URL.rstrip("/")
        self._session = _http_session()
        self._calendars: dict[str, dict] | None = None  # /me/calendars, read once
        self._mailbox_zone: ZoneInfo | None = None
        self._oauth: msal.ConfidentialClientApplication | None = None

    # tokens

    def _access_token(self) -> str:
        expires_at = self.credentials.get("expires_at")
        if expires_at and datetime.fromisoformat(expires_at) - REFRESH_MARGIN <= datetime.now(UTC):
            self._refresh()
        return self.credentials["access_token"]

    def _refresh(self) -> None:
        if not self.credentials.get("refresh_token"):
            raise ReconnectRequired("There is no refresh token: sign in again.")
        self._oauth = self._oauth or _msal_app(self.timeout)
        try:
            result = self._oauth.acquire_token_by_refresh_token(
                self.credentials["refresh_token"], SCOPES
            )
        except requests.RequestException as exc:
            raise TransientError(
                "Microsoft sign-in could not be reached.", detail=str(exc)
            ) from exc
        error = result.get("error")
        if error in RECONNECT_ERRORS:
            raise ReconnectRequired(
                "Microsoft refused to refresh the token.",
                detail=result.get("error_description", ""),
            )
        if error:
            problem = TransientError if error in TRANSIENT_ERRORS else PermanentError
            raise problem(f"Microsoft could not refresh the token ({error}).")
        self._credentials_changed(_credentials(result, self.credentials))

    # requests

    def _send(self, method: str, url: str, headers: dict, **kwargs) -> requests.Response:
        headers = {**headers, "Authorization": f"Bearer {self._access_token()}"}
        try:
            return self._session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise TransientError("Microsoft Graph could not be reached.", detail=str(exc)) from exc

    def _call(
        self,
        method: str,
        path: str,
        *,
        calendar_id: str | None = None,
        lost_on: tuple[int, ...] = (403, 404),
        absent_ok: bool = False,
        exists_ok: bool = False,
        headers: dict | None = None,
        **kwargs,
    ) -> dict:
        """One Graph call: `path` is relative to the Graph URL, or a link Graph gave us.
        403/404 (by default) mean `calendar_id` was lost; `absent_ok` takes 404 as done,
        `exists_ok` a 409 (both answer an empty dict)."""
        url = self._url(path)
        response = self._send(method, url, headers or {}, **kwargs)
        if response.status_code == 401:
            # The token was revoked or expired early: refresh once; a second 401 is final.
            self._refresh()
            response = self._send(method, url, headers or {}, **kwargs)
        if (absent_ok and response.status_code == 404) or (
            exists_ok and response.status_code == 409
        ):
            return {}
        if response.status_code >= 400:
            raise _translate(response, calendar_id, lost_on)
        return response.json() if response.content else {}

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return self._graph + path
        # Only follow links into our own Graph: the request carries the bearer token.
        if not path.startswith(self._graph + "/"):
            raise PermanentError("Microsoft Graph sent a link to another host.", detail=path)
        return path

    def _pages(self, path: str, calendar_id: str | None = None, **kwargs) -> Iterator[dict]:
        """Every page of a collection, following @odata.nextLink."""
        headers = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={PAGE_SIZE}'}
        link: str | None = path
        while link:
            page = self._call("GET", link, calendar_id=calendar_id, headers=headers, **kwargs)
            kwargs = {}  # the next link carries the query
            yield page
            link = page.get("@odata.nextLink")

    # calendars

    def account_email(self) -> str:
        me = self._call("GET", "/me")
        return me.get("mail") or me["userPrincipalName"]

    def _calendar_items(self, refresh: bool = False) -> dict[str, dict]:
        if self._calendars is None or refresh:
            items = [item for page in self._pages("/me/calendars") for item in page["value"]]
            self._calendars = {item["id"]: item for item in items}
        return self._calendars

    def _can_read_events(self, calendar_id: str) -> bool:
        path = f"/me/calendars/{quote(calendar_id, safe='')}/events"
        try:
            self._call("GET", path, calendar_id=calendar_id, params={"$top": 1, "$select": "id"})
        except CalendarAccessLost:
            return False
        return True

    def _access(self, item: dict) -> str:
        if item.get("canShare"):
            return Access.OWNER
        if item.get("canEdit"):
            return Access.WRITER
        return Access.READER if self._can_read_events(item["id"]) else Access.FREE_BUSY

    def list_calendars(self) -> list[RemoteCalendar]:
        return [
            RemoteCalendar(
                id=item["id"],
                name=item.get("name") or item["id"],
                access=self._access(item),
                primary=bool(item.get("isDefaultCalendar")),
            )
            for item in self._calendar_items(refresh=True).values()
        ]

    def create_calendar(self, name: str) -> RemoteCalendar:
        # Calendar names are unique in a mailbox (409 ErrorFolderExists): a retried create
        # finds the calendar its first attempt made.
        item = self._call("POST", "/me/calendars", json={"name": name}, exists_ok=True)
        item = item or self._owned_item(name)
        self._calendars = None  # the cached list lacks the new calendar
        return RemoteCalendar(id=item["id"], name=item.get("name") or name, access=Access.OWNER)

    def _owned_item(self, name: str) -> dict:
        wanted = name.casefold()
        for item in self._calendar_items(refresh=True).values():
            owned = item.get("canShare") and not item.get("isDefaultCalendar")
            if owned and (item.get("name") or "").casefold() == wanted:
                return item
        raise PermanentError(f"Microsoft Graph refused the calendar name {name!r}.")

    def delete_calendar(self, calendar_id: str) -> None:
        # No calendar id for the error mapping: a 404 here means "gone", not "access lost".
        self._call("DELETE", f"/me/calendars/{quote(calendar_id, safe='')}", absent_ok=True)
        self._calendars = None

    def _zone_for_all_day(self) -> ZoneInfo:
        if self._mailbox_zone is None:
            self._mailbox_zone = _zone(self._call("GET", "/me/mailboxSettings").get("timeZone"))
        return self._mailbox_zone

    def _parse(self, item: dict) -> RemoteEvent:
        zone = self._zone_for_all_day() if item.get("isAllDay") else ZoneInfo("UTC")
        return parse_event(item, zone)

    # sync

    def changes(self, calendar_id, sync_token, window) -> Iterator[ChangePage]:
        if sync_token:
            # A link stored while another Graph URL was configured cannot be followed.
            if not sync_token.startswith(self._graph + "/"):
                raise SyncTokenExpired("The stored delta link points at another Graph.")
            pages = self._pages(sync_token, calendar_id)
        else:
            path = f"/me/calendars/{quote(calendar_id, safe='')}/calendarView/delta"
            window_params = {
                "startDateTime": _utc_text(window[0]),
                "endDateTime": _utc_text(window[1]),
            }
            pages = self._pages(path, calendar_id, params=window_params)
        for page in pages:
            yield self._change_page(page)

    def _change_page(self, page: dict) -> ChangePage:
        result = ChangePage(next_sync_token=page.get("@odata.deltaLink"))
        for item in page.get("value", []):
            if "@removed" in item:
                result.removed_ids.append(item["id"])
            elif item.get("type") != "seriesMaster":  # the view lists occurrences instead
                result.events.append(self._parse(item))
        return result

    # free/busy

    def free_busy(self, calendar_ids, start, end) -> FreeBusy:
        known = self._calendar_items()
        result = FreeBusy(busy={})
        for calendar_id in calendar_ids:
            item = known.get(calendar_id)
            try:
                if item is None:
                    raise CalendarAccessLost(calendar_id)
                if item.get("isDefaultCalendar"):
                    address = (item.get("owner") or {}).get("address") or self.account_email()
                    busy = self._schedule_busy(address, (start, end))
                else:
                    busy = self._view_busy(calendar_id, (start, end))
            except CalendarAccessLost:
                result.lost.add(calendar_id)
                continue
            result.busy[calendar_id] = _merge(busy)
        return result

    def _schedule_busy(self, address: str, window: tuple[datetime, datetime]) -> list[BusyInterval]:
        """getSchedule in pieces of at most 62 days."""
        busy, piece_start = [], window[0]
        while piece_start < window[1]:
            piece_end = min(piece_start + SCHEDULE_SPAN, window[1])
            busy += self._schedule_piece(address, (piece_start, piece_end))
            piece_start = piece_end
        return busy

    def _schedule_piece(
        self, address: str, window: tuple[datetime, datetime]
    ) -> list[BusyInterval]:
        def moment(value: datetime) -> dict:
            return {
                "dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "timeZone": "UTC",
            }

        body = {
            "schedules": [address],
            "startTime": moment(window[0]),
            "endTime": moment(window[1]),
            "availabilityViewInterval": 60,
        }
        headers = {"Prefer": 'outlook.timezone="UTC"'}
        answer = self._call("POST", "/me/calendar/getSchedule", json=body, headers=headers)
        schedule = (answer.get("value") or [{}])[0]
        if schedule.get("error"):
            raise CalendarAccessLost(address, detail=str(schedule["error"]))
        intervals = (
            _clipped(_moment(item["start"]), _moment(item["end"]), window)
            for item in schedule.get("scheduleItems", [])
            if item.get("status") in BUSY_STATUSES
        )
        return [interval for interval in intervals if interval]

    def _view_busy(self, calendar_id: str, window: tuple[datetime, datetime]) -> list[BusyInterval]:
        path = f"/me/calendars/{quote(calendar_id, safe='')}/calendarView"
        params = {"startDateTime": _utc_text(window[0]), "endDateTime": _utc_text(window[1])}
        events = (
            self._parse(item)
            for page in self._pages(path, calendar_id, params=params)
            for item in page["value"]
        )
        intervals = (_clipped(e.start, e.end, window) for e in events if e.busy)
        return [interval for interval in intervals if interval]

    # writes

    def _body(self, event: EventWrite) -> dict:
        zone = _zone(event.timezone)

        def local(moment: datetime) -> dict:
            naive = moment.astimezone(zone).replace(tzinfo=None)
            return {"dateTime": naive.isoformat(), "timeZone": event.timezone}

        return {
            "subject": event.title,
            "body": {"contentType": "text", "content": event.description},
            "start": local(event.start),
            "end": local(event.end),
            "location": {"displayName": event.location},
            "attendees": [
                {
                    "emailAddress": {"address": a.email, "name": a.name or a.email},
                    "type": "required",
                }
                for a in event.attendees
            ],
            "singleValueExtendedProperties": [{"id": APP_KEY_PROPERTY, "value": event.key}],
            # Sent on every write, so an update can turn a free event busy again.
            "showAs": "busy" if event.busy else "free",
        }

    def create_event(self, calendar_id, event) -> str:
        # A retried POST with the same transactionId answers the event the first one made.
        body = {**self._body(event), "transactionId": event.key}
        if event.conference == TEAMS:
            # Graph makes the event a Teams meeting and fills onlineMeeting.joinUrl; once
            # online it stays online whatever later updates say
            # (learn.microsoft.com/en-us/graph/outlook-calendar-online-meetings).
            body |= {"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
        path = f"/me/calendars/{quote(calendar_id, safe='')}/events"
        return self._call("POST", path, calendar_id=calendar_id, json=body)["id"]

    def conference(self, calendar_id, event_id) -> Conference | None:
        path = f"/me/events/{quote(event_id, safe='')}"
        item = self._call(
            "GET",
            path,
            calendar_id=calendar_id,
            lost_on=(403,),
            params={"$select": "isOnlineMeeting,onlineMeetingProvider,onlineMeeting"},
        )
        return teams_conference(item)

    def update_event(self, calendar_id, event_id, event) -> None:
        # /me/events/{id} names no calendar: a 404 there means the event, not the calendar.
        path = f"/me/events/{quote(event_id, safe='')}"
        self._call("PATCH", path, calendar_id=calendar_id, lost_on=(403,), json=self._body(event))

    def delete_event(self, calendar_id, event_id, notify=True) -> None:
        path = f"/me/events/{quote(event_id, safe='')}"
        self._call("DELETE", path, calendar_id=calendar_id, lost_on=(403,), absent_ok=True)

    # push

    def watch(self, calendar_id, address, token, channel_id, ttl_seconds) -> WatchChannel:
        """Subscribe to the calendar's events. Graph names the subscription itself, so
        `channel_id` is unused; the returned channel's id is the subscription id."""
        expires = datetime.now(UTC) + min(timedelta(seconds=ttl_seconds), SUBSCRIPTION_SPAN)
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "resource": f"me/calendars/{calendar_id}/events",
            "expirationDateTime": _utc_text(expires),
            "clientState": token,
        }
        answer = self._call("POST", "/subscriptions", calendar_id=calendar_id, json=body)
        expires_at = datetime.fromisoformat(answer["expirationDateTime"]).astimezone(UTC)
        return WatchChannel(
            answer["id"], answer.get("resource", body["resource"]), expires_at, token
        )

    def unwatch(self, channel) -> None:
        self._call("DELETE", f"/subscriptions/{quote(channel.id, safe='')}", absent_ok=True)
