"""From the database to the pure availability engine: a page's rules, its hosts' busy time.

Reads are a fixed handful of indexed queries whatever the number of events (the public
slots endpoint is the hot path): the page and its hosts, their calendars, the busy events
overlapping the window, and the hosts' active reservations. No provider is ever called here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Q

from calendars.models import Calendar, CalendarConnection, Event
from meetings import availability as engine
from meetings.models import HostReservation, MeetingSettings, SchedulingPage


class PageState:
    LIVE = "live"  # bookings go into the host's calendar
    OFFLINE = "offline"  # no connected calendar: contacts send meeting requests
    BLOCKED = "blocked"  # an availability calendar is inactive: no booking at all
    DISABLED = "disabled"  # the owner turned scheduling pages off


def _clock(text: str) -> time:
    # The engine reads an interval ending at time(0) as ending at midnight (24:00).
    return time(0) if text == "24:00" else time.fromisoformat(text)


def _intervals(pairs) -> list[tuple[time, time]]:
    return [(_clock(start), _clock(end)) for start, end in pairs]


def page_rules(page: SchedulingPage, duration: int, timezone: str | None = None) -> engine.Rules:
    """The engine's rules for a page and one of its durations (minutes)."""
    return engine.Rules(
        timezone=timezone or page.timezone,
        weekly_hours={int(day): _intervals(hours) for day, hours in page.weekly_hours.items()},
        date_overrides={
            date.fromisoformat(day): _intervals(hours) for day, hours in page.date_overrides.items()
        },
        duration=timedelta(minutes=duration),
        increment=timedelta(minutes=page.increment),
        buffer_before=timedelta(minutes=page.buffer_before),
        buffer_after=timedelta(minutes=page.buffer_after),
        minimum_notice=timedelta(minutes=page.min_notice),
        max_advance=page.max_advance_days,
        daily_maximum=page.daily_max,
    )


@dataclass
class HostData:
    """Everything the engine needs about the hosts of a page, read in bulk."""

    host_ids: list[int]
    connections: dict[int, CalendarConnection] = field(default_factory=dict)
    calendars: list[Calendar] = field(default_factory=list)
    busy: dict[int, list[engine.BusyInterval]] = field(default_factory=dict)
    bookings: dict[int, list[engine.Booking]] = field(default_factory=dict)

    def inactive_calendars(self) -> list[Calendar]:
        return [c for c in self.calendars if c.for_availability and not c.is_active]

    def state(self, pages_enabled: bool) -> str:
        if not pages_enabled:
            return PageState.DISABLED
        if self.inactive_calendars():
            return PageState.BLOCKED
        if any(self.connections.get(host_id) is None for host_id in self.host_ids):
            return PageState.OFFLINE
        return PageState.LIVE


def load_hosts(
    host_ids: list[int], window: tuple[datetime, datetime], *, exclude_booking_id=None
) -> HostData:
    data = HostData(host_ids)
    for row in CalendarConnection.objects.filter(user_id__in=host_ids, scheduling_pages=True):
        data.connections.setdefault(row.user_id, row)
    data.calendars = list(
        Calendar.objects.filter(connection__in=list(data.connections.values()))
        .filter(Q(is_primary=True) | Q(for_availability=True))
        .select_related("connection")
    )
    names = {c.pk: (c.connection.user_id, c.name) for c in data.calendars if c.is_active}
    margin = timedelta(days=1)  # buffers and daily caps look a little past the window
    start, end = window[0] - margin, window[1] + margin
    for calendar_id, event_start, event_end in _busy_rows(list(names), start, end):
        host_id, label = names[calendar_id]
        data.busy.setdefault(host_id, []).append(engine.BusyInterval(event_start, event_end, label))
    reservations = HostReservation.objects.filter(
        host_id__in=host_ids, active=True, start__lt=end, end__gt=start
    )
    if exclude_booking_id is not None:
        reservations = reservations.exclude(booking_id=exclude_booking_id)
    for host_id, r_start, r_end in reservations.values_list("host_id", "start", "end"):
        data.bookings.setdefault(host_id, []).append(engine.Booking(r_start, r_end))
    return data


MERGED_BUSY_SQL = """
SELECT calendar_id,
       EXTRACT(EPOCH FROM lower(busy))::float8,
       EXTRACT(EPOCH FROM upper(busy))::float8
FROM (
    SELECT calendar_id, unnest(range_agg(tstzrange("start", "end", '[)'))) AS busy
    FROM calendars_event
    WHERE calendar_id = ANY(%s) AND busy AND "start" < %s AND "end" > %s
    GROUP BY calendar_id
) merged
"""


def _busy_rows(calendar_ids: list[int], start: datetime, end: datetime):
    """(calendar id, start, end) of busy time, overlapping events merged per calendar.

    On PostgreSQL the database merges the ranges and hands back epoch seconds: on a busy
    calendar that is a fraction of the rows, and floats load far faster than timestamps.
    """
    if not calendar_ids:
        return []
    if connection.vendor != "postgresql":
        return Event.objects.filter(
            calendar_id__in=calendar_ids, busy=True, start__lt=end, end__gt=start
        ).values_list("calendar_id", "start", "end")
    with connection.cursor() as cursor:
        cursor.execute(MERGED_BUSY_SQL, [calendar_ids, end, start])
        rows = cursor.fetchall()
    return [
        (calendar_id, datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC))
        for calendar_id, low, high in rows
    ]


def pages_enabled(page: SchedulingPage) -> bool:
    return pages_enabled_for(page.owner)


def pages_enabled_for(user) -> bool:
    """False once the user turned every scheduling page off (SPEC §1.8)."""
    return not MeetingSettings.objects.filter(user_id=user.pk, pages_enabled=False).exists()


def members(page: SchedulingPage, rules: engine.Rules, data: HostData) -> list[engine.Member]:
    return [
        engine.Member(host_id, rules, data.busy.get(host_id, ()), data.bookings.get(host_id, ()))
        for host_id in data.host_ids
    ]


def offered_slots(
    page: SchedulingPage, rules: engine.Rules, data: HostData, window, now: datetime
) -> list[engine.Slot]:
    """The slots the page offers: one host's, everyone's (group) or anyone's (round robin)."""
    hosts = members(page, rules, data)
    kwargs = {"window_start": window[0], "window_end": window[1], "now": now}
    if page.kind == SchedulingPage.Kind.GROUP:
        return engine.group_slots(hosts, **kwargs)
    if page.kind == SchedulingPage.Kind.ROUND_ROBIN:
        return [engine.Slot(s.start, s.end) for s in engine.round_robin_slots(hosts, **kwargs)]
    return engine.free_slots(rules, busy=hosts[0].busy, bookings=hosts[0].bookings, **kwargs)


def page_hosts(page: SchedulingPage) -> list[int]:
    if page.kind == SchedulingPage.Kind.ONE_ON_ONE:
        return [page.owner_id]
    return page.host_ids()
