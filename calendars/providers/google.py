"""Google Calendar through google-api-python-client, google-auth and google-auth-oauthlib.

Every endpoint comes from settings (GOOGLE_AUTH_URI, GOOGLE_TOKEN_URI,
GOOGLE_CALENDAR_API_URL), so the same code talks to Google or to the sandbox.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import requests
from django.conf import settings
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calendars.providers.base import (
    Access,
    Attendee,
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

SCOPES = ["https://www.googleapis.com/auth/calendar"]
APP_KEY_PROPERTY = "meetingsAppKey"
DEFAULT_RETRY_AFTER = 30.0
_ACCESS = {
    "owner": Access.OWNER,
    "writer": Access.WRITER,
    "reader": Access.READER,
    "freeBusyReader": Access.FREE_BUSY,
}
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


# --- OAuth ------------------------------------------------------------------------------


def _flow(redirect_uri: str, state: str | None = None, code_verifier: str | None = None) -> Flow:
    config = {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_AUTH_URI,
            "token_uri": settings.GOOGLE_TOKEN_URI,
        }
    }
    return Flow.from_client_config(
        config, scopes=SCOPES, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier
    )


def begin_authorization(redirect_uri: str) -> tuple[str, dict]:
    """Return the consent URL and what must be kept (server-side) until the callback."""
    flow = _flow(redirect_uri)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    return url, {"state": state, "code_verifier": flow.code_verifier}


def complete_authorization(redirect_uri: str, pending: dict, params: dict) -> dict:
    """Exchange the callback's code (with the PKCE verifier) for credentials to store."""
    flow = _flow(redirect_uri, state=pending["state"], code_verifier=pending["code_verifier"])
    try:
        flow.fetch_token(code=params["code"], timeout=settings.PROVIDER_INTERACTIVE_TIMEOUT_SECONDS)
    except Exception as exc:  # oauthlib raises a family of errors for a refused exchange
        raise ReconnectRequired("Google refused the authorization code.", detail=str(exc)) from exc
    return _dump_credentials(flow.credentials)


def _dump_credentials(creds: Credentials) -> dict:
    return {
        "token": creds.token,
        "refresh_token": creds.refresh_token,
        "expiry": creds.expiry.isoformat() if creds.expiry else None,
    }


# --- Errors -----------------------------------------------------------------------------


def _reason(error: HttpError) -> str:
    try:
        body = json.loads(error.content.decode() or "{}")
        errors = body.get("error", {}).get("errors") or [{}]
        return errors[0].get("reason", "")
    except (ValueError, AttributeError):
        return ""


def _retry_after(error: HttpError) -> float:
    try:
        return max(float(error.resp.get("retry-after", DEFAULT_RETRY_AFTER)), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def _translate(error: HttpError, calendar_id: str | None = None) -> ProviderError:
    status, reason = error.resp.status, _reason(error)
    detail = error.content.decode(errors="replace")[:500] if error.content else ""
    if status == 429 or (status == 403 and reason in _RATE_REASONS):
        return RateLimited(_retry_after(error), detail=detail)
    if status == 401:
        return ReconnectRequired("Google no longer accepts this connection.", detail=detail)
    if status == 410:
        return SyncTokenExpired(detail=detail)
    if status in (403, 404) and calendar_id is not None:
        return CalendarAccessLost(calendar_id, detail=detail)
    if status >= 500:
        return TransientError(f"Google answered {status}.", detail=detail)
    return PermanentError(f"Google refused the request ({status} {reason}).", detail=detail)


# --- Parsing ----------------------------------------------------------------------------


def _parse_time(value: dict, tz: ZoneInfo) -> tuple[datetime, bool]:
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"]).astimezone(UTC), False
    day = datetime.fromisoformat(value["date"])
    return day.replace(tzinfo=tz).astimezone(UTC), True


def _is_busy(item: dict) -> bool:
    if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
        return False
    if item.get("eventType") == "workingLocation":
        return False
    me = next((a for a in item.get("attendees", []) if a.get("self")), None)
    return not (me and me.get("responseStatus") == "declined")


def parse_event(item: dict, tz: ZoneInfo) -> RemoteEvent:
    start, all_day = _parse_time(item["start"], tz)
    end, _ = _parse_time(item["end"], tz)
    private = item.get("extendedProperties", {}).get("private", {})
    return RemoteEvent(
        id=item["id"],
        start=start,
        end=end,
        busy=_is_busy(item),
        title=item.get("summary", ""),
        all_day=all_day,
        attendees=tuple(
            Attendee(a["email"], a.get("displayName", ""), a.get("responseStatus", ""))
            for a in item.get("attendees", [])
            if a.get("email")
        ),
        organizer=item.get("organizer", {}).get("email", ""),
        recurring_event_id=item.get("recurringEventId", ""),
        app_key=private.get(APP_KEY_PROPERTY, ""),
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Provider ---------------------------------------------------------------------------


MEET = "google_meet"


def meet_conference(item: dict) -> Conference:
    """An event's Meet conference: the link once created, pending while Google is still on
    it (`conferenceData.createRequest.status.statusCode`), failed otherwise."""
    data = item.get("conferenceData") or {}
    video = [e for e in data.get("entryPoints", []) if e.get("entryPointType") == "video"]
    url = item.get("hangoutLink") or (video[0].get("uri", "") if video else "")
    if url:
        return Conference("ready", url)
    status = (data.get("createRequest") or {}).get("status", {}).get("statusCode", "")
    return Conference("pending" if status == "pending" else "failed")


class GoogleProvider(CalendarProvider):
    name = "google"
    supports_push = True
    conference_kinds = frozenset({MEET})

    def __init__(self, credentials, on_credentials=None, timeout=None):
        super().__init__(credentials, on_credentials, timeout)
        expiry = credentials.get("expiry")
        self._creds = Credentials(
            token=credentials.get("token"),
            refresh_token=credentials.get("refresh_token"),
            token_uri=settings.GOOGLE_TOKEN_URI,
            client_id=settings.GOOGLE_CLIENT_ID,
            client_secret=settings.GOOGLE_CLIENT_SECRET,
            scopes=SCOPES,
            # google-auth compares expiry with a naive UTC clock.
            expiry=datetime.fromisoformat(expiry).replace(tzinfo=None) if expiry else None,
        )
        http = google_auth_httplib2.AuthorizedHttp(
            self._creds, http=httplib2.Http(timeout=self.timeout)
        )
        self._service = build(
            "calendar",
            "v3",
            http=http,
            client_options={"api_endpoint": settings.GOOGLE_CALENDAR_API_URL},
            static_discovery=True,
            cache_discovery=False,
        )

    def _execute(self, request, calendar_id: str | None = None) -> dict:
        token_before = self._creds.token
        try:
            result = request.execute()
        except HttpError as exc:
            raise _translate(exc, calendar_id) from exc
        except google.auth.exceptions.RefreshError as exc:
            raise ReconnectRequired(
                "Google refused to refresh the token.", detail=str(exc)
            ) from exc
        except (OSError, TimeoutError, httplib2.HttpLib2Error) as exc:
            raise TransientError("Google could not be reached.", detail=str(exc)) from exc
        finally:
            if self._creds.token != token_before and self._creds.token:
                self._credentials_changed({**self.credentials, **_dump_credentials(self._creds)})
        return result or {}

    def account_email(self) -> str:
        for calendar in self.list_calendars():
            if calendar.primary:
                return calendar.id
        raise PermanentError("The Google account has no primary calendar.")

    def list_calendars(self) -> list[RemoteCalendar]:
        calendars, page_token = [], None
        while True:
            page = self._execute(self._service.calendarList().list(pageToken=page_token))
            calendars += [
                RemoteCalendar(
                    id=item["id"],
                    name=item.get("summaryOverride") or item.get("summary", item["id"]),
                    access=_ACCESS.get(item.get("accessRole", ""), Access.FREE_BUSY),
                    primary=bool(item.get("primary")),
                    timezone=item.get("timeZone", ""),
                )
                for item in page.get("items", [])
            ]
            page_token = page.get("nextPageToken")
            if not page_token:
                return calendars

    def changes(self, calendar_id, sync_token, window) -> Iterator[ChangePage]:
        params = {"calendarId": calendar_id, "singleEvents": True, "maxResults": 2500}
        if sync_token:
            params["syncToken"] = sync_token
        else:
            params.update(timeMin=_rfc3339(window[0]), timeMax=_rfc3339(window[1]))
        page_token = None
        while True:
            request = self._service.events().list(pageToken=page_token, **params)
            page = self._execute(request, calendar_id)
            yield self._change_page(page)
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _change_page(self, page: dict) -> ChangePage:
        tz = _zone(page.get("timeZone"))
        result = ChangePage(next_sync_token=page.get("nextSyncToken"))
        for item in page.get("items", []):
            if item.get("status") == "cancelled":
                result.removed_ids.append(item["id"])
            else:
                result.events.append(parse_event(item, tz))
        return result

    def free_busy(self, calendar_ids, start, end) -> FreeBusy:
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "items": [{"id": calendar_id} for calendar_id in calendar_ids],
        }
        answer = self._execute(self._service.freebusy().query(body=body))
        result = FreeBusy(busy={})
        for calendar_id in calendar_ids:
            entry = answer.get("calendars", {}).get(calendar_id, {})
            if entry.get("errors"):
                result.lost.add(calendar_id)
                continue
            result.busy[calendar_id] = [
                BusyInterval(
                    datetime.fromisoformat(b["start"]).astimezone(UTC),
                    datetime.fromisoformat(b["end"]).astimezone(UTC),
                )
                for b in entry.get("busy", [])
            ]
        return result

    def _body(self, event: EventWrite) -> dict:
        return {
            "summary": event.title,
            "description": event.description,
            "location": event.location,
            "start": {"dateTime": event.start.isoformat(), "timeZone": event.timezone},
            "end": {"dateTime": event.end.isoformat(), "timeZone": event.timezone},
            "attendees": [
                {"email": a.email, **({"displayName": a.name} if a.name else {})}
                for a in event.attendees
            ],
            "extendedProperties": {"private": {APP_KEY_PROPERTY: event.key}},
            # Sent on every write, so an update can turn a free event busy again.
            "transparency": "opaque" if event.busy else "transparent",
        }

    def create_event(self, calendar_id, event) -> str:
        # The key is the event id: a retried insert answers 409 instead of duplicating.
        body = {"id": event.key, **self._body(event)}
        extra = {}
        if event.conference == MEET:
            # Meet links are created asynchronously, only with conferenceDataVersion=1; the
            # requestId (our key) makes a retried request the same one. Updates send version
            # 0, which leaves the conference alone (developers.google.com/workspace/calendar/
            # api/guides/create-events#conferencing, .../v3/reference/events/insert).
            body["conferenceData"] = {
                "createRequest": {
                    "requestId": event.key,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            }
            extra["conferenceDataVersion"] = 1
        request = self._service.events().insert(
            calendarId=calendar_id,
            body=body,
            sendUpdates=_send_updates(event.send_invitations),
            **extra,
        )
        try:
            return self._execute(request, calendar_id)["id"]
        except PermanentError as exc:
            if isinstance(exc.__cause__, HttpError) and exc.__cause__.resp.status == 409:
                return event.key
            raise

    def conference(self, calendar_id, event_id) -> Conference | None:
        item = self._execute(
            self._service.events().get(calendarId=calendar_id, eventId=event_id), calendar_id
        )
        return meet_conference(item)

    def update_event(self, calendar_id, event_id, event) -> None:
        request = self._service.events().patch(
            calendarId=calendar_id,
            eventId=event_id,
            body=self._body(event),
            sendUpdates=_send_updates(event.send_invitations),
        )
        self._execute(request, calendar_id)

    def delete_event(self, calendar_id, event_id, notify=True) -> None:
        request = self._service.events().delete(
            calendarId=calendar_id, eventId=event_id, sendUpdates=_send_updates(notify)
        )
        self._delete(request)

    def _delete(self, request) -> None:
        """Run a delete; 404 or 410 means it is gone already, which is what we wanted."""
        try:
            self._execute(request)
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, HttpError) and cause.resp.status in (404, 410):
                return
            raise
        except SyncTokenExpired:  # 410 Gone on an event means it was deleted already
            return

    # calendars

    def create_calendar(self, name: str) -> RemoteCalendar:
        # Google allows two calendars of one name: look first, so a retried create (after a
        # timeout, say) finds the calendar its first attempt made.
        existing = self._owned_calendar(name)
        if existing is not None:
            return existing
        item = self._execute(self._service.calendars().insert(body={"summary": name}))
        return RemoteCalendar(
            id=item["id"],
            name=item.get("summary", name),
            access=Access.OWNER,
            timezone=item.get("timeZone", ""),
        )

    def _owned_calendar(self, name: str) -> RemoteCalendar | None:
        wanted = name.casefold()
        return next(
            (
                calendar
                for calendar in self.list_calendars()
                if calendar.access == Access.OWNER
                and not calendar.primary
                and calendar.name.casefold() == wanted
            ),
            None,
        )

    def delete_calendar(self, calendar_id: str) -> None:
        # No calendar id for the error mapping: a 404 here means "gone", not "access lost".
        self._delete(self._service.calendars().delete(calendarId=calendar_id))

    def revoke(self) -> bool:
        token = self.credentials.get("refresh_token") or self.credentials.get("token")
        try:
            response = requests.post(
                settings.GOOGLE_REVOKE_URI, data={"token": token}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TransientError("Google could not be reached.", detail=str(exc)) from exc
        return response.ok

    def watch(self, calendar_id, address, token, channel_id, ttl_seconds) -> WatchChannel:
        expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": str(int(expires.timestamp() * 1000)),
        }
        answer = self._execute(
            self._service.events().watch(calendarId=calendar_id, body=body), calendar_id
        )
        expiration = answer.get("expiration")
        if expiration:
            expires = datetime.fromtimestamp(int(expiration) / 1000, tz=UTC)
        return WatchChannel(channel_id, answer["resourceId"], expires, token)

    def unwatch(self, channel) -> None:
        body = {"id": channel.id, "resourceId": channel.resource_id}
        # An unknown or expired channel is as stopped as it gets.
        with contextlib.suppress(PermanentError):
            self._execute(self._service.channels().stop(body=body))


def _send_updates(notify: bool) -> str:
    return "all" if notify else "none"
