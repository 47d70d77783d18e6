"""The one interface every calendar provider implements, and its typed errors.

Views and tasks talk to providers only through `CalendarProvider`; they never branch on a
provider's name. Errors say what the caller must do: ask the user to reconnect, mark one
calendar inactive, wait and retry, retry with backoff, or record and stop.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings


class ProviderError(Exception):
    """Base of every provider failure. `permanent` tells the caller whether to retry."""

    permanent = False

    def __init__(self, message: str = "", *, detail: str = ""):
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.detail = detail


class ReconnectRequired(ProviderError):
    """The grant was revoked or the password changed: the user must reconnect."""

    permanent = True


class CalendarAccessLost(ProviderError):
    """The connected account can no longer read this calendar."""

    permanent = True

    def __init__(self, calendar_id: str, message: str = "", **kwargs):
        super().__init__(message or f"Access to calendar {calendar_id!r} was lost.", **kwargs)
        self.calendar_id = calendar_id


class RateLimited(ProviderError):
    """The provider asked us to slow down; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str = "", **kwargs):
        super().__init__(message or f"Rate limited; retry after {retry_after:g}s.", **kwargs)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """A passing fault (5xx, timeout, connection reset): retry with backoff."""


class PermanentError(ProviderError):
    """A request the provider will never accept: record it, alert, don't retry."""

    permanent = True


class SyncTokenExpired(ProviderError):
    """The stored sync state is no longer valid: wipe the mirror and sync fully."""


class InvalidServer(PermanentError):
    """The server is not what the user said it is (not EWS, or too old)."""


# --- Values crossing the boundary -------------------------------------------------------


class Access:
    OWNER = "owner"
    WRITER = "writer"
    READER = "reader"
    FREE_BUSY = "free_busy"

    # Only these may be offered as availability calendars (free/busy-only is not enough).
    FULL_READ = frozenset({OWNER, WRITER, READER})


@dataclass(frozen=True)
class RemoteCalendar:
    id: str
    name: str
    access: str
    primary: bool = False
    timezone: str = ""


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    response: str = ""  # accepted | declined | tentative | needsAction | ""


@dataclass(frozen=True)
class RemoteEvent:
    """An event as the mirror needs it. Times are aware UTC; all-day events span whole
    days in the calendar's time zone."""

    id: str
    start: datetime
    end: datetime
    busy: bool
    title: str = ""
    all_day: bool = False
    attendees: tuple[Attendee, ...] = ()
    organizer: str = ""
    recurring_event_id: str = ""
    app_key: str = ""  # set on events this app wrote (its idempotency key)


@dataclass
class ChangePage:
    """One page of changes; `next_sync_token` is set on the last page only."""

    events: list[RemoteEvent] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)
    next_sync_token: str | None = None


@dataclass(frozen=True)
class BusyInterval:
    start: datetime
    end: datetime


@dataclass
class FreeBusy:
    busy: dict[str, list[BusyInterval]]
    lost: set[str] = field(default_factory=set)  # calendars the account can no longer read


@dataclass(frozen=True)
class EventWrite:
    """An event the app writes. `key` is the idempotency key (32 lowercase hex chars): a
    retried create with the same key never makes a second event. `busy=False` writes an
    event that leaves the user's time free (a CRM task, a reminder), so it never blocks a
    booking."""

    key: str
    title: str
    start: datetime
    end: datetime
    timezone: str = "UTC"
    description: str = ""
    location: str = ""
    attendees: tuple[Attendee, ...] = ()
    send_invitations: bool = True
    busy: bool = True
    # A video meeting the provider creates with the event ("google_meet", "teams"; see
    # `CalendarProvider.conference_kinds`). Asked on create only; updates keep it.
    conference: str = ""


@dataclass(frozen=True)
class Conference:
    """A video meeting attached to an event: `status` is "pending" (the provider is still
    creating it), "ready" (with its `url`) or "failed" (it will not be created)."""

    status: str
    url: str = ""


@dataclass(frozen=True)
class WatchChannel:
    id: str
    resource_id: str
    expires_at: datetime
    token: str = ""


CredentialsCallback = Callable[[dict], None]


class CalendarProvider(abc.ABC):
    """A connection to one mailbox at one provider.

    `credentials` is the provider's own dict (tokens, or EWS username/password/URL), as
    stored encrypted on the connection; when the provider refreshes it, `on_credentials`
    receives the new dict so the caller can store it. `timeout` bounds every network wait of
    every call, in seconds (settings.PROVIDER_TIMEOUT_SECONDS when None); calls made while a
    person waits pass a short one.
    """

    name: str
    supports_push: bool = False
    # Video meetings this provider creates with an event (EventWrite.conference).
    conference_kinds: frozenset[str] = frozenset()

    def __init__(
        self,
        credentials: dict,
        on_credentials: CredentialsCallback | None = None,
        timeout: float | None = None,
    ):
        self.credentials = dict(credentials)
        self._on_credentials = on_credentials
        self.timeout = float(timeout or settings.PROVIDER_TIMEOUT_SECONDS)

    def _credentials_changed(self, credentials: dict) -> None:
        self.credentials = dict(credentials)
        if self._on_credentials is not None:
            self._on_credentials(dict(credentials))

    @abc.abstractmethod
    def account_email(self) -> str:
        """The mailbox address of the connected account."""

    @abc.abstractmethod
    def list_calendars(self) -> list[RemoteCalendar]: ...

    @abc.abstractmethod
    def changes(
        self, calendar_id: str, sync_token: str | None, window: tuple[datetime, datetime]
    ) -> Iterator[ChangePage]:
        """Pages of changes since `sync_token` (all events in `window` when None).

        Raises SyncTokenExpired when the token is no longer accepted.
        """

    @abc.abstractmethod
    def free_busy(self, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy: ...

    @abc.abstractmethod
    def create_event(self, calendar_id: str, event: EventWrite) -> str:
        """Create (or find the one already created with `event.key`); return its id."""

    @abc.abstractmethod
    def update_event(self, calendar_id: str, event_id: str, event: EventWrite) -> None: ...

    @abc.abstractmethod
    def delete_event(self, calendar_id: str, event_id: str, notify: bool = True) -> None:
        """Delete an event; one that is already gone counts as deleted."""

    @abc.abstractmethod
    def create_calendar(self, name: str) -> RemoteCalendar:
        """Create a calendar the connected account owns (access OWNER).

        A calendar of that name the account already owns is returned instead of a second
        one: Exchange and Microsoft 365 refuse duplicate names, and a retried create must
        not leave two calendars behind where the provider would allow it.
        """

    @abc.abstractmethod
    def delete_calendar(self, calendar_id: str) -> None:
        """Delete a calendar the account owns, with its events; one already gone counts
        as deleted."""

    def revoke(self) -> bool:
        """Withdraw the grant at the provider where it allows that; True when it did."""
        return False

    def conference(self, calendar_id: str, event_id: str) -> Conference | None:
        """The video meeting of an event created with `EventWrite.conference`; None when the
        provider creates none."""
        return None

    def watch(
        self, calendar_id: str, address: str, token: str, channel_id: str, ttl_seconds: int
    ) -> WatchChannel:
        raise NotImplementedError(f"{self.name} has no push notifications")

    def unwatch(self, channel: WatchChannel) -> None:
        raise NotImplementedError(f"{self.name} has no push notifications")
