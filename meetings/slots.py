"""From the database to the pure availability engine: a page's rules, its hosts' busy time.

Reads are a fixed handful of indexed queries whatever the number of events (the public
slots endpoint is the hot path): the page and its hosts, their calendars, the busy events
overlapping the window, and the hosts' active reservations. No provider is ever called here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone as dj_timezone

from calendars import busy
from calendars import conferencing as calendar_conferencing
from calendars.models import Calendar, CalendarConnection, Event
from meetings import availability as engine
from meetings import routing
from meetings.models import (
    Booking,
    HostReservation,
    MeetingSettings,
    SchedulingPage,
    WorkingHours,
    default_weekly_hours,
)
from scheduler.models import User


class PageState:
    LIVE = "live"  # bookings go into the hosts' calendars
    OFFLINE = "offline"  # no working calendar connection: contacts send meeting requests
    BLOCKED = "blocked"  # an availability calendar is inactive: no booking at all
    DISABLED = "disabled"  # the owner turned scheduling pages off


# What the public slots JSON calls each state.
MODES = {PageState.LIVE: "booking", PageState.OFFLINE: "offline", PageState.BLOCKED: "blocked"}


def _clock(text: str) -> time:
    # The engine reads an interval ending at time(0) as ending at midnight (24:00).
    return time(0) if text == "24:00" else time.fromisoformat(text)


def _intervals(pairs) -> list[tuple[time, time]]:
    return [(_clock(start), _clock(end)) for start, end in pairs]


def _hours(weekly: dict, overrides: dict) -> dict:
    return {
        "weekly_hours": {int(day): _intervals(hours) for day, hours in weekly.items()},
        "date_overrides": {
            date.fromisoformat(day): _intervals(hours) for day, hours in overrides.items()
        },
    }


def page_rules(page: SchedulingPage, duration: int, timezone: str | None = None) -> engine.Rules:
    """The engine's rules for a page and one of its durations (minutes)."""
    return engine.Rules(
        timezone=timezone or page.timezone,
        **_hours(page.weekly_hours, page.date_overrides),
        duration=timedelta(minutes=duration),
        increment=timedelta(minutes=page.increment),
        buffer_before=timedelta(minutes=page.buffer_before),
        buffer_after=timedelta(minutes=page.buffer_after),
        minimum_notice=timedelta(minutes=page.min_notice),
        max_advance=page.max_advance_days,
        daily_maximum=page.daily_max,
    )


@dataclass(frozen=True)
class HostRules:
    """A page's rules for each of its hosts: the page's own (`page`: duration, buffers,
    notice, horizon, daily maximum, and its hours) — except, on a team page that uses each
    host's own working hours, every host's weekly hours, date overrides and time zone
    (`own`). Durations and buffers are the page's for everyone."""

    page: engine.Rules
    own: dict[int, engine.Rules] = field(default_factory=dict)

    def of(self, host_id: int) -> engine.Rules:
        return self.own.get(host_id, self.page)

    @property
    def duration(self) -> timedelta:
        return self.page.duration

    @property
    def buffer_before(self) -> timedelta:
        return self.page.buffer_before

    @property
    def buffer_after(self) -> timedelta:
        return self.page.buffer_after


Ruleset = engine.Rules | HostRules


def rules_of(rules: Ruleset, host_id: int) -> engine.Rules:
    return rules.of(host_id) if isinstance(rules, HostRules) else rules


def host_names(host_ids) -> dict[int, str]:
    """How explanations name hosts: their name, else their address."""
    return {
        pk: name or email
        for pk, name, email in User.objects.filter(pk__in=list(host_ids)).values_list(
            "pk", "full_name", "email"
        )
    }


def member_hours(host_ids) -> dict[int, tuple[str, dict, dict]]:
    """Each user's own working hours: (time zone, weekly hours, date overrides); a user who
    never set them works Monday to Friday 09:00-17:00 in their profile's time zone."""
    hours = {
        pk: (zone, default_weekly_hours(), {})
        for pk, zone in User.objects.filter(pk__in=list(host_ids)).values_list("pk", "timezone")
    }
    for row in WorkingHours.objects.filter(user_id__in=list(hours)):
        hours[row.user_id] = (row.timezone, row.weekly_hours, row.date_overrides)
    return hours


def rules_for(page: SchedulingPage, duration: int, host_ids=None) -> HostRules:
    """The page's rules for each host (see HostRules): two small queries for a page that
    uses its hosts' own hours, none otherwise."""
    shared = page_rules(page, duration)
    if not page.uses_member_hours:
        return HostRules(shared)
    host_ids = page_hosts(page) if host_ids is None else host_ids
    names = host_names(host_ids)
    own = {}
    for host_id, (zone, weekly, overrides) in member_hours(host_ids).items():
        who = names.get(host_id, "the host")
        own[host_id] = engine.Rules(
            timezone=zone,
            **_hours(weekly, overrides),
            duration=shared.duration,
            increment=shared.increment,
            buffer_before=shared.buffer_before,
            buffer_after=shared.buffer_after,
            minimum_notice=shared.minimum_notice,
            max_advance=shared.max_advance,
            daily_maximum=shared.daily_maximum,
            hours_label=f"{who}'s working hours",
        )
    return HostRules(shared, own)


@dataclass(frozen=True)
class Plan:
    """How a page takes bookings right now, and whose time it offers.

    `hosts` are the hosts whose free time counts: every host of a group page, the owner of a
    one-on-one page, and the members of a round robin page who can take bookings (members
    whose calendar is broken are left out while others can take the booking).
    """

    state: str
    hosts: tuple[int, ...]
    inactive: tuple[Calendar, ...] = ()  # the calendars that block the page, if any

    @property
    def mode(self) -> str:
        return MODES.get(self.state, self.state)


@dataclass
class HostData:
    """Everything the engine needs about the hosts of a page, read in bulk."""

    host_ids: list[int]
    connections: dict[int, CalendarConnection] = field(default_factory=dict)
    calendars: list[Calendar] = field(default_factory=list)
    busy: dict[int, list[engine.BusyInterval]] = field(default_factory=dict)
    timelines: dict[int, engine.Timeline] = field(default_factory=dict)
    bookings: dict[int, list[engine.Booking]] = field(default_factory=dict)

    def inactive_calendars(self, host_id: int | None = None) -> list[Calendar]:
        return [
            c
            for c in self.calendars
            if c.for_availability
            and not c.is_active
            and (host_id is None or c.connection.user_id == host_id)
        ]

    def host_state(self, host_id: int) -> str:
        """LIVE when the host's calendar can take a booking; OFFLINE when there is no
        connection or it needs reconnecting (only requests can be taken: nothing would reach
        the calendar); BLOCKED when an availability calendar is inactive (SPEC §1.4)."""
        connection = self.connections.get(host_id)
        if connection is None:
            return PageState.OFFLINE
        if self.inactive_calendars(host_id):
            return PageState.BLOCKED
        if connection.needs_reconnect:
            return PageState.OFFLINE
        return PageState.LIVE

    def plan(self, kind: str, pages_enabled: bool = True) -> Plan:
        """The page's state from its hosts' calendar health; the same answer for the slots
        JSON, the public page, booking, the owner's dashboard and settings."""
        if not pages_enabled or not self.host_ids:  # turned off, or nobody in the rotation
            return Plan(PageState.DISABLED, ())
        states = {host_id: self.host_state(host_id) for host_id in self.host_ids}
        inactive = tuple(self.inactive_calendars())
        if kind == SchedulingPage.Kind.ROUND_ROBIN:
            for state in (PageState.LIVE, PageState.OFFLINE):
                chosen = tuple(h for h, s in states.items() if s == state)
                if chosen:
                    return Plan(state, chosen, inactive)
            return Plan(PageState.BLOCKED, (), inactive)
        hosts = tuple(self.host_ids)
        for state in (PageState.BLOCKED, PageState.OFFLINE):
            if state in states.values():
                return Plan(state, hosts, inactive)
        return Plan(PageState.LIVE, hosts)

    def add_busy(self, host_id: int, intervals: list[engine.BusyInterval]) -> None:
        """Busy time learnt outside the mirror (a provider's live answer)."""
        self.busy.setdefault(host_id, []).extend(intervals)


def load_hosts(
    host_ids: list[int],
    window: tuple[datetime, datetime],
    *,
    exclude_booking_id=None,
    labels: bool = False,
) -> HostData:
    """The hosts' calendars, busy time and reservations around `window`, in four indexed
    queries whatever the number of events: busy time comes merged from the store
    (calendars.busy), as a timeline per host. With `labels`, the events themselves are read
    instead, named after their calendars (for explanations to the owner)."""
    data = HostData(host_ids)
    for row in CalendarConnection.objects.filter(user_id__in=host_ids, scheduling_pages=True):
        data.connections.setdefault(row.user_id, row)
    data.calendars = list(
        Calendar.objects.filter(connection__in=list(data.connections.values()))
        .filter(Q(is_primary=True) | Q(for_availability=True))
        .select_related("connection")
    )
    margin = timedelta(days=1)  # buffers and daily caps look a little past the window
    start, end = window[0] - margin, window[1] + margin
    own = _events_of_booking(exclude_booking_id, data) if exclude_booking_id else {}
    if labels:
        _load_labelled_busy(data, start, end, skip=own)
    else:
        for host_id, (starts, ends) in busy.read(host_ids, start, end).items():
            if host_id not in own:
                data.timelines[host_id] = engine.Timeline(starts, ends)
        if own:  # those hosts' busy time without the booking's own events
            _load_labelled_busy(data, start, end, skip=own, hosts=own)
    reservations = HostReservation.objects.filter(
        host_id__in=host_ids, active=True, start__lt=end, end__gt=start
    )
    if exclude_booking_id is not None:
        reservations = reservations.exclude(booking_id=exclude_booking_id)
    for host_id, r_start, r_end in reservations.values_list("host_id", "start", "end"):
        data.bookings.setdefault(host_id, []).append(engine.Booking(r_start, r_end))
    return data


def _events_of_booking(booking_id, data: HostData) -> dict[int, set[int]]:
    """The mirrored events of a booking being moved, by host: its event in the host's
    calendar (tagged with its key) and the copies its invitation put in the calendars of
    attending hosts (same time, same organizer). They must not block the booking's own move
    (a 60-minute meeting moved by 30 minutes overlaps itself)."""
    booking = (
        Booking.objects.filter(pk=booking_id)
        .values("calendar_event_key", "start", "end", "host_id")
        .first()
    )
    if booking is None or not booking["calendar_event_key"]:
        return {}
    owners = {c.pk: c.connection.user_id for c in data.calendars if c.is_active}
    events = Event.objects.filter(calendar_id__in=list(owners))
    key = booking["calendar_event_key"]
    organizers = set(events.filter(app_key=key).values_list("organizer", flat=True))
    host = data.connections.get(booking["host_id"])
    if host is not None:
        organizers.add(host.account_email.lower())
    organizers.discard("")
    rows = events.filter(
        Q(app_key=key) | Q(start=booking["start"], end=booking["end"], organizer__in=organizers)
    )
    found: dict[int, set[int]] = {}
    for event_id, calendar_id in rows.values_list("pk", "calendar_id"):
        found.setdefault(owners[calendar_id], set()).add(event_id)
    return found


def _load_labelled_busy(
    data: HostData,
    start: datetime,
    end: datetime,
    skip: dict[int, set[int]] | None = None,
    hosts=None,
) -> None:
    """Busy events, named after their calendars: of `hosts` only when given, leaving out
    the event ids in `skip`."""
    names = {
        c.pk: (c.connection.user_id, c.name)
        for c in data.calendars
        if c.is_active and (hosts is None or c.connection.user_id in hosts)
    }
    rows = Event.objects.filter(
        calendar_id__in=list(names), busy=True, start__lt=end, end__gt=start
    ).exclude(pk__in=[pk for ids in (skip or {}).values() for pk in ids])
    for calendar_id, event_start, event_end in rows.values_list("calendar_id", "start", "end"):
        host_id, label = names[calendar_id]
        data.busy.setdefault(host_id, []).append(engine.BusyInterval(event_start, event_end, label))


def pages_enabled(page: SchedulingPage) -> bool:
    """False when the page is turned off or deleted, or its owner turned every page off."""
    return page.is_active and not page.is_deleted and pages_enabled_for(page.owner)


def pages_enabled_for(user) -> bool:
    """False once the user turned every scheduling page off (SPEC §1.8)."""
    return not MeetingSettings.objects.filter(user_id=user.pk, pages_enabled=False).exists()


def members(
    plan: Plan, rules: Ruleset, data: HostData, names: dict[int, str] | None = None
) -> list[engine.Member]:
    return [
        engine.Member(
            host_id,
            rules_of(rules, host_id),
            data.busy.get(host_id, ()),
            data.bookings.get(host_id, ()),
            (names or {}).get(host_id, ""),
            data.timelines.get(host_id),
        )
        for host_id in plan.hosts
    ]


def free_times(
    kind: str, hosts: list[engine.Member], window: tuple[datetime, datetime], now: datetime
) -> list[engine.RoundRobinSlot]:
    """The one answer to "which times can be booked, and with whom": each slot starting in
    `window` with the ids of the hosts free for it. One host's slots (one-on-one), the slots
    every host is free for (group), or those any host is free for (round robin).

    The slot list and the booking decision both come from here, so a page never offers a time
    it would refuse, nor refuses one it offers.
    """
    if not hosts:
        return []
    kwargs = {"window_start": window[0], "window_end": window[1], "now": now}
    if kind == SchedulingPage.Kind.ROUND_ROBIN:
        return engine.round_robin_slots(hosts, **kwargs)
    if kind == SchedulingPage.Kind.GROUP:
        everyone = tuple(sorted(host.id for host in hosts))
        return [
            engine.RoundRobinSlot(s.start, s.end, everyone)
            for s in engine.group_slots(hosts, **kwargs)
        ]
    (host,) = hosts
    return [
        engine.RoundRobinSlot(s.start, s.end, (host.id,))
        for s in engine.free_slots(
            host.rules, busy=host.busy, bookings=host.bookings, timeline=host.timeline, **kwargs
        )
    ]


def offered_slots(
    kind: str, plan: Plan, rules: Ruleset, data: HostData, window, now: datetime
) -> list[engine.Slot]:
    if plan.state in (PageState.BLOCKED, PageState.DISABLED):
        return []
    found = free_times(kind, members(plan, rules, data), window, now)
    return [engine.Slot(s.start, s.end) for s in found]


# A booking being moved keeps its hosts (the round robin member it went to, every attendee of
# a group meeting): each must be free at the new time, whatever the page's kind.
MOVING = SchedulingPage.Kind.GROUP


def moving_plan(data: HostData) -> Plan:
    """How a booking's move can be taken: LIVE only when every one of its hosts' calendars
    can take the change (loaded with `exclude_booking_id`, so it never blocks itself)."""
    return data.plan(MOVING)


def free_hosts(
    kind: str,
    plan: Plan,
    rules: Ruleset,
    data: HostData,
    start: datetime,
    now: datetime,
) -> tuple[int, ...]:
    """The hosts free for a booking at `start` (all of them for a group page); () when the
    page does not offer that time. The same computation as `offered_slots`, for one start."""
    window = (start, start + timedelta(microseconds=1))
    for slot in free_times(kind, members(plan, rules, data), window, now):
        if slot.start == start:
            return slot.member_ids
    return ()


def refusals(
    plan: Plan,
    rules: Ruleset,
    data: HostData,
    start: datetime,
    now: datetime,
    names: dict[int, str] | None = None,
) -> list[engine.Reason]:
    """Why each host cannot take `start` under their own rules (for messages; the decision
    is `free_hosts`). With `names`, each reason starts with whose it is."""
    return [
        reason
        for member in members(plan, rules, data, names)
        for reason in engine.explain_member(member, start, now=now)
    ]


def page_hosts(page: SchedulingPage) -> list[int]:
    """Whose time the page offers: the owner (one-on-one), every host (group), or the hosts
    in the rotation (round robin: a member taken out of it is never picked)."""
    if page.kind == SchedulingPage.Kind.ONE_ON_ONE:
        return [page.owner_id]
    if page.kind == SchedulingPage.Kind.ROUND_ROBIN:
        return routing.rotation(page)
    return page.host_ids()


@dataclass(frozen=True)
class PageHealth:
    """A page's state in plain words for its owner (dashboard, page tools)."""

    state: str
    level: str  # ok | warning | problem
    headline: str
    detail: str = ""


def page_health(page: SchedulingPage, now: datetime | None = None) -> PageHealth:
    """What the page does right now and why, from the same plan the public page uses."""
    now = now or dj_timezone.now()
    data = load_hosts(page_hosts(page), (now, now))
    plan = data.plan(page.kind, pages_enabled(page))
    if plan.state == PageState.DISABLED:
        if not page.is_active:
            return PageHealth(plan.state, "warning", "Turned off", "This page is turned off.")
        if not data.host_ids:
            return PageHealth(
                plan.state, "problem", "Not taking bookings", "Nobody is in the rotation."
            )
        return PageHealth(plan.state, "warning", "Turned off", "Scheduling pages are off.")
    if plan.state == PageState.BLOCKED:
        names = ", ".join(sorted({c.name for c in plan.inactive}))
        return PageHealth(
            plan.state,
            "problem",
            "Not taking bookings",
            f"Calendar {names} is inactive: remove it or regain access.",
        )
    unhealthy = [h for h in data.host_ids if data.host_state(h) != PageState.LIVE]
    why = _offline_reasons(data, unhealthy)
    if plan.state == PageState.OFFLINE:
        return PageHealth(plan.state, "warning", "Taking meeting requests only", why)
    if unhealthy:  # a round robin page with some members left out
        return PageHealth(plan.state, "warning", "Taking bookings, without some members", why)
    if missing := _without_conference(page, data):
        return PageHealth(
            plan.state, "warning", "Taking bookings, some without a video link", missing
        )
    return PageHealth(plan.state, "ok", "Taking bookings")


def _without_conference(page: SchedulingPage, data: HostData) -> str:
    """Hosts whose calendar cannot create the page's kind of video meeting."""
    if not page.creates_conference:
        return ""
    lacking = [
        host_id
        for host_id, connection in data.connections.items()
        if not calendar_conferencing.supports(connection, page.conferencing)
    ]
    if not lacking:
        return ""
    names = ", ".join(sorted(host_names(lacking).values()))
    return (
        f"{names}: their calendar cannot create {page.conference_label} links, so their "
        "bookings get none."
    )


def _offline_reasons(data: HostData, host_ids: list[int]) -> str:
    names = dict(User.objects.filter(pk__in=host_ids).values_list("pk", "email"))
    reasons = []
    for host_id in host_ids:
        connection = data.connections.get(host_id)
        who = names.get(host_id, "a host")
        if connection is None:
            reasons.append(f"{who} has no calendar connected")
        elif data.inactive_calendars(host_id):
            reasons.append(f"{who} has an inactive availability calendar")
        else:
            reasons.append(f"{who} must reconnect their calendar")
    return "; ".join(reasons) + "." if reasons else ""
