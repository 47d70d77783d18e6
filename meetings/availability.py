"""The availability engine: working hours, busy time and booking rules in, bookable slots out.

Pure functions over plain dataclasses: no ORM, no settings, no clock (callers pass `now`), so the
engine can be property-tested and benchmarked. Only the standard library is imported.

Time model
----------
* Every datetime crossing the API must be timezone-aware; internally everything is UTC.
* Weekly hours and date overrides are wall-clock times in the page's IANA timezone, applied per
  local date, so 09:00-17:00 stays 09:00-17:00 local on both sides of a DST change.
* A working interval on local date D covers the instants from ``U(D start)`` to ``U(D end)``,
  where ``U`` maps a wall-clock time to an instant:
    - a time that exists once maps to that instant;
    - an *ambiguous* time (it happens twice when clocks go back) maps to its **first**
      occurrence (``fold=0``, the earlier instant, still on summer time) - the reading a person
      looking at the clock that morning would take first, and what Python does by default;
    - a *nonexistent* time (skipped when clocks go forward) maps to the instant of the change,
      so the skipped wall-clock times are simply not working time.
* Slot starts are laid out on a wall-clock grid: interval start + k x increment (local time).
  A grid time that does not exist is skipped; an ambiguous one is offered once, at its first
  occurrence (its second occurrence is not offered: `explain` says why). When a clock change
  squeezes two grid times closer than ``min(increment, duration)`` in real time, the later one
  is dropped, so with increment >= duration offered slots never overlap, even across a change.
  With increment < duration (e.g. 30-minute meetings every 15 minutes) slots are overlapping
  alternatives by design; starts are always unique and strictly increasing.
* Durations and buffers are real elapsed time (a 60-minute meeting lasts 60 minutes even when
  the clocks change during it).

Rules in short
--------------
* A slot ``[s, e)`` is blocked by a busy event or booking ``[a, b)`` when
  ``a < e + buffer_after and b > s - buffer_before``. Empty intervals (``b <= a``) block nothing.
* Minimum notice: a slot may start no earlier than ``now + minimum_notice``.
* Maximum advance: an ``int`` N means "until the end of the N-th local day after today" (0 = today
  only), counted in the page's timezone; a ``timedelta`` means a rolling horizon ``now + delta``.
  Either way the horizon is exclusive: a slot must *start* strictly before it.
* Daily maximum: a local day that already holds that many bookings (counted by the local date of
  each booking's start) offers no slots. Pass every booking of the days you ask about.
* Slots are returned for starts in ``[window_start, window_end)``.
"""

from __future__ import annotations

import bisect
import enum
import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Booking",
    "BusyInterval",
    "Member",
    "MemberId",
    "Reason",
    "ReasonCode",
    "RoundRobinSlot",
    "Rules",
    "Slot",
    "Timeline",
    "WorkingHours",
    "candidate_starts",
    "explain",
    "free_slots",
    "from_micros",
    "group_slots",
    "pick_round_robin_host",
    "round_robin_slots",
    "to_micros",
]

MemberId: TypeAlias = int | str
# (start, end) wall-clock times of one working interval; an end of time(0) means 24:00.
WorkingHours: TypeAlias = tuple[time, time]
# One local day's merged working intervals, as (start, end) offsets from local midnight.
_DayHours: TypeAlias = tuple[tuple[timedelta, timedelta], ...]

DAY = timedelta(days=1)
ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the POSIX epoch (exact, unlike floats)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


# --------------------------------------------------------------------------------------------
# Inputs and outputs


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """Busy time ``[start, end)`` from an availability calendar; `label` names it in explanations.

    Datetimes must be aware; they are stored in UTC.
    """

    start: datetime
    end: datetime
    label: str = "calendar"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _require_aware(self.start, "start"))
        object.__setattr__(self, "end", _require_aware(self.end, "end"))


@dataclass(frozen=True, slots=True)
class Booking:
    """An existing booking ``[start, end)``: blocks like busy time and counts to the daily maximum.

    Datetimes must be aware; they are stored in UTC.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _require_aware(self.start, "start"))
        object.__setattr__(self, "end", _require_aware(self.end, "end"))


@dataclass(frozen=True, slots=True)
class Timeline:
    """Busy time merged ahead of time: sorted, disjoint ``[starts[i], ends[i])`` in POSIX
    microseconds (`to_micros`). The fast form of many `BusyInterval`s (no labels): what a
    precomputed busy-time store hands the engine."""

    starts: Sequence[int] = ()
    ends: Sequence[int] = ()

    @classmethod
    def merge(cls, intervals: Iterable[BusyInterval | Booking]) -> Timeline:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(
            (to_micros(i.start), to_micros(i.end)) for i in intervals if i.end > i.start
        ):
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return cls(starts, ends)

    def overlapping(self, start: datetime, end: datetime) -> list[BusyInterval]:
        """The busy intervals overlapping ``[start, end)``, as labelled intervals."""
        low, high = to_micros(start), to_micros(end)
        index = bisect.bisect_right(self.ends, low)
        found = []
        while index < len(self.starts) and self.starts[index] < high:
            found.append(
                BusyInterval(from_micros(self.starts[index]), from_micros(self.ends[index]))
            )
            index += 1
        return found


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A bookable slot ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def in_zone(self, timezone: str) -> tuple[datetime, datetime]:
        """The same two instants as wall-clock times in `timezone` (e.g. the visitor's)."""
        zone = ZoneInfo(timezone)
        return self.start.astimezone(zone), self.end.astimezone(zone)


@dataclass(frozen=True, slots=True, order=True)
class RoundRobinSlot:
    """A round-robin slot and the ids (sorted) of the members free for it."""

    start: datetime
    end: datetime
    member_ids: tuple[MemberId, ...]


class ReasonCode(enum.StrEnum):
    OUTSIDE_HOURS = "outside_hours"
    NOT_ALIGNED = "not_aligned"
    TOO_SOON = "too_soon"
    TOO_FAR = "too_far"
    DAILY_MAXIMUM = "daily_maximum"
    ALREADY_BOOKED = "already_booked"
    BUSY = "busy"
    BUFFER = "buffer"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a start time is not offered: a stable `code` and a sentence for people."""

    code: ReasonCode
    message: str
    label: str | None = None


@dataclass(frozen=True)
class Rules:
    """A scheduling page's availability rules.

    `weekly_hours` maps a weekday (0 = Monday) to wall-clock intervals; `date_overrides` maps a
    local date to intervals that replace that day's weekly hours (an empty list = day off).
    An interval end of ``time(0)`` means midnight at the end of the day (24:00). Overlapping or
    touching intervals of one day are merged (the merged interval's start anchors the grid).
    `max_advance` is a number of local days (int) or a rolling timedelta; None = unlimited.
    `daily_maximum` is the number of bookings per local day; None = unlimited.
    """

    timezone: str
    weekly_hours: Mapping[int, Sequence[WorkingHours]]
    duration: timedelta
    increment: timedelta
    date_overrides: Mapping[date, Sequence[WorkingHours]] = field(default_factory=dict)
    buffer_before: timedelta = ZERO
    buffer_after: timedelta = ZERO
    minimum_notice: timedelta = ZERO
    max_advance: int | timedelta | None = None
    daily_maximum: int | None = None
    _weekly: dict[int, _DayHours] = field(init=False, repr=False, compare=False)
    _overrides: dict[date, _DayHours] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown timezone {self.timezone!r}") from exc
        if self.duration <= ZERO:
            raise ValueError("duration must be positive")
        if self.increment <= ZERO:
            raise ValueError("increment must be positive")
        for name in ("buffer_before", "buffer_after", "minimum_notice"):
            if getattr(self, name) < ZERO:
                raise ValueError(f"{name} must not be negative")
        _check_max_advance(self.max_advance)
        if self.daily_maximum is not None and (
            isinstance(self.daily_maximum, bool) or self.daily_maximum < 0
        ):
            raise ValueError("daily_maximum must be a non-negative int or None")
        if set(self.weekly_hours) - set(range(7)):
            raise ValueError("weekly_hours keys must be weekdays 0 (Monday) to 6 (Sunday)")
        # Validated and merged copies, as offsets from local midnight; the fields stay as given.
        weekly = {day: _day_hours(hours) for day, hours in self.weekly_hours.items()}
        overrides = {day: _day_hours(hours) for day, hours in self.date_overrides.items()}
        object.__setattr__(self, "_weekly", weekly)
        object.__setattr__(self, "_overrides", overrides)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> _DayHours:
        """Merged working intervals of a local date, as offsets from local midnight."""
        if day in self._overrides:
            return self._overrides[day]
        return self._weekly.get(day.weekday(), ())


def _check_max_advance(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | timedelta):
        raise ValueError("max_advance must be an int (days), a timedelta or None")
    if (value < 0) if isinstance(value, int) else (value < ZERO):
        raise ValueError("max_advance must not be negative")


def _day_hours(hours: Sequence[WorkingHours]) -> _DayHours:
    """Validate one day's intervals and merge them into sorted, disjoint offsets."""
    spans = sorted(_offsets(start, end) for start, end in hours)
    merged: list[tuple[timedelta, timedelta]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _offsets(start: time, end: time) -> tuple[timedelta, timedelta]:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("working hours are wall-clock times: pass naive time objects")
    start_offset = _since_midnight(start)
    end_offset = _since_midnight(end) if end != time(0) else DAY
    if end_offset <= start_offset:
        raise ValueError(f"working hours must end after they start: {start}-{end}")
    return start_offset, end_offset


def _since_midnight(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


@dataclass(frozen=True)
class Member:
    """One host of a group or round-robin page, with their own rules and busy data."""

    id: MemberId
    rules: Rules
    busy: Sequence[BusyInterval] = ()
    bookings: Sequence[Booking] = ()
    timeline: Timeline | None = None


# --------------------------------------------------------------------------------------------
# Wall clock -> UTC


def _wall(day: date, offset: timedelta, zone: tzinfo) -> datetime:
    """The wall-clock time `offset` after local midnight of `day` (fold=0, maybe nonexistent)."""
    return datetime.combine(day, time(), tzinfo=zone) + offset


def _existing_instant(local: datetime) -> datetime | None:
    """UTC instant of a wall-clock time (first occurrence if ambiguous); None if it is skipped."""
    instant = local.astimezone(UTC)
    # Read back, the instant shows the same wall-clock time exactly when the offsets agree; a
    # skipped time (fold=0 reads it with the offset from before the change) reads back later.
    if instant.astimezone(local.tzinfo).utcoffset() != local.utcoffset():
        return None
    return instant


def _boundary_instant(local: datetime) -> datetime:
    """Like `_existing_instant`, but a skipped wall-clock time maps to the moment of the change."""
    instant = _existing_instant(local)
    if instant is not None:
        return instant
    # In a gap, fold=1 reads the time with the offset after the change (an instant before the
    # change) and fold=0 with the offset before it (an instant after): the change lies between.
    before = local.replace(fold=1).astimezone(UTC)
    after = local.astimezone(UTC)
    target = after.astimezone(local.tzinfo).utcoffset()
    while after - before > _MICROSECOND:
        middle = before + (after - before) / 2
        if middle.astimezone(local.tzinfo).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


def _local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


# --------------------------------------------------------------------------------------------
# The start-time grid


@dataclass(frozen=True, slots=True)
class _Interval:
    """One working interval of one local day, resolved to UTC."""

    day: date
    start_offset: timedelta
    end_offset: timedelta
    start: datetime
    end: datetime


def _working_intervals(rules: Rules, day: date) -> list[_Interval]:
    zone = rules.zone
    return [
        _Interval(
            day,
            start,
            end,
            _boundary_instant(_wall(day, start, zone)),
            _boundary_instant(_wall(day, end, zone)),
        )
        for start, end in rules.hours_on(day)
    ]


def _grid(rules: Rules, interval: _Interval) -> Iterator[datetime]:
    """Slot starts of one working interval: the wall-clock grid, resolved as the module says."""
    zone = rules.zone
    spacing = min(rules.increment, rules.duration)
    previous: datetime | None = None
    offset = interval.start_offset
    while offset < interval.end_offset:
        start = _existing_instant(_wall(interval.day, offset, zone))
        offset += rules.increment
        if start is None or (previous is not None and start < previous + spacing):
            continue
        if start + rules.duration > interval.end:
            return
        previous = start
        yield start


def _day_starts(rules: Rules, day: date) -> list[datetime]:
    return [
        start for interval in _working_intervals(rules, day) for start in _grid(rules, interval)
    ]


def _day_starts_micros(rules: Rules, day: date) -> list[int]:
    """`_day_starts` in POSIX microseconds, computed by arithmetic where it can be.

    Within a working interval whose real length equals its wall-clock length no clock change
    happens, so the grid is the interval's first instant plus multiples of the increment (the
    overwhelming case); an interval with a change inside goes through `_grid`, which resolves
    every wall-clock time as the module docstring says.
    """
    increment = rules.increment // _MICROSECOND
    duration = rules.duration // _MICROSECOND
    starts: list[int] = []
    for interval in _working_intervals(rules, day):
        first, last = to_micros(interval.start), to_micros(interval.end)
        if last - first != (interval.end_offset - interval.start_offset) // _MICROSECOND:
            starts += [to_micros(start) for start in _grid(rules, interval)]
        elif last - first >= duration:
            starts += range(first, last - duration + 1, increment)
    return starts


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += DAY


def candidate_starts(
    rules: Rules, *, window_start: datetime, window_end: datetime
) -> list[datetime]:
    """Every grid start inside working hours in ``[window_start, window_end)``, in UTC.

    Working hours and the increment only: busy time, bookings, notice, advance and the daily
    maximum are not applied (that is `free_slots`).
    """
    low = _require_aware(window_start, "window_start")
    high = _require_aware(window_end, "window_end")
    if high <= low:
        return []
    zone = rules.zone
    return [
        start
        for day in _days(_local_date(low, zone), _local_date(high, zone))
        for start in _day_starts(rules, day)
        if low <= start < high
    ]


# --------------------------------------------------------------------------------------------
# Rules that do not depend on the grid


def _earliest_start(rules: Rules, now: datetime) -> datetime:
    return now + rules.minimum_notice


def _horizon(rules: Rules, now: datetime) -> datetime | None:
    """Exclusive latest start: end of the N-th local day after today, or now + timedelta."""
    advance = rules.max_advance
    if advance is None:
        return None
    if isinstance(advance, timedelta):
        return now + advance
    last_day = _local_date(now, rules.zone) + timedelta(days=advance)
    return _boundary_instant(_wall(last_day + DAY, ZERO, rules.zone))


def _booking_counts(rules: Rules, bookings: Iterable[Booking]) -> Counter[date]:
    zone = rules.zone
    return Counter(
        _local_date(booking.start, zone) for booking in bookings if booking.end > booking.start
    )


def _is_full(rules: Rules, counts: Counter[date], day: date) -> bool:
    return rules.daily_maximum is not None and counts[day] >= rules.daily_maximum


def _merge(spans: Iterable[tuple]) -> Iterator[tuple]:
    """Sorted (start, end) pairs, overlapping or touching ones merged."""
    current = None
    for start, end in spans:
        if current is not None and start <= current[1]:
            if end > current[1]:
                current = (current[0], end)
        else:
            if current is not None:
                yield current
            current = (start, end)
    if current is not None:
        yield current


class _Blockers:
    """Busy time and bookings, widened by the buffers and merged, for O(log n) lookups, in
    POSIX microseconds.

    A slot [s, e) is blocked by [a, b) when a < e + buffer_after and b > s - buffer_before, that
    is when [s, e) overlaps [a - buffer_after, b + buffer_before).
    """

    def __init__(
        self,
        rules: Rules,
        intervals: Iterable[BusyInterval | Booking],
        timeline: Timeline | None = None,
    ) -> None:
        # Widen and merge the events as datetimes (comparisons are cheap), convert only what
        # is left, then fold in the timeline, which is merged already.
        widened = sorted(
            (item.start - rules.buffer_after, item.end + rules.buffer_before)
            for item in intervals
            if item.end > item.start
        )
        spans = [(to_micros(start), to_micros(end)) for start, end in _merge(widened)]
        if timeline is not None:
            after = rules.buffer_after // _MICROSECOND
            before = rules.buffer_before // _MICROSECOND
            widened_timeline = [
                (start - after, end + before)
                for start, end in zip(timeline.starts, timeline.ends, strict=True)
            ]
            spans = list(_merge(heapq.merge(spans, widened_timeline)))
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]

    def blocks(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self._ends, start)
        return index < len(self._starts) and self._starts[index] < end


# --------------------------------------------------------------------------------------------
# One host


def free_slots(
    rules: Rules,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    busy: Iterable[BusyInterval] = (),
    bookings: Iterable[Booking] = (),
    timeline: Timeline | None = None,
) -> list[Slot]:
    """Bookable slots starting in ``[window_start, window_end)``, sorted by start.

    Each slot lies inside working hours, is aligned to the increment, starts at or after
    ``now + minimum_notice`` and before the advance horizon, keeps the buffers clear of every
    busy event, `timeline` interval and booking, and falls on a local day under the daily
    maximum. A start is offered exactly when `explain` returns no reason for it.
    """
    now = _require_aware(now, "now")
    bookings = list(bookings)
    low = max(_require_aware(window_start, "window_start"), _earliest_start(rules, now))
    high = _require_aware(window_end, "window_end")
    horizon = _horizon(rules, now)
    if horizon is not None:
        high = min(high, horizon)
    if high <= low:
        return []
    zone = rules.zone
    blockers = _Blockers(rules, [*busy, *bookings], timeline)
    counts = _booking_counts(rules, bookings)
    duration = rules.duration // _MICROSECOND
    low_us, high_us = to_micros(low), to_micros(high)
    slots = []
    for day in _days(_local_date(low, zone), _local_date(high, zone)):
        if _is_full(rules, counts, day):
            continue
        for start in _day_starts_micros(rules, day):
            end = start + duration
            if low_us <= start < high_us and not blockers.blocks(start, end):
                slots.append(Slot(from_micros(start), from_micros(end)))
    return slots


def explain(
    rules: Rules,
    start: datetime,
    *,
    now: datetime,
    busy: Iterable[BusyInterval] = (),
    bookings: Iterable[Booking] = (),
    timeline: Timeline | None = None,
) -> list[Reason]:
    """Every reason why a slot starting at `start` is not offered; [] when it is offered.

    Takes the same data as `free_slots` (its window aside). Checks every busy event linearly:
    meant for one start time at a time (a booking attempt, a support question), not for pages.
    """
    start = _require_aware(start, "start")
    if timeline is not None:
        near = timeline.overlapping(
            start - rules.buffer_before, start + rules.duration + rules.buffer_after
        )
        busy = [*busy, *near]
    now = _require_aware(now, "now")
    bookings = list(bookings)
    end = start + rules.duration
    reasons = _hours_reasons(rules, start)
    earliest = _earliest_start(rules, now)
    if start < earliest:
        reasons.append(
            Reason(
                ReasonCode.TOO_SOON,
                f"Too soon: bookings need {_span(rules.minimum_notice)} notice; the earliest "
                f"start is {_clock(earliest, rules)}.",
            )
        )
    horizon = _horizon(rules, now)
    if horizon is not None and start >= horizon:
        reasons.append(_too_far(rules, horizon))
    day = _local_date(start, rules.zone)
    if _is_full(rules, _booking_counts(rules, bookings), day):
        reasons.append(
            Reason(
                ReasonCode.DAILY_MAXIMUM,
                f"The daily maximum of {rules.daily_maximum} bookings on {day:%A %d %B %Y} "
                "is reached.",
            )
        )
    reasons += _conflict_reasons(rules, start, end, busy, bookings)
    return reasons


def _too_far(rules: Rules, horizon: datetime) -> Reason:
    advance = rules.max_advance
    if isinstance(advance, timedelta):
        ahead = f"up to {_span(advance)} ahead"
    elif advance == 0:
        ahead = "for today only"
    else:
        ahead = f"up to {advance} day{'s' if advance != 1 else ''} ahead"
    return Reason(
        ReasonCode.TOO_FAR,
        f"Too far ahead: bookings open {ahead}, so a meeting must start before "
        f"{_clock(horizon, rules)}.",
    )


def _hours_reasons(rules: Rules, start: datetime) -> list[Reason]:
    day = _local_date(start, rules.zone)
    if start in _day_starts(rules, day):
        return []
    end = start + rules.duration
    local = start.astimezone(rules.zone)
    for interval in _working_intervals(rules, day):
        if interval.start <= start < interval.end:
            if end > interval.end:
                return [
                    Reason(
                        ReasonCode.OUTSIDE_HOURS,
                        f"Outside working hours: a {_span(rules.duration)} meeting starting at "
                        f"{local:%H:%M} would end after working hours end at "
                        f"{_clock(interval.end, rules)}.",
                    )
                ]
            return [_misalignment(rules, interval, local)]
    return [
        Reason(
            ReasonCode.OUTSIDE_HOURS,
            f"Outside working hours: {local:%A %d %B %Y %H:%M} ({rules.timezone}) is not within "
            f"working hours ({_hours_text(rules, day)}).",
        )
    ]


def _misalignment(rules: Rules, interval: _Interval, local: datetime) -> Reason:
    anchor = _wall(interval.day, interval.start_offset, rules.zone)
    since_anchor = local.replace(tzinfo=None) - anchor.replace(tzinfo=None)
    on_grid = since_anchor >= ZERO and since_anchor % rules.increment == ZERO
    if on_grid and local.fold:
        message = (
            f"{local:%H:%M} happens twice on {interval.day:%d %B %Y} because the clocks go back; "
            "only its first occurrence is a start time."
        )
    elif on_grid:
        message = (
            f"The clocks change on {interval.day:%d %B %Y}: a meeting at {local:%H:%M} would "
            "overlap the previous start time, so it is not offered."
        )
    else:
        message = (
            f"Not aligned: start times are every {_span(rules.increment)} from "
            f"{anchor:%H:%M} ({rules.timezone})."
        )
    return Reason(ReasonCode.NOT_ALIGNED, message)


def _conflict_reasons(
    rules: Rules,
    start: datetime,
    end: datetime,
    busy: Iterable[BusyInterval],
    bookings: Iterable[Booking],
) -> list[Reason]:
    padded_start, padded_end = start - rules.buffer_before, end + rules.buffer_after
    reasons: list[Reason] = []
    seen: set[tuple[ReasonCode, str | None]] = set()

    def add(code: ReasonCode, message: str, label: str | None) -> None:
        if (code, label) not in seen:
            seen.add((code, label))
            reasons.append(Reason(code, message, label))

    for booking in bookings:
        if booking.end <= booking.start or not _overlaps(booking, padded_start, padded_end):
            continue
        if _overlaps(booking, start, end):
            add(ReasonCode.ALREADY_BOOKED, "Already booked: another meeting is booked then.", None)
        else:
            add(ReasonCode.BUFFER, f"Inside a buffer of a booking: {_buffers(rules)}.", None)
    for event in busy:
        if event.end <= event.start or not _overlaps(event, padded_start, padded_end):
            continue
        if _overlaps(event, start, end):
            add(ReasonCode.BUSY, f"Busy in calendar {event.label}.", event.label)
        else:
            add(
                ReasonCode.BUFFER,
                f"Inside a buffer of {event.label}: {_buffers(rules)}.",
                event.label,
            )
    return reasons


def _overlaps(item: BusyInterval | Booking, start: datetime, end: datetime) -> bool:
    return item.start < end and item.end > start


# --------------------------------------------------------------------------------------------
# Wording


def _span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def _clock(instant: datetime, rules: Rules) -> str:
    return f"{instant.astimezone(rules.zone):%A %d %B %Y %H:%M} ({rules.timezone})"


def _buffers(rules: Rules) -> str:
    return (
        f"the page keeps {_span(rules.buffer_before)} free before and "
        f"{_span(rules.buffer_after)} free after each meeting"
    )


def _hours_text(rules: Rules, day: date) -> str:
    spans = rules.hours_on(day)
    if not spans:
        return f"none on {day:%A %d %B %Y}"
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    return ", ".join(
        f"{midnight + start:%H:%M}-{'24:00' if end == DAY else f'{midnight + end:%H:%M}'}"
        for start, end in spans
    )


# --------------------------------------------------------------------------------------------
# Group and round-robin pages


def _same_duration(members: Sequence[Member]) -> None:
    if len({member.rules.duration for member in members}) > 1:
        raise ValueError("every member of a page must have the same meeting duration")


def _member_slots(
    member: Member, window_start: datetime, window_end: datetime, now: datetime
) -> list[Slot]:
    return free_slots(
        member.rules,
        window_start=window_start,
        window_end=window_end,
        now=now,
        busy=member.busy,
        bookings=member.bookings,
        timeline=member.timeline,
    )


def group_slots(
    members: Sequence[Member], *, window_start: datetime, window_end: datetime, now: datetime
) -> list[Slot]:
    """Slots every member is free for: the intersection of each member's `free_slots`.

    Each member brings their own `Rules` (hours, timezone, buffers, notice, daily maximum and
    busy data); a page with shared rules passes the same `Rules` to every member. Durations must
    match. Members whose grids are not aligned in UTC (e.g. a 45-minute offset) share few slots.
    """
    if not members:
        return []
    _same_duration(members)
    common: set[Slot] | None = None
    for member in members:
        slots = set(_member_slots(member, window_start, window_end, now))
        common = slots if common is None else common & slots
        if not common:
            return []
    return sorted(common or ())


def round_robin_slots(
    members: Sequence[Member], *, window_start: datetime, window_end: datetime, now: datetime
) -> list[RoundRobinSlot]:
    """Slots at least one member is free for (the union), each with the free members' ids.

    Rules are per member, as in `group_slots`; durations must match.
    """
    _same_duration(members)
    free: dict[Slot, list[MemberId]] = {}
    for member in members:
        for slot in _member_slots(member, window_start, window_end, now):
            free.setdefault(slot, []).append(member.id)
    return [
        RoundRobinSlot(slot.start, slot.end, tuple(sorted(ids)))
        for slot, ids in sorted(free.items())
    ]


def pick_round_robin_host(
    free_member_ids: Iterable[MemberId],
    booking_counts: Mapping[MemberId, int],
    preferred_member_id: MemberId | None = None,
) -> MemberId:
    """The member to book: the preferred one (the contact's owner) when free, else the member
    with the fewest bookings in `booking_counts` (the caller's recent window; missing = 0),
    ties broken by the lowest id. Ids of one page must be of one type. Raises ValueError when
    nobody is free.
    """
    candidates = set(free_member_ids)
    if not candidates:
        raise ValueError("no member is free for this slot")
    if preferred_member_id is not None and preferred_member_id in candidates:
        return preferred_member_id
    return min(candidates, key=lambda member_id: (booking_counts.get(member_id, 0), member_id))
