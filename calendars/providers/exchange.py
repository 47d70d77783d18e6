"""Exchange (on-premises or hosted EWS) through exchangelib.

A connection is a mailbox address, an optional separate user name, the password and the EWS
URL (`https://mail.example.com/EWS/Exchange.asmx`); `check_credentials` verifies them against
the server before anything is stored. The URL is user input, so it must be a public https
address (calendars.netsafety), and every connection exchangelib opens re-checks that.

Authentication is whatever the server offers (exchangelib probes it and prefers NTLM over Basic);
the detected type and server build are stored with the credentials so later connections skip
the probes. Exchange has no push in this product: EWS push needs a callback the server can
reach and streaming needs a held-open connection per mailbox, so connections are polled, and
SyncFolderItems keeps a poll to one request when nothing changed.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from exchangelib import (
    DELEGATE,
    Account,
    Attendee,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
    FolderCollection,
    Mailbox,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.folders import DEEP, SHALLOW
from exchangelib.folders import Calendar as CalendarFolder
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.protocol import Protocol
from exchangelib.version import EXCHANGE_2010_SP2

from calendars import netsafety
from calendars.providers import base
from calendars.providers.base import (
    Access,
    BusyInterval,
    CalendarAccessLost,
    CalendarProvider,
    ChangePage,
    EventWrite,
    FreeBusy,
    InvalidServer,
    PermanentError,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    RemoteCalendar,
    RemoteEvent,
    SyncTokenExpired,
    TransientError,
)

DEFAULT_BACK_OFF = 30.0
SYNC_BATCH = 512  # the most changes EWS returns per SyncFolderItems call
PAGE_SIZE = 250
TOKEN_PREFIX = "ews1:"  # noqa: S105 - a format marker, not a secret
# The window expanded into occurrences is kept in the sync token; it moves with the caller's
# window once the two differ by more than this (one CalendarView of the new window).
REANCHOR_AFTER = timedelta(days=1)
EVENT_FIELDS = (
    "subject",
    "start",
    "end",
    "is_all_day",
    "legacy_free_busy_status",
    "is_cancelled",
    "my_response_type",
    "organizer",
    "required_attendees",
    "optional_attendees",
    "uid",
    "type",
    "app_key",
    "_start_timezone",
)
BUSY_FIELDS = (
    "start",
    "end",
    "is_all_day",
    "legacy_free_busy_status",
    "is_cancelled",
    "my_response_type",
    "_start_timezone",
)
NOT_BUSY = ("Free", "WorkingElsewhere")
RESPONSES = {
    "Accept": "accepted",
    "Organizer": "accepted",
    "Decline": "declined",
    "Tentative": "tentative",
    "NoResponseReceived": "needsAction",
    "Unknown": "",
}
ACCESS_ERRORS = (
    ews_errors.ErrorFolderNotFound,
    ews_errors.ErrorAccessDenied,
    ews_errors.ErrorNonExistentMailbox,
    ews_errors.ErrorNoFreeBusyAccess,
)
TRANSIENT = (
    ews_errors.ErrorInternalServerTransientError,
    ews_errors.ErrorTimeoutExpired,
    requests.RequestException,
    OSError,
    netsafety.UnresolvableHost,
)
NOT_EWS = "That URL answers, but it is not an Exchange Web Services URL."


class AppKey(ExtendedProperty):
    """Marks items this app wrote with the write's idempotency key (a named property in the
    app's own property set, invisible in Outlook)."""

    property_set_id = "8a1f5f44-7d58-4c43-9a4e-3c2f0d6b1e27"
    property_name = "meetingsAppKey"
    property_type = "String"


with suppress(ValueError):  # already registered when the module is reloaded
    CalendarItem.register("app_key", AppKey)


# --- errors ------------------------------------------------------------------------------


def _is_transient(error: BaseException) -> bool:
    """A connection failure or a 5xx. exchangelib re-raises some as ErrorServerBusy (inside
    the handler of the original) and wraps connection errors in a bare TransportError."""
    for candidate in (error, error.__context__):
        if isinstance(candidate, TRANSIENT):
            return True
        if type(candidate) is ews_errors.TransportError and isinstance(
            candidate.__cause__ or candidate.__context__, TRANSIENT
        ):
            return True
    return False


def translate(error: Exception, calendar_id: str | None = None) -> ProviderError:
    """One exchangelib failure as the typed error the caller acts on."""
    detail = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, ews_errors.UnauthorizedError):
        return ReconnectRequired("Exchange refused the user name or password.", detail=detail)
    if isinstance(error, ews_errors.ErrorServerBusy) and not _is_transient(error):
        return RateLimited(float(error.back_off or DEFAULT_BACK_OFF), detail=detail)
    if isinstance(error, ews_errors.ErrorInvalidSyncStateData):
        return SyncTokenExpired(detail=detail)
    if isinstance(error, ACCESS_ERRORS) and calendar_id is not None:
        return CalendarAccessLost(calendar_id, detail=detail)
    if isinstance(error, netsafety.UnsafeURL):
        return InvalidServer(str(error), detail=detail)  # e.g. the name now points inside
    if _is_transient(error) or isinstance(error, ews_errors.MalformedResponseError):
        return TransientError("Exchange could not be reached or failed.", detail=detail)
    return PermanentError(f"Exchange refused the request ({type(error).__name__}).", detail=detail)


@contextmanager
def _errors(calendar_id: str | None = None) -> Iterator[None]:
    try:
        yield
    except ProviderError:
        raise
    except (
        ews_errors.EWSError,
        requests.RequestException,
        netsafety.UnsafeURL,
        netsafety.UnresolvableHost,
        OSError,
    ) as exc:
        raise translate(exc, calendar_id) from exc


def _raising(results: Iterable[Any]) -> Iterator[Any]:
    """exchangelib yields per-item failures as exception objects: raise them instead."""
    for result in results:
        if isinstance(result, Exception):
            raise result
        yield result


# --- configuration -----------------------------------------------------------------------


def _version(value: str | None) -> Version | None:
    """A pinned server build ("15.1.2507.6"); None (ask the server) when absent or unreadable,
    since a wrong pin only costs a version negotiation."""
    try:
        numbers = [int(part) for part in (value or "").split(".")][:4]
        return Version(build=Build(*numbers)) if len(numbers) >= 2 else None
    except (ValueError, TypeError, ews_errors.InvalidTypeError):
        return None


class PublicProtocol(Protocol):
    """exchangelib's protocol with connections that only reach public addresses: the library's
    hook for the HTTP adapter is a class attribute, so the policy gets its own class."""

    HTTP_ADAPTER_CLS = netsafety.GuardedAdapter


def _configuration(credentials: dict) -> Configuration:
    return Configuration(
        credentials=Credentials(
            credentials.get("username") or credentials["email"], credentials["password"]
        ),
        service_endpoint=credentials["ews_url"],
        auth_type=credentials.get("auth_type") or None,
        version=_version(credentials.get("version")),
        retry_policy=FailFast(),  # the caller retries, with the typed error's advice
    )


def _prepare_protocol(config: Configuration, fresh: bool, timeout: float) -> None:
    """Put the right protocol in exchangelib's cache, where Account picks it up.

    exchangelib keeps one protocol (sessions, auth type, version) per URL and credentials and
    hands it to every Account; a check must ask the server afresh, and a cached protocol of
    the other URL policy must not be reused.
    """
    wanted = Protocol if settings.EXCHANGE_ALLOW_PRIVATE_URLS else PublicProtocol
    with suppress(KeyError):
        cached, _ = Protocol[config]
        if fresh or type(cached) is not wanted:
            del Protocol[config]
    # exchangelib reads the timeout from the (cached, shared) protocol: a web process only
    # makes interactive calls and a worker only background ones, so one value per process.
    wanted(config=config).TIMEOUT = timeout


def _account(credentials: dict, fresh: bool = False, timeout: float | None = None) -> Account:
    config = _configuration(credentials)
    _prepare_protocol(config, fresh, timeout or settings.PROVIDER_TIMEOUT_SECONDS)
    return Account(
        credentials["email"],
        config=config,
        autodiscover=False,
        access_type=DELEGATE,
        default_timezone=EWSTimeZone("UTC"),
    )


# --- checking credentials before they are stored -----------------------------------------


def _probe_failure(error: Exception) -> ProviderError:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, requests.exceptions.SSLError):
        return InvalidServer("The server's TLS certificate is not trusted.", detail=str(error))
    if _is_transient(error):
        return TransientError(
            "Could not reach the server. Check the URL and try again.", detail=str(error)
        )
    return InvalidServer(NOT_EWS, detail=str(error))


def _check_server(account: Account) -> tuple[str, Build]:
    """Authentication type and build, or the typed error that tells the user what is wrong."""
    try:
        auth_type = account.protocol.auth_type  # an unauthenticated probe
        account.calendar  # noqa: B018 - signs in, learns the version, opens the calendar
    except ews_errors.UnauthorizedError as exc:
        raise ReconnectRequired(
            "The server refused the password or user name.", detail=str(exc)
        ) from exc
    except (ews_errors.ErrorNonExistentMailbox, ews_errors.ErrorAccessDenied) as exc:
        raise PermanentError(
            f"These credentials cannot open the mailbox {account.primary_smtp_address}.",
            detail=str(exc),
        ) from exc
    except ews_errors.ResponseMessageError as exc:
        raise translate(exc) from exc
    except (ews_errors.TransportError, netsafety.UnresolvableHost) as exc:
        raise _probe_failure(exc) from exc  # no answer, or not a SOAP answer
    except netsafety.UnsafeURL as exc:
        raise InvalidServer(str(exc)) from exc
    # The account's version: the server's answers update it, a pinned guess included.
    return auth_type, account.version.build


def check_credentials(
    email: str, password: str, username: str = "", ews_url: str = "", version: str = ""
) -> dict:
    """Verify an Exchange connection with the server; return the credentials to store.

    Raises ReconnectRequired (password or user name refused), TransientError (the server
    could not be reached), InvalidServer (not an EWS URL, a server older than Exchange 2010
    SP2, or a URL that is not a public https address).
    """
    try:
        netsafety.check_public_url(ews_url, settings.EXCHANGE_ALLOW_PRIVATE_URLS)
    except netsafety.UnresolvableHost as exc:
        raise TransientError(
            "Could not reach the server: its name does not resolve.", detail=str(exc)
        ) from exc
    except netsafety.UnsafeURL as exc:
        raise InvalidServer(str(exc)) from exc
    credentials = {
        "email": email.strip().lower(),
        "username": username.strip(),
        "password": password,
        "ews_url": ews_url.strip(),
        "version": version,
    }
    auth_type, build = _check_server(
        _account(
            {**credentials, "auth_type": None},
            fresh=True,
            timeout=settings.PROVIDER_INTERACTIVE_TIMEOUT_SECONDS,
        )
    )
    if build < EXCHANGE_2010_SP2:
        raise InvalidServer(
            f"Exchange 2010 SP2 or newer is required; this server runs build {build}."
        )
    return {**credentials, "version": str(build), "auth_type": auth_type}


# --- reading items -----------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # A plain datetime: exchangelib's EWSDateTime refuses any tzinfo but its own.
    utc = moment - moment.utcoffset()
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)


def _span(item: CalendarItem) -> tuple[datetime, datetime]:
    """Aware UTC start and end; all-day items cover whole days in their own time zone."""
    if isinstance(item.start, datetime):
        return _utc(item.start), _utc(item.end)
    zone = item._start_timezone or EWSTimeZone("UTC")
    # exchangelib gives an all-day item's last day; the span ends at the next midnight.
    start = datetime.combine(item.start, time(), tzinfo=zone)
    end = datetime.combine(item.end + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _is_busy(item: CalendarItem) -> bool:
    if item.is_cancelled or item.my_response_type == "Decline":
        return False
    return item.legacy_free_busy_status not in NOT_BUSY


def _attendees(item: CalendarItem) -> tuple[base.Attendee, ...]:
    people = (item.required_attendees or []) + (item.optional_attendees or [])
    return tuple(
        base.Attendee(
            a.mailbox.email_address, a.mailbox.name or "", RESPONSES.get(a.response_type or "", "")
        )
        for a in people
        if a.mailbox and a.mailbox.email_address
    )


def remote_event(item: CalendarItem, master_id: str = "") -> RemoteEvent:
    start, end = _span(item)
    return RemoteEvent(
        id=item.id,
        start=start,
        end=end,
        busy=_is_busy(item),
        title=item.subject or "",
        all_day=bool(item.is_all_day),
        attendees=_attendees(item),
        organizer=item.organizer.email_address if item.organizer else "",
        recurring_event_id=master_id,
        app_key=item.app_key or "",
    )


def _ews_time(moment: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(moment.astimezone(UTC))


def _access(folder: CalendarFolder) -> str:
    rights = folder.effective_rights
    if rights is None or not rights.read:
        return Access.FREE_BUSY
    if rights.create_hierarchy:
        return Access.OWNER
    return Access.WRITER if rights.modify or rights.create_contents else Access.READER


def _merge(spans: list[tuple[datetime, datetime]]) -> list[BusyInterval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [BusyInterval(start, end) for start, end in merged]


# --- sync tokens -------------------------------------------------------------------------
# {"s": SyncFolderItems state, "w": [window start, end], "m": {master id: [uid, [occurrence
# ids in the window]]}}: what a changed or deleted series replaces. Compressed, as a daily
# series over months lists a lot of ids.


def _dump_token(token: dict) -> str:
    packed = zlib.compress(json.dumps(token, separators=(",", ":")).encode())
    return TOKEN_PREFIX + base64.urlsafe_b64encode(packed).decode()


def _load_token(value: str) -> dict:
    try:
        if not value.startswith(TOKEN_PREFIX):
            raise ValueError("not an EWS sync token")
        token = json.loads(zlib.decompress(base64.urlsafe_b64decode(value[len(TOKEN_PREFIX) :])))
        _window(token)  # both edges must parse
        if not isinstance(token["s"], str) or not isinstance(token["m"], dict):
            raise TypeError("sync state or series map missing")
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise SyncTokenExpired("The stored Exchange sync state is unreadable.") from exc
    return token


def _window(token: dict) -> tuple[datetime, datetime]:
    start, end = (datetime.fromisoformat(edge) for edge in token["w"])
    return start, end


def _moved(old: tuple[datetime, datetime], new: tuple[datetime, datetime]) -> bool:
    return abs(new[0] - old[0]) > REANCHOR_AFTER or abs(new[1] - old[1]) > REANCHOR_AFTER


def _pages(events: list[RemoteEvent], removed: list[str], token: dict) -> Iterator[ChangePage]:
    chunks = [events[i : i + PAGE_SIZE] for i in range(0, len(events), PAGE_SIZE)] or [[]]
    for chunk in chunks[:-1]:
        yield ChangePage(events=chunk)
    yield ChangePage(
        events=chunks[-1],
        removed_ids=list(dict.fromkeys(removed)),
        next_sync_token=_dump_token(token),
    )


# --- the provider ------------------------------------------------------------------------


class ExchangeProvider(CalendarProvider):
    """One Exchange mailbox. Credentials: email, username, password, ews_url, version,
    auth_type (as returned by `check_credentials`)."""

    name = "exchange"
    supports_push = False  # polling only; see the module docstring

    def __init__(
        self,
        credentials: dict,
        on_credentials: base.CredentialsCallback | None = None,
        timeout: float | None = None,
    ):
        super().__init__(credentials, on_credentials, timeout)
        self._cached_account: Account | None = None

    @property
    def _ews(self) -> Account:
        if self._cached_account is None:
            self._cached_account = _account(self.credentials, timeout=self.timeout)
        return self._cached_account

    def _folder(self, calendar_id: str) -> CalendarFolder:
        return CalendarFolder(root=self._ews.root, id=calendar_id, changekey=None)

    def account_email(self) -> str:
        return self.credentials["email"]

    def list_calendars(self) -> list[RemoteCalendar]:
        with _errors():
            primary = self._ews.calendar.id
            found = FolderCollection(account=self._ews, folders=[self._ews.root]).find_folders(
                depth=DEEP
            )
            return [
                RemoteCalendar(
                    id=f.id, name=f.name or "", access=_access(f), primary=f.id == primary
                )
                for f in _raising(found)
                if f.folder_class == "IPF.Appointment"
            ]

    # changes

    def changes(
        self, calendar_id: str, sync_token: str | None, window: tuple[datetime, datetime]
    ) -> Iterator[ChangePage]:
        with _errors(calendar_id):
            folder = self._folder(calendar_id)
            if sync_token is None:
                yield from self._full_sync(folder, window)
            else:
                yield from self._incremental(folder, _load_token(sync_token), window)

    def _expand(
        self,
        folder: CalendarFolder,
        window: tuple[datetime, datetime],
        masters: dict[str, str],
        only_series: bool = False,
    ) -> tuple[list[RemoteEvent], dict[str, list[str]]]:
        """Events in the window (or only occurrences of `masters`: uid -> master id), and the
        occurrence ids of each master."""
        view = folder.view(start=_ews_time(window[0]), end=_ews_time(window[1]))
        if only_series:
            ids = [i for i in _raising(view.only("uid", "type")) if i.uid in masters]
            items = (
                list(_raising(self._ews.fetch(ids=ids, only_fields=EVENT_FIELDS))) if ids else []
            )
        else:
            items = list(_raising(view.only(*EVENT_FIELDS)))
        events, occurrences = [], {}
        for item in items:
            master = masters.get(item.uid, "") if item.type in ("Occurrence", "Exception") else ""
            events.append(remote_event(item, master))
            if master:
                occurrences.setdefault(master, []).append(item.id)
        return events, occurrences

    def _full_sync(
        self, folder: CalendarFolder, window: tuple[datetime, datetime]
    ) -> Iterator[ChangePage]:
        # The sync state first: whatever changes during the view comes again next time.
        masters = {
            item.uid: item.id
            for kind, item in _raising(
                folder.sync_items(only_fields=["uid", "type"], max_changes_returned=SYNC_BATCH)
            )
            if kind in ("create", "update") and item.type == "RecurringMaster"
        }
        events, occurrences = self._expand(folder, window, masters)
        token = {
            "s": folder.item_sync_state,
            "w": [edge.isoformat() for edge in window],
            "m": {mid: [uid, occurrences.get(mid, [])] for uid, mid in masters.items()},
        }
        yield from _pages(events, [], token)

    def _incremental(
        self, folder: CalendarFolder, token: dict, window: tuple[datetime, datetime]
    ) -> Iterator[ChangePage]:
        series: dict[str, list] = token["m"]
        removed, singles, changed = [], [], {}
        for kind, item in _raising(
            folder.sync_items(
                sync_state=token["s"], only_fields=["uid", "type"], max_changes_returned=SYNC_BATCH
            )
        ):
            if kind not in ("create", "update", "delete"):
                continue  # read-flag changes
            is_series = kind != "delete" and item.type == "RecurringMaster"
            if not is_series:  # a series deleted or made single: its occurrences are gone
                removed += series.pop(item.id, [None, []])[1]
            if kind == "delete":
                removed.append(item.id)
            elif is_series:
                changed[item.uid] = item.id
            else:
                singles.append(item.id)
        token = {**token, "s": folder.item_sync_state}
        if _moved(_window(token), window):
            events = self._reanchor(folder, token, changed, removed, window)
        else:
            events = self._singles(singles, _window(token), removed)
            events += self._series(folder, token, changed, removed)
        yield from _pages(events, removed, token)

    def _singles(
        self, ids: list[str], window: tuple[datetime, datetime], removed: list[str]
    ) -> list[RemoteEvent]:
        """Changed single items: the ones in the window; the rest left it."""
        if not ids:
            return []
        events = []
        for item in self._ews.fetch(ids=[(i, None) for i in ids], only_fields=EVENT_FIELDS):
            if isinstance(item, ews_errors.ErrorItemNotFound):
                continue  # deleted since: the next sync reports it
            if isinstance(item, Exception):
                raise item
            start, end = _span(item)
            if start < window[1] and end > window[0]:
                events.append(remote_event(item))
            else:
                removed.append(item.id)
        return events

    def _series(
        self, folder: CalendarFolder, token: dict, changed: dict[str, str], removed: list[str]
    ) -> list[RemoteEvent]:
        """Re-expand changed series; their occurrences that no longer exist are removed."""
        if not changed:
            return []
        events, occurrences = self._expand(folder, _window(token), changed, only_series=True)
        for uid, master in changed.items():
            old = token["m"].get(master, [uid, []])[1]
            new = occurrences.get(master, [])
            removed += [occurrence for occurrence in old if occurrence not in new]
            token["m"][master] = [uid, new]
        return events

    def _reanchor(
        self,
        folder: CalendarFolder,
        token: dict,
        changed: dict[str, str],
        removed: list[str],
        window: tuple[datetime, datetime],
    ) -> list[RemoteEvent]:
        """Expand the caller's new window in full: everything in it, and the old window's
        occurrences that are not there any more."""
        masters = {uid: master for master, (uid, _) in token["m"].items()} | changed
        events, occurrences = self._expand(folder, window, masters)
        seen = {event.id for event in events}
        removed += [o for _, old in token["m"].values() for o in old if o not in seen]
        token["w"] = [edge.isoformat() for edge in window]
        token["m"] = {master: [uid, occurrences.get(master, [])] for uid, master in masters.items()}
        return events

    # free/busy

    def free_busy(self, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy:
        result = FreeBusy(busy={})
        for calendar_id in calendar_ids:
            try:
                with _errors(calendar_id):
                    view = self._folder(calendar_id).view(
                        start=_ews_time(start), end=_ews_time(end)
                    )
                    spans = [
                        _span(item) for item in _raising(view.only(*BUSY_FIELDS)) if _is_busy(item)
                    ]
            except CalendarAccessLost:
                result.lost.add(calendar_id)
                continue
            result.busy[calendar_id] = _merge([(max(s, start), min(e, end)) for s, e in spans])
        return result

    # writes

    def _find_by_key(self, folder: CalendarFolder, key: str) -> str | None:
        found = list(_raising(folder.filter(app_key=key).only("id")))
        return found[0].id if found else None

    def _fill(self, item: CalendarItem, event: EventWrite) -> CalendarItem:
        # In the event's own zone, so Exchange shows it there (StartTimeZone).
        zone = ZoneInfo(event.timezone)
        item.subject, item.body, item.location = event.title, event.description, event.location
        item.start = EWSDateTime.from_datetime(event.start.astimezone(zone))
        item.end = EWSDateTime.from_datetime(event.end.astimezone(zone))
        item.required_attendees = [
            Attendee(mailbox=Mailbox(email_address=a.email, name=a.name or None))
            for a in event.attendees
        ] or None
        item.legacy_free_busy_status = "Busy" if event.busy else "Free"
        return item

    def create_event(self, calendar_id: str, event: EventWrite) -> str:
        with _errors(calendar_id):
            folder = self._folder(calendar_id)
            # A retried create finds the item its first attempt made (the key is on it).
            existing = self._find_by_key(folder, event.key)
            if existing:
                return existing
            item = self._fill(CalendarItem(account=self._ews, folder=folder), event)
            item.app_key = event.key
            item.save(
                send_meeting_invitations=_send(event.send_invitations and item.required_attendees)
            )
            return item.id

    def update_event(self, calendar_id: str, event_id: str, event: EventWrite) -> None:
        with _errors(calendar_id):
            item = next(_raising(self._ews.fetch(ids=[(event_id, None)], only_fields=["subject"])))
            self._fill(item, event)
            item.save(
                update_fields=[
                    "subject",
                    "body",
                    "location",
                    "start",
                    "end",
                    "required_attendees",
                    "legacy_free_busy_status",
                ],
                send_meeting_invitations=_send(event.send_invitations),
            )

    def delete_event(self, calendar_id: str, event_id: str, notify: bool = True) -> None:
        with _errors(calendar_id):
            item = CalendarItem(
                account=self._ews, folder=self._folder(calendar_id), id=event_id, changekey=None
            )
            try:
                item.delete(send_meeting_cancellations=_send(notify))
            except ews_errors.ErrorItemNotFound:
                return  # already gone: that is what we wanted

    # calendars

    def create_calendar(self, name: str) -> RemoteCalendar:
        with _errors():
            try:
                folder = CalendarFolder(parent=self._ews.calendar, name=name).save()
            except ews_errors.ErrorFolderExists:
                # Folder names are unique under a parent: a retried create finds the folder
                # its first attempt made.
                folder = self._child_calendar(name)
                if folder is None:
                    raise
            return RemoteCalendar(id=folder.id, name=folder.name or name, access=Access.OWNER)

    def _child_calendar(self, name: str) -> CalendarFolder | None:
        """The calendar folder called `name` (case-insensitive, as Exchange compares folder
        names) right under the mailbox's calendar."""
        found = FolderCollection(account=self._ews, folders=[self._ews.calendar]).find_folders(
            depth=SHALLOW
        )
        wanted = name.casefold()
        return next(
            (
                f
                for f in _raising(found)
                if f.folder_class == "IPF.Appointment" and (f.name or "").casefold() == wanted
            ),
            None,
        )

    def delete_calendar(self, calendar_id: str) -> None:
        # No calendar id for the error mapping: a missing folder means "gone", not "lost".
        with _errors():
            try:
                self._folder(calendar_id).delete()
            except (ews_errors.ErrorFolderNotFound, ews_errors.ErrorItemNotFound):
                return  # already gone: that is what we wanted


def _send(notify: Any) -> str:
    return SEND_TO_ALL_AND_SAVE_COPY if notify else SEND_TO_NONE
