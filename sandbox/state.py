"""The sandbox's in-memory world, shared by every emulated provider.

Everything a provider module needs lives here in provider-neutral form: mailboxes and the
calendars they can see (with an access role), events (recurring ones expanded on demand),
a global change sequence from which sync tokens are cut, OAuth codes and grants, push
channels, injected faults, and a record of what clients wrote. Provider modules translate
between this model and their wire format.

Every public method takes the state lock, so the push thread and the request threads never
see half-applied changes; request handlers hold the same (re-entrant) lock for a whole request.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import secrets
import threading
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox import recurrence

PROVIDERS = ("google", "microsoft", "exchange")
PASSWORD_PROVIDERS = ("exchange",)  # sign in with the mailbox password, not OAuth
ROLES = ("freeBusyReader", "reader", "writer", "owner")  # weakest first
REQUEST_FAULTS = ("rate_limit", "server_error", "slow")
# Faults of push deliveries (Google channel messages, Graph notifications), per notification.
PUSH_FAULTS = ("push_delay", "push_duplicate", "push_drop", "push_reorder")
STATE_FAULTS = (
    "revoke_grant",
    "lose_calendar_access",
    "expire_sync_tokens",
    "expire_access_tokens",
)
CALENDAR_FIELDS = ("id", "name", "access", "primary", "timezone")
DEFAULT_PASSWORD = "sandbox"
REVOKED = "Token has been expired or revoked."  # Google's invalid_grant description
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
AUTH_CODE_LIFETIME = timedelta(minutes=10)


class SandboxError(Exception):
    """A request the sandbox refuses; `status` is the HTTP status the control API answers."""

    status = 400


class Invalid(SandboxError):
    status = 400


class NotFound(SandboxError):
    status = 404


class Conflict(SandboxError):
    status = 409


class Gone(SandboxError):
    status = 410


class OAuthError(SandboxError):
    """An RFC 6749 token-endpoint error (`invalid_grant`, `invalid_client`, ...)."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    # Hex is a subset of base32hex, so the id is valid for Google too.
    return uuid.uuid4().hex


def role_at_least(role: str, minimum: str) -> bool:
    return ROLES.index(role) >= ROLES.index(minimum)


def number(value: Any, name: str, kind: type = int) -> Any:
    """`value` as an int (or `kind`), or Invalid naming the field."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number") from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r}") from exc
    return name


# --- records -------------------------------------------------------------------------------


@dataclass
class Access:
    role: str
    primary: bool = False
    lost: bool = False  # set by the lose_calendar_access fault


@dataclass
class Mailbox:
    provider: str
    email: str
    password: str
    timezone: str
    calendars: dict[str, Access] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific settings

    @property
    def primary_calendar_id(self) -> str:
        return next(cal_id for cal_id, access in self.calendars.items() if access.primary)


@dataclass
class Calendar:
    id: str
    provider: str
    name: str
    timezone: str
    owner: str = ""  # email of the owning mailbox, empty for an outside calendar
    events: dict[str, Event] = field(default_factory=dict)
    sync_epoch: int = 0  # bumped to invalidate every sync token of the calendar


@dataclass
class Attendee:
    email: str
    name: str = ""
    response: str = "needsAction"  # needsAction | accepted | tentative | declined
    optional: bool = False


@dataclass
class Event:
    """One stored event: a single event, a recurring master, or an instance exception.

    Timed events have aware `start`/`end`; all-day events have dates with an exclusive end.
    A deleted event stays as a tombstone with status `cancelled` so syncs can report it.
    """

    id: str
    calendar_id: str
    start: datetime | date
    end: datetime | date
    timezone: str
    summary: str = ""
    description: str = ""
    location: str = ""
    status: str = "confirmed"  # confirmed | tentative | cancelled
    show_as: str = "busy"  # busy | free | tentative | oof | workingElsewhere
    event_type: str = "default"  # default | outOfOffice | workingLocation | focusTime
    organizer: str = ""
    attendees: list[Attendee] = field(default_factory=list)
    recurrence: list[str] = field(default_factory=list)
    recurring_event_id: str = ""
    original_start: datetime | date | None = None
    private_properties: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific fields
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    sequence: int = 0
    changed: int = 0  # position in the global change sequence

    def ical_uid(self, suffix: str) -> str:
        """The iCalendar UID: an invitation's copies keep the organizer's (`extra`); otherwise
        the series' or event's id with the provider's `suffix`."""
        return self.extra.get("ical_uid") or f"{self.recurring_event_id or self.id}{suffix}"

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def span(self) -> tuple[datetime, datetime]:
        """Aware [start, end); all-day events cover whole days in their time zone."""
        return (
            recurrence.instant(self.start, self.timezone),
            recurrence.instant(self.end, self.timezone),
        )

    def overlaps(self, window: tuple[datetime, datetime]) -> bool:
        start, end = self.span()
        return start < window[1] and end > window[0]

    def blocks_time_of(self, email: str) -> bool:
        """Whether the event makes `email` (the calendar's owner) busy."""
        if self.cancelled or self.show_as in ("free", "workingElsewhere"):
            return False
        if self.event_type == "workingLocation":
            return False
        own = [a for a in self.attendees if a.email.lower() == email.lower()]
        return not (own and own[0].response == "declined")


def instance_id(master_id: str, original_start: datetime | date) -> str:
    """Instance ids follow Google's `<master>_<UTC start>` (or `_<date>` for all-day)."""
    if isinstance(original_start, datetime):
        return f"{master_id}_{original_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{master_id}_{original_start:%Y%m%d}"


def _parse_instance_id(event_id: str) -> tuple[str, datetime | date] | None:
    master_id, _, stamp = event_id.rpartition("_")
    for fmt, is_date in (("%Y%m%dT%H%M%SZ", False), ("%Y%m%d", True)):
        try:
            parsed = datetime.strptime(stamp, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return master_id, parsed.date() if is_date else parsed
    return None


@dataclass
class AuthCode:
    code: str
    provider: str
    email: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str = ""
    code_challenge_method: str = ""
    nonce: str = ""
    expires_at: datetime = field(default_factory=lambda: now() + AUTH_CODE_LIFETIME)
    used: bool = False


@dataclass
class Grant:
    """What a user allowed a client; its refresh token lives as long as it is not revoked."""

    refresh_token: str
    provider: str
    email: str
    client_id: str
    client_secret: str
    scopes: list[str]
    revoked: bool = False
    nonce: str = ""
    issued_at: datetime = field(default_factory=now)
    last_used: datetime = field(default_factory=now)  # last refresh
    revoked_reason: str = ""  # the invalid_grant description refreshes get once revoked


@dataclass
class RefreshToken:
    """A refresh token issued by rotation (Microsoft): it stands for `grant` (the key of the
    grant, its first refresh token)."""

    grant: str
    issued_at: datetime = field(default_factory=now)
    last_used: datetime = field(default_factory=now)


@dataclass
class AccessToken:
    token: str
    refresh_token: str
    expires_at: datetime


@dataclass
class Fault:
    id: str
    kind: str
    provider: str
    email: str = ""  # empty: any mailbox of the provider
    remaining: int = 1
    retry_after: int = 1
    delay: float = 0.0
    status: int = 0  # 0: the provider's usual status for the kind
    probability: float = 1.0  # push_drop: the chance each affected notification is lost

    def matches(self, provider: str, email: str) -> bool:
        return self.provider == provider and self.email in ("", email.lower())


@dataclass
class Delivery:
    number: int
    resource_state: str
    at: datetime = field(default_factory=now)
    status: int = 0  # HTTP status the receiver answered; 0 when it could not be reached
    error: str = ""
    fault: str = ""  # what an injected push fault did to it: delayed, duplicate, dropped...


@dataclass
class Channel:
    """A push subscription (Google watch channel, Graph subscription) on one calendar."""

    id: str
    provider: str
    email: str
    calendar_id: str
    address: str
    token: str = ""
    resource_id: str = field(default_factory=new_id)
    resource_uri: str = ""
    expiration: datetime | None = None
    messages: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    stopped: bool = False
    lifecycle_address: str = ""  # Graph's lifecycleNotificationUrl
    paused: bool = False  # Graph: change notifications wait for a reauthorization

    def active(self, at: datetime) -> bool:
        return not self.stopped and (self.expiration is None or self.expiration > at)

    @property
    def delivering(self) -> bool:
        return not self.paused


@dataclass
class Write:
    """A create/update/delete a client made through a provider API."""

    provider: str
    email: str
    calendar_id: str
    event_id: str
    action: str  # create | update | delete
    body: dict[str, Any]
    attendees: list[str]
    send_updates: str  # all | external | none
    invited: list[str]
    at: datetime = field(default_factory=now)


@dataclass
class Invitation:
    provider: str
    email: str  # the mailbox that sent it
    attendee: str
    calendar_id: str
    event_id: str
    kind: str  # invite | update | cancel | reply (an attendee's answer to the organizer)
    summary: str
    start: datetime | date
    at: datetime = field(default_factory=now)
    response: str = ""  # reply: accepted | tentative | declined


@dataclass
class Change:
    calendar_id: str
    event_id: str
    kind: str  # created | updated | deleted


@dataclass
class Data:
    """Everything that is saved to the state file and wiped by a reset."""

    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)  # rotated ones
    clients: dict[str, dict[str, str]] = field(default_factory=dict)  # client id -> settings
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    deleted_calendars: list[str] = field(default_factory=list)  # ids, so they read as gone
    seq: int = 0


# --- JSON (state file and control API) -----------------------------------------------------


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_jsonable(item) for item in value]
    return value


def from_jsonable(hint: Any, value: Any) -> Any:
    """Rebuild what `to_jsonable` produced, guided by the type hints of the dataclasses."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None:
        return None
    if is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{k: from_jsonable(hints[k], v) for k, v in value.items() if k in hints})
    if origin is list:
        return [from_jsonable(args[0], item) for item in value]
    if origin is dict:
        return {key: from_jsonable(args[1], item) for key, item in value.items()}
    if origin is types.UnionType:
        if datetime in args:
            return parse_moment(value)
        return from_jsonable(next(arg for arg in args if arg is not type(None)), value)
    if hint in (datetime, date):
        return parse_moment(value)
    return value


def parse_moment(text: str) -> datetime | date:
    """ISO 8601: a date for all-day values, else an aware datetime (an offset is required)."""
    try:
        if "T" not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"not an ISO 8601 date or datetime: {text!r}") from exc
    if moment.tzinfo is None:
        raise Invalid(f"datetime needs a UTC offset: {text!r}")
    return moment


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque, URL-safe token (sync state, page position) carrying `payload`."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise Invalid("invalid token") from None
    if not isinstance(payload, dict):
        raise Invalid("invalid token")
    return payload


def locked(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self: State, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


# --- the state -----------------------------------------------------------------------------


@dataclass
class Settings:
    """How the sandbox itself behaves; start options, changeable through the control API and
    back to their start values on reset."""

    # Google and Graph insist on https push addresses; the app's tests receive on plain http.
    allow_http_push: bool = False
    # CA bundle push deliveries trust for https receivers (empty: the system's, as the real
    # services trust only publicly issued certificates).
    push_ca_file: str = ""


class State:
    def __init__(self, settings: Settings | None = None) -> None:
        self.lock = threading.RLock()
        self.data = Data()
        self.start_settings = settings or Settings()
        self.settings = dataclasses.replace(self.start_settings)
        self._listeners: list[Callable[[Change], None]] = []
        self._write_listeners: list[Callable[[str, Event, list[str]], None]] = []

    def on_write(self, listener: Callable[[str, Event, list[str]], None]) -> None:
        """Call `listener(provider, event, invited emails)` (under the lock) after every write
        a client made through a provider API."""
        self._write_listeners.append(listener)

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` (under the lock; it must not block) after every event change."""
        self._listeners.append(listener)

    @locked
    def reset(self) -> None:
        self.data = Data()
        self.settings = dataclasses.replace(self.start_settings)

    @locked
    def dump(self) -> dict[str, Any]:
        return to_jsonable(self.data)

    @locked
    def load(self, saved: dict[str, Any]) -> None:
        self.data = from_jsonable(Data, saved)

    # mailboxes and calendars

    @locked
    def add_mailbox(
        self,
        provider: str,
        email: str,
        password: str = DEFAULT_PASSWORD,
        timezone: str = "UTC",
        calendars: Iterable[dict[str, Any]] = (),
    ) -> Mailbox:
        if provider not in PROVIDERS:
            raise Invalid(f"provider must be one of {', '.join(PROVIDERS)}")
        email = email.strip().lower()
        if "@" not in email:
            raise Invalid("email must be an email address")
        if email in self.data.mailboxes:
            raise Conflict(f"mailbox {email} already exists")
        calendars = list(calendars)
        if not all(isinstance(spec, dict) for spec in calendars):
            raise Invalid("calendars must be a list of objects")
        if not any(spec.get("primary") for spec in calendars):
            # The primary calendar's id is the address, as Google does; others reuse it too.
            calendars.insert(0, {"id": email, "name": email, "access": "owner", "primary": True})
        mailbox = Mailbox(provider, email, password, check_timezone(timezone))
        self.data.mailboxes[email] = mailbox
        known = set(self.data.calendars)
        try:
            for spec in calendars:
                self.add_calendar(email, **{k: spec[k] for k in CALENDAR_FIELDS if k in spec})
        except SandboxError:
            # All or nothing: drop the mailbox and the calendars made for it.
            del self.data.mailboxes[email]
            for cal_id in set(self.data.calendars) - known:
                del self.data.calendars[cal_id]
            raise
        return mailbox

    @locked
    def mailbox(self, email: str) -> Mailbox:
        try:
            return self.data.mailboxes[email.strip().lower()]
        except KeyError:
            raise NotFound(f"no mailbox {email}") from None

    @locked
    def add_calendar(
        self,
        email: str,
        name: str = "",
        access: str = "owner",
        id: str = "",
        primary: bool = False,
        timezone: str = "",
    ) -> Calendar:
        """Give the mailbox a calendar: a new one, or an existing one shared with it."""
        mailbox = self.mailbox(email)
        if access not in ROLES:
            raise Invalid(f"access must be one of {', '.join(ROLES)}")
        calendar = self.data.calendars.get(id)
        if calendar is None:
            owner = mailbox.email if access == "owner" else ""
            calendar = Calendar(
                id or new_id(),
                mailbox.provider,
                name or id or "Calendar",
                check_timezone(timezone or mailbox.timezone),
                owner,
            )
            self.data.calendars[calendar.id] = calendar
        elif calendar.provider != mailbox.provider:
            raise Invalid(f"calendar {id} belongs to {calendar.provider}")
        previous = mailbox.calendars.get(calendar.id)
        primary = primary or bool(previous and previous.primary)
        if primary:
            for other in mailbox.calendars.values():
                other.primary = False
        mailbox.calendars[calendar.id] = Access(access, primary=primary)  # not lost any more
        return calendar

    @locked
    def delete_calendar(self, calendar_id: str) -> Calendar:
        """Delete a calendar with its events: it leaves every mailbox that could see it and
        its push channels stop. Providers check who may delete it; nobody's primary
        calendar can be deleted."""
        calendar = self.data.calendars.get(calendar_id)
        if calendar is None:
            raise NotFound(f"calendar {calendar_id} not found")
        seen_by = [m for m in self.data.mailboxes.values() if calendar_id in m.calendars]
        if any(m.calendars[calendar_id].primary for m in seen_by):
            raise Invalid("a primary calendar cannot be deleted")
        for mailbox in seen_by:
            del mailbox.calendars[calendar_id]
        for channel in self.data.channels.values():
            channel.stopped = channel.stopped or channel.calendar_id == calendar_id
        self.data.deleted_calendars.append(calendar_id)
        return self.data.calendars.pop(calendar_id)

    @locked
    def owned_calendar(self, mailbox: Mailbox, name: str) -> Calendar | None:
        """The mailbox's own secondary calendar called `name` (case-insensitive), for the
        providers that keep calendar names unique (Exchange, and Graph on top of it)."""
        wanted = name.casefold()
        for calendar, access in self.calendars_of(mailbox):
            if access.role == "owner" and not access.primary and calendar.name.casefold() == wanted:
                return calendar
        return None

    @locked
    def calendars_of(self, mailbox: Mailbox) -> list[tuple[Calendar, Access]]:
        """The calendars the mailbox can currently see, primary first."""
        seen = [
            (self.data.calendars[cal_id], access)
            for cal_id, access in mailbox.calendars.items()
            if not access.lost
        ]
        return sorted(seen, key=lambda pair: not pair[1].primary)

    @locked
    def calendar_for(self, mailbox: Mailbox, calendar_id: str) -> tuple[Calendar, Access]:
        """The calendar and the mailbox's access to it; NotFound if it cannot see it."""
        if calendar_id == "primary":
            calendar_id = mailbox.primary_calendar_id
        access = mailbox.calendars.get(calendar_id)
        if access is None or access.lost:
            raise NotFound(f"calendar {calendar_id} not found")
        return self.data.calendars[calendar_id], access

    # events

    @locked
    def create_event(self, calendar: Calendar, event: Event) -> Event:
        event.id = event.id or new_id()
        if event.id in calendar.events:
            raise Conflict("The requested identifier already exists.")
        event.calendar_id = calendar.id
        event.organizer = event.organizer or calendar.owner or calendar.id
        validate_event(event)
        event.created = event.updated = now()
        calendar.events[event.id] = event
        self._changed(calendar, event, "created")
        return event

    @locked
    def find_event(self, calendar: Calendar, event_id: str) -> Event:
        """A stored event, or an instance of a recurring event not stored on its own."""
        event = calendar.events.get(event_id)
        if event is not None:
            return event
        parsed = _parse_instance_id(event_id)
        master = calendar.events.get(parsed[0]) if parsed else None
        if master is None or not master.recurrence or master.cancelled:
            raise NotFound(f"event {event_id} not found")
        original = parsed[1]
        if isinstance(original, datetime):
            original = original.astimezone(ZoneInfo(master.timezone))
        if not recurrence.is_occurrence(master.recurrence, master.start, master.timezone, original):
            raise NotFound(f"event {event_id} not found")
        return _instance(master, original)

    @locked
    def update_event(
        self,
        calendar: Calendar,
        event_id: str,
        changes: dict[str, Any],
        bump_sequence: bool = True,
    ) -> tuple[Event, Event]:
        """Apply field changes; returns (before, after). Editing an instance stores an exception.
        An attendee's answer is a change that leaves the iCalendar SEQUENCE alone."""
        before = self.find_event(calendar, event_id)
        if before.cancelled:
            raise Gone(f"event {event_id} has been deleted")
        after = dataclasses.replace(before, **changes)
        validate_event(after)
        after.sequence = before.sequence + (1 if bump_sequence else 0)
        after.updated = now()
        calendar.events[after.id] = after
        self._changed(calendar, after, "updated")
        return before, after

    @locked
    def delete_event(self, calendar: Calendar, event_id: str) -> Event:
        """Turn the event into a tombstone; deleting one instance cancels just that instance,
        deleting a series cancels its edited instances too."""
        event = self.find_event(calendar, event_id)
        if event.cancelled:
            raise Gone(f"event {event_id} has been deleted")
        if event.recurrence:
            for exception in [
                e
                for e in calendar.events.values()
                if e.recurring_event_id == event.id and not e.cancelled
            ]:
                self._cancel(calendar, exception)
        return self._cancel(calendar, event)

    def _cancel(self, calendar: Calendar, event: Event) -> Event:
        tombstone = dataclasses.replace(event, status="cancelled", updated=now())
        calendar.events[event.id] = tombstone
        self._changed(calendar, tombstone, "deleted")
        return tombstone

    def _changed(self, calendar: Calendar, event: Event, kind: str) -> None:
        self.data.seq += 1
        event.changed = self.data.seq
        change = Change(calendar.id, event.id, kind)
        for listener in self._listeners:
            listener(change)

    @locked
    def instances(
        self, calendar: Calendar, master: Event, window: tuple[datetime, datetime] | None = None
    ) -> list[Event]:
        """The instances of a recurring event, its exceptions applied, cancelled ones included.

        Live instances are kept when they overlap `window`, cancelled ones when their
        original start falls in it.
        """
        duration = master.span()[1] - master.span()[0]
        starts = recurrence.occurrences(
            master.recurrence, master.start, master.timezone, duration, window, now()
        )
        found = {instance_id(master.id, start): _instance(master, start) for start in starts}
        found.update(
            (e.id, e) for e in calendar.events.values() if e.recurring_event_id == master.id
        )
        return sorted(
            (e for e in found.values() if _in_window(e, window)), key=lambda e: e.span()[0]
        )

    @locked
    def occurrences(self, calendar: Calendar, window: tuple[datetime, datetime]) -> list[Event]:
        """Live single events and recurring instances overlapping `window`, by start."""
        found = []
        for event in calendar.events.values():
            if event.cancelled or event.recurring_event_id:
                continue
            if event.recurrence:
                found += [e for e in self.instances(calendar, event, window) if not e.cancelled]
            elif event.overlaps(window):
                found.append(event)
        return sorted(found, key=lambda e: e.span()[0])

    @locked
    def changes_since(self, calendar: Calendar, seq: int) -> list[Event]:
        """Stored events (tombstones included) changed after `seq`, oldest change first."""
        changed = [e for e in calendar.events.values() if e.changed > seq]
        return sorted(changed, key=lambda e: e.changed)

    @locked
    def sync_token(self, calendar: Calendar, position: int | None = None) -> str:
        """A token for the changes after `position` (default: now) in the calendar."""
        position = self.data.seq if position is None else position
        return encode_token({"c": calendar.id, "s": position, "e": calendar.sync_epoch})

    @locked
    def sync_position(self, calendar: Calendar, token: str) -> int:
        """The change position a sync token stands for; Gone once the token was expired."""
        payload = decode_token(token)
        if not {"s", "e", "c"} <= payload.keys():
            raise Invalid("invalid sync token")
        position, epoch, calendar_id = payload["s"], payload["e"], payload["c"]
        if calendar_id != calendar.id:
            raise Invalid("sync token belongs to another calendar")
        if epoch != calendar.sync_epoch:
            raise Gone("Sync token is no longer valid, a full sync is required.")
        return position

    # OAuth

    @locked
    def issue_code(
        self,
        provider: str,
        email: str,
        client_id: str,
        redirect_uri: str,
        scopes: list[str],
        code_challenge: str = "",
        code_challenge_method: str = "",
        nonce: str = "",
    ) -> AuthCode:
        code = AuthCode(
            secrets.token_urlsafe(32),
            provider,
            self.mailbox(email).email,
            client_id,
            redirect_uri,
            scopes,
            code_challenge,
            code_challenge_method or ("S256" if code_challenge else ""),
            nonce,
        )
        self.data.auth_codes[code.code] = code
        return code

    @locked
    def redeem_code(
        self,
        provider: str,
        code: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> Grant:
        """Exchange an authorization code once (RFC 6749 4.1.3, PKCE per RFC 7636)."""
        issued = self.data.auth_codes.get(code)
        if issued is None or issued.provider != provider or issued.expires_at < now():
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if issued.used:
            raise OAuthError("invalid_grant", "The authorization code was already used.")
        issued.used = True
        if issued.client_id != client_id:
            raise OAuthError("invalid_client", "The code was issued to another client.", 401)
        if issued.redirect_uri != redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if issued.code_challenge and not _pkce_matches(issued, code_verifier):
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        return self.issue_grant(
            provider, issued.email, client_id, client_secret, issued.scopes, issued.nonce
        )

    @locked
    def issue_grant(
        self,
        provider: str,
        email: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        nonce: str = "",
    ) -> Grant:
        mailbox = self.mailbox(email)
        if mailbox.provider != provider:
            raise Invalid(f"{email} is a {mailbox.provider} mailbox")
        grant = Grant(
            secrets.token_urlsafe(32),
            provider,
            mailbox.email,
            client_id,
            client_secret,
            scopes,
            nonce=nonce,
        )
        self.data.grants[grant.refresh_token] = grant
        return grant

    @locked
    def refresh_grant(
        self, provider: str, refresh_token: str, client_id: str, client_secret: str
    ) -> Grant:
        grant = self.grant_for(refresh_token)
        if grant is None or grant.provider != provider:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if grant.revoked:
            raise OAuthError("invalid_grant", grant.revoked_reason or REVOKED)
        # Grants minted by the control API name no client, so any client may refresh them.
        if grant.client_id and (grant.client_id, grant.client_secret) != (client_id, client_secret):
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        return grant

    @locked
    def grant_for(self, refresh_token: str) -> Grant | None:
        """The grant a refresh token (its first one, or one issued by rotation) stands for."""
        rotated = self.data.refresh_tokens.get(refresh_token)
        return self.data.grants.get(rotated.grant if rotated else refresh_token)

    @locked
    def rotate_refresh_token(self, grant: Grant) -> str:
        """A new refresh token for the grant; the ones before it stay valid."""
        token = secrets.token_urlsafe(32)
        self.data.refresh_tokens[token] = RefreshToken(grant.refresh_token)
        return token

    @locked
    def revoke_grants(self, grants: Iterable[Grant], reason: str = "") -> int:
        """Revoke grants; refreshing them answers invalid_grant with `reason` from now on."""
        count = 0
        for grant in grants:
            if not grant.revoked:
                grant.revoked, grant.revoked_reason = True, reason
                count += 1
        return count

    @locked
    def issue_access_token(
        self, grant: Grant, lifetime: timedelta = ACCESS_TOKEN_LIFETIME
    ) -> AccessToken:
        token = AccessToken(secrets.token_urlsafe(32), grant.refresh_token, now() + lifetime)
        self.data.access_tokens[token.token] = token
        return token

    @locked
    def authenticate(self, provider: str, token: str) -> tuple[Mailbox, Grant] | None:
        """The mailbox and grant behind a live access token, None if unknown/expired/revoked."""
        access = self.data.access_tokens.get(token)
        grant = self.data.grants.get(access.refresh_token) if access else None
        if grant is None or grant.revoked or grant.provider != provider:
            return None
        if access.expires_at <= now():
            return None
        return self.mailbox(grant.email), grant

    @locked
    def revoke_token(self, token: str) -> bool:
        """Revoke the grant behind a refresh or access token, as a user removing access does."""
        access = self.data.access_tokens.get(token)
        grant = self.grant_for(access.refresh_token if access else token)
        if grant is not None:
            grant.revoked = True
        return grant is not None

    # faults

    @locked
    def add_fault(
        self,
        kind: str,
        provider: str,
        email: str = "",
        count: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
        status: int = 0,
        calendar_id: str = "",
        probability: float = 1.0,
    ) -> dict[str, Any]:
        """Queue a request or push fault, or apply a state fault at once; returns what was done."""
        if provider not in PROVIDERS:
            raise Invalid(f"provider must be one of {', '.join(PROVIDERS)}")
        email = email.strip().lower()
        if kind in REQUEST_FAULTS + PUSH_FAULTS:
            fault = Fault(
                new_id(),
                kind,
                provider,
                email,
                number(count, "count"),
                number(retry_after, "retry_after"),
                number(delay, "delay", float),
                number(status, "status"),
                number(probability, "probability", float),
            )
            if fault.remaining < 1 or not 0 <= fault.probability <= 1:
                raise Invalid("count must be at least 1 and probability between 0 and 1")
            self.data.faults.append(fault)
            return to_jsonable(fault)
        if kind not in STATE_FAULTS:
            kinds = REQUEST_FAULTS + PUSH_FAULTS + STATE_FAULTS
            raise Invalid(f"kind must be one of {', '.join(kinds)}")
        affected = getattr(self, f"_fault_{kind}")(provider, email, calendar_id)
        return {"kind": kind, "provider": provider, "email": email, "affected": affected}

    def _mailboxes_for(self, provider: str, email: str) -> list[Mailbox]:
        if email:
            return [self.mailbox(email)]
        return [m for m in self.data.mailboxes.values() if m.provider == provider]

    def _fault_revoke_grant(self, provider: str, email: str, calendar_id: str) -> int:
        if provider in PASSWORD_PROVIDERS:
            # A password mailbox has no grant to revoke: its password changes instead.
            mailboxes = self._mailboxes_for(provider, email)
            for mailbox in mailboxes:
                mailbox.password = secrets.token_urlsafe(16)
            return len(mailboxes)
        grants = [
            g
            for g in self.data.grants.values()
            if g.provider == provider and email in ("", g.email) and not g.revoked
        ]
        for grant in grants:
            grant.revoked = True
        return len(grants)

    def _fault_expire_access_tokens(self, provider: str, email: str, calendar_id: str) -> int:
        expired = 0
        for token in self.data.access_tokens.values():
            grant = self.data.grants[token.refresh_token]
            if grant.provider == provider and email in ("", grant.email):
                token.expires_at = now()
                expired += 1
        return expired

    def _fault_lose_calendar_access(self, provider: str, email: str, calendar_id: str) -> int:
        if not (email and calendar_id):
            raise Invalid("lose_calendar_access needs email and calendar_id")
        access = self.mailbox(email).calendars.get(calendar_id)
        if access is None:
            raise NotFound(f"{email} has no calendar {calendar_id}")
        access.lost = True
        return 1

    def _fault_expire_sync_tokens(self, provider: str, email: str, calendar_id: str) -> int:
        ids = {
            cal_id
            for mailbox in self._mailboxes_for(provider, email)
            for cal_id in mailbox.calendars
            if calendar_id in ("", cal_id)
        }
        for cal_id in ids:
            self.data.calendars[cal_id].sync_epoch += 1
        return len(ids)

    @locked
    def take_fault(self, provider: str, email: str) -> Fault | None:
        """The next queued fault for a request of `email` to `provider`, consuming one use."""
        found = self._take(provider, email, REQUEST_FAULTS)
        return found[0] if found else None

    @locked
    def take_push_faults(self, provider: str, email: str) -> list[Fault]:
        """The push faults that apply to the next notification of `email`'s channel (at most
        one of each kind), each consuming one use."""
        found: list[Fault] = []
        for kind in PUSH_FAULTS:
            found += self._take(provider, email, (kind,))
        return found

    def _take(self, provider: str, email: str, kinds: tuple[str, ...]) -> list[Fault]:
        for fault in self.data.faults:
            if fault.kind in kinds and fault.matches(provider, email):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.data.faults.remove(fault)
                return [fault]
        return []

    @locked
    def clear_faults(self) -> None:
        """Drop queued faults and give back lost calendar access; revoked grants stay revoked."""
        self.data.faults.clear()
        for mailbox in self.data.mailboxes.values():
            for access in mailbox.calendars.values():
                access.lost = False

    # push channels

    @locked
    def add_channel(self, channel: Channel) -> Channel:
        existing = self.data.channels.get(channel.id)
        if existing is not None and existing.active(now()):
            raise Conflict(f"channel id {channel.id} is not unique")
        self.data.channels[channel.id] = channel
        return channel

    @locked
    def stop_channel(self, provider: str, channel_id: str, resource_id: str = "") -> None:
        channel = self.data.channels.get(channel_id)
        if channel is None or channel.provider != provider or channel.stopped:
            raise NotFound(f"channel {channel_id} not found")
        if resource_id and resource_id != channel.resource_id:
            raise NotFound(f"channel {channel_id} has another resource id")
        channel.stopped = True

    @locked
    def channels_for(self, calendar_id: str) -> list[Channel]:
        at = now()
        return [
            c for c in self.data.channels.values() if c.calendar_id == calendar_id and c.active(at)
        ]

    # what clients wrote

    @locked
    def record_write(
        self,
        provider: str,
        mailbox: Mailbox,
        action: str,
        before: Event | None,
        after: Event,
        body: dict[str, Any],
        send_updates: str,
    ) -> Write:
        """Log an API write and the invitations it sent (`send_updates`: all|external|none)."""
        sent = _invitations(provider, mailbox, action, before, after, send_updates)
        self.data.invitations += sent
        write = Write(
            provider,
            mailbox.email,
            after.calendar_id,
            after.id,
            action,
            body,
            [a.email for a in after.attendees],
            send_updates,
            [i.attendee for i in sent],
        )
        self.data.writes.append(write)
        for listener in self._write_listeners:
            listener(provider, after, write.invited)
        return write


def validate_event(event: Event) -> None:
    if isinstance(event.start, datetime) != isinstance(event.end, datetime):
        raise Invalid("start and end must both be dates or both be datetimes")
    if event.end < event.start:
        raise Invalid("The specified time range is empty.")
    check_timezone(event.timezone)
    if event.recurrence:
        recurrence.parse(event.recurrence, event.start, event.timezone)


def _instance(master: Event, start: datetime | date) -> Event:
    duration = master.end - master.start
    return dataclasses.replace(
        master,
        id=instance_id(master.id, start),
        start=start,
        end=start + duration,
        recurrence=[],
        recurring_event_id=master.id,
        original_start=start,
        attendees=[dataclasses.replace(a) for a in master.attendees],
    )


def _in_window(event: Event, window: tuple[datetime, datetime] | None) -> bool:
    if window is None:
        return True
    if event.cancelled:
        original = recurrence.instant(event.original_start, event.timezone)
        return window[0] <= original < window[1]
    return event.overlaps(window)


def _pkce_matches(code: AuthCode, verifier: str) -> bool:
    if code.code_challenge_method == "plain":
        return secrets.compare_digest(verifier, code.code_challenge)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(expected, code.code_challenge)


def _invitations(
    provider: str,
    mailbox: Mailbox,
    action: str,
    before: Event | None,
    after: Event,
    send_updates: str,
) -> list[Invitation]:
    """Who hears about a write: new guests get invites, current ones updates, removed ones
    (and everyone on delete) cancellations; the organizer never mails themself."""
    if send_updates == "none":
        return []
    domain = mailbox.email.rpartition("@")[2]
    old = {a.email.lower() for a in before.attendees} if before else set()
    new = {a.email.lower() for a in after.attendees}
    if action == "delete":
        targets = dict.fromkeys(new, "cancel")
    else:
        targets = {email: "update" if email in old else "invite" for email in new}
        targets.update(dict.fromkeys(old - new, "cancel"))
    return [
        Invitation(
            provider,
            mailbox.email,
            email,
            after.calendar_id,
            after.id,
            kind,
            after.summary,
            after.start,
        )
        for email, kind in sorted(targets.items())
        if email != mailbox.email and (send_updates == "all" or email.rpartition("@")[2] != domain)
    ]
