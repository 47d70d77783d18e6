"""Property tests of the availability engine's invariants (hypothesis; no database, no clock).

Scenarios deliberately sit around DST changes (both hemispheres, a 30-minute change on Lord
Howe Island, a change at midnight in Santiago) and use odd increments, buffers and caps.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetings.availability import (
    Booking,
    BusyInterval,
    Member,
    Rules,
    Slot,
    candidate_starts,
    explain,
    free_slots,
    group_slots,
    round_robin_slots,
)

MIN = timedelta(minutes=1)
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Warsaw",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "America/Santiago",
    "Asia/Kolkata",
]
# The day before a change somewhere in ZONES (2025), plus two quiet days.
FIRST_DAYS = [
    date(2025, 3, 8),
    date(2025, 3, 29),
    date(2025, 4, 5),
    date(2025, 9, 6),
    date(2025, 10, 4),
    date(2025, 10, 25),
    date(2025, 11, 1),
    date(2025, 6, 2),
    date(2025, 1, 15),
]
WINDOW_DAYS = 3

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Scenario:
    rules: Rules
    busy: list[BusyInterval]
    bookings: list[Booking]
    window_start: datetime
    window_end: datetime
    now: datetime

    def slots(self) -> list[Slot]:
        return free_slots(
            self.rules,
            window_start=self.window_start,
            window_end=self.window_end,
            now=self.now,
            busy=self.busy,
            bookings=self.bookings,
        )

    def explain(self, start: datetime):
        return explain(self.rules, start, now=self.now, busy=self.busy, bookings=self.bookings)


def _clock(minutes: int) -> time:
    return time(0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


@st.composite
def day_hours(draw) -> list[tuple[time, time]]:
    hours = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, 95)) * 15
        end = draw(st.integers(start // 15 + 1, 96)) * 15
        hours.append((_clock(start), _clock(end)))
    return hours


@st.composite
def rules_in(draw, timezone: str, first_day: date, duration: timedelta | None = None) -> Rules:
    weekly = {weekday: draw(day_hours()) for weekday in range(7)}
    overrides = {}
    for offset in draw(st.sets(st.integers(0, WINDOW_DAYS), max_size=2)):
        overrides[first_day + timedelta(days=offset)] = draw(day_hours())
    return Rules(
        timezone=timezone,
        weekly_hours=weekly,
        date_overrides=overrides,
        duration=duration or draw(st.sampled_from([15, 30, 45, 60, 90])) * MIN,
        increment=draw(st.sampled_from([10, 15, 20, 30, 60, 90])) * MIN,
        buffer_before=draw(st.sampled_from([0, 5, 15, 30])) * MIN,
        buffer_after=draw(st.sampled_from([0, 10, 30])) * MIN,
        minimum_notice=draw(st.sampled_from([0, 30, 300, 1440])) * MIN,
        max_advance=draw(st.sampled_from([None, 0, 1, 2, timedelta(hours=30)])),
        daily_maximum=draw(st.sampled_from([None, None, 0, 1, 2])),
    )


def _intervals(draw, cls, start: datetime, span_minutes: int, max_size: int, **extra):
    items = []
    for _ in range(draw(st.integers(0, max_size))):
        begin = start + draw(st.integers(0, span_minutes)) * MIN
        items.append(cls(begin, begin + draw(st.integers(0, 300)) * MIN, **extra))
    return items


@st.composite
def calendar_data(draw, window_start: datetime):
    window_start = window_start.astimezone(UTC)  # add real minutes, not wall-clock ones
    span = (WINDOW_DAYS + 1) * 24 * 60
    busy = []
    for label in ("Main", "Team calendar"):
        busy += _intervals(draw, BusyInterval, window_start, span, 12, label=label)
    return busy, _intervals(draw, Booking, window_start, span, 4)


@st.composite
def frames(draw):
    """(timezone, first local day, window start, window end, now)."""
    timezone = draw(st.sampled_from(ZONES))
    first_day = draw(st.sampled_from(FIRST_DAYS))
    midnight = datetime.combine(first_day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    window_start = midnight - draw(st.integers(0, 12 * 60)) * MIN
    window_end = window_start + timedelta(days=WINDOW_DAYS)
    now = window_start + draw(st.integers(-2 * 24 * 60, 2 * 24 * 60)) * MIN
    # The engine must not care which zone its inputs are in.
    window_start = window_start.astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))
    return timezone, first_day, window_start, window_end, now


@st.composite
def scenarios(draw) -> Scenario:
    timezone, first_day, window_start, window_end, now = draw(frames())
    busy, bookings = draw(calendar_data(window_start))
    rules = draw(rules_in(timezone, first_day))
    return Scenario(rules, busy, bookings, window_start, window_end, now)


@st.composite
def teams(draw) -> tuple[list[Member], datetime, datetime, datetime]:
    timezone, first_day, window_start, window_end, now = draw(frames())
    duration = draw(st.sampled_from([30, 60])) * MIN
    shared = draw(rules_in(timezone, first_day, duration))
    members = []
    for member_id in range(draw(st.integers(1, 3))):
        own = draw(st.sampled_from([False, False, True]))
        zone = draw(st.sampled_from(ZONES)) if own else timezone
        rules = draw(rules_in(zone, first_day, duration)) if own else shared
        busy, bookings = draw(calendar_data(window_start))
        members.append(Member(member_id, rules, busy, bookings))
    return members, window_start, window_end, now


# ------------------------------------------------------------------------------ invariants


def _blocked(slot: Slot, rules: Rules, item: BusyInterval | Booking) -> bool:
    if item.end <= item.start:
        return False
    return (
        item.start < slot.end + rules.buffer_after and item.end > slot.start - rules.buffer_before
    )


@PROPERTY_SETTINGS
@given(scenarios())
def test_no_slot_touches_busy_time_or_bookings_within_the_buffers(scenario):
    for slot in scenario.slots():
        for item in [*scenario.busy, *scenario.bookings]:
            assert not _blocked(slot, scenario.rules, item), (slot, item)


def _raw_hours(rules: Rules, day: date) -> list[tuple[int, int]]:
    """The day's hours as merged minute ranges, straight from the given fields."""
    hours = rules.date_overrides.get(day, rules.weekly_hours.get(day.weekday(), []))
    ranges = sorted(
        (start.hour * 60 + start.minute, end.hour * 60 + end.minute or 24 * 60)
        for start, end in hours
    )
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside_hours_locally(slot: Slot, rules: Rules) -> bool:
    # The start must read a working time on its local day; the last instant of the meeting must
    # read a time before that interval ends (on a spring-forward day an interval ending in the
    # skipped hour ends when the clocks jump).
    zone = ZoneInfo(rules.timezone)
    local_start = slot.start.astimezone(zone).replace(tzinfo=None)
    last = (slot.end - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
    midnight = datetime.combine(local_start.date(), time())
    return any(
        midnight + start * MIN <= local_start < midnight + end * MIN and last < midnight + end * MIN
        for start, end in _raw_hours(rules, local_start.date())
    )


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_stay_inside_working_hours_in_local_time(scenario):
    for slot in scenario.slots():
        assert slot.end - slot.start == scenario.rules.duration
        assert _inside_hours_locally(slot, scenario.rules), slot.in_zone(scenario.rules.timezone)


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_are_sorted_unique_and_never_overlap_when_the_increment_covers_the_meeting(
    scenario,
):
    slots = scenario.slots()
    rules = scenario.rules
    assert all(slot.start.utcoffset() == timedelta(0) for slot in slots)
    for earlier, later in pairwise(slots):
        assert earlier.start < later.start
        assert later.start - earlier.start >= min(rules.increment, rules.duration)
        if rules.increment >= rules.duration:
            assert earlier.end <= later.start, (earlier, later)


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_respect_notice_advance_window_and_daily_maximum(scenario):
    rules = scenario.rules
    zone = ZoneInfo(rules.timezone)
    per_day: dict[date, int] = {}
    for booking in scenario.bookings:
        if booking.end > booking.start:
            day = booking.start.astimezone(zone).date()
            per_day[day] = per_day.get(day, 0) + 1
    for slot in scenario.slots():
        assert slot.start >= scenario.now + rules.minimum_notice
        assert scenario.window_start <= slot.start < scenario.window_end
        if isinstance(rules.max_advance, timedelta):
            assert slot.start < scenario.now + rules.max_advance
        elif rules.max_advance is not None:
            today = scenario.now.astimezone(zone).date()
            assert slot.start.astimezone(zone).date() <= today + timedelta(rules.max_advance)
        if rules.daily_maximum is not None:
            assert per_day.get(slot.start.astimezone(zone).date(), 0) < rules.daily_maximum


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_a_start_is_offered_exactly_when_explain_has_no_reason(scenario, data):
    offered = {slot.start for slot in scenario.slots()}
    for start in offered:
        assert scenario.explain(start) == [], start
    grid = candidate_starts(
        scenario.rules, window_start=scenario.window_start, window_end=scenario.window_end
    )
    span = int((scenario.window_end - scenario.window_start) / MIN)
    others = [
        scenario.window_start.astimezone(UTC) + minutes * MIN for minutes in range(0, span, 37)
    ]
    if grid:
        others += data.draw(st.lists(st.sampled_from(grid), max_size=40))
    for start in others:
        if start not in offered:
            assert scenario.explain(start), start


@PROPERTY_SETTINGS
@given(teams())
def test_group_slots_are_in_every_members_slots(team):
    members, window_start, window_end, now = team
    window = {"window_start": window_start, "window_end": window_end, "now": now}
    group = set(group_slots(members, **window))
    each = [set(free_slots(m.rules, busy=m.busy, bookings=m.bookings, **window)) for m in members]
    assert group == set.intersection(*each)
    for slots in each:
        assert group <= slots


@PROPERTY_SETTINGS
@given(teams())
def test_round_robin_slots_are_the_union_of_members_slots(team):
    members, window_start, window_end, now = team
    window = {"window_start": window_start, "window_end": window_end, "now": now}
    own = {
        m.id: {s.start for s in free_slots(m.rules, busy=m.busy, bookings=m.bookings, **window)}
        for m in members
    }
    slots = round_robin_slots(members, **window)
    assert {slot.start for slot in slots} == set().union(*own.values())
    assert [slot.start for slot in slots] == sorted({slot.start for slot in slots})
    for slot in slots:
        assert slot.member_ids == tuple(
            sorted(i for i, starts in own.items() if slot.start in starts)
        )


@PROPERTY_SETTINGS
@given(scenarios())
def test_busy_time_merged_ahead_gives_the_same_slots_and_reasons(scenario):
    """A precomputed busy-time store hands the engine a merged `Timeline` instead of the
    events: the slots and the yes/no of every start are the same."""
    from meetings.availability import Timeline

    timeline = Timeline.merge(scenario.busy)
    merged = free_slots(
        scenario.rules,
        window_start=scenario.window_start,
        window_end=scenario.window_end,
        now=scenario.now,
        bookings=scenario.bookings,
        timeline=timeline,
    )
    assert merged == scenario.slots()
    offered = set(merged)
    for start in candidate_starts(
        scenario.rules, window_start=scenario.window_start, window_end=scenario.window_end
    ):
        reasons = explain(
            scenario.rules,
            start,
            now=scenario.now,
            bookings=scenario.bookings,
            timeline=timeline,
        )
        assert (not reasons) == (Slot(start, start + scenario.rules.duration) in offered)
