"""The availability engine across DST changes, in both hemispheres and both directions.

2025 changes used here (local wall clock):
- America/New_York: 9 March 02:00 -> 03:00 (spring), 2 November 02:00 -> 01:00 (fall back)
- Europe/Warsaw: 30 March 02:00 -> 03:00, 26 October 03:00 -> 02:00
- Australia/Sydney: 5 October 02:00 -> 03:00 (spring), 6 April 03:00 -> 02:00 (fall back)
- Australia/Lord_Howe: 5 October 02:00 -> 02:30, 6 April 02:00 -> 01:30 (half-hour changes)

Documented behaviour (meetings/availability.py): a skipped wall-clock time is never a start and
a working interval boundary inside the skipped hour means "when the clocks jump"; an ambiguous
wall-clock time is offered once, at its first occurrence (still on summer time).
"""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from meetings.availability import (
    Booking,
    ReasonCode,
    Rules,
    Slot,
    explain,
    free_slots,
)

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)

SPRING = [
    ("America/New_York", date(2025, 3, 9)),
    ("Europe/Warsaw", date(2025, 3, 30)),
    ("Australia/Sydney", date(2025, 10, 5)),
]
FALL = [
    ("America/New_York", date(2025, 11, 2)),
    ("Europe/Warsaw", date(2025, 10, 26)),
    ("Australia/Sydney", date(2025, 4, 6)),
]
# The wall-clock hour that happens twice on each fall-back day.
REPEATED_HOUR = {"America/New_York": 1, "Europe/Warsaw": 2, "Australia/Sydney": 2}


def every_day(start: time, end: time, **fields) -> dict:
    return {"weekly_hours": {weekday: [(start, end)] for weekday in range(7)}, **fields}


def make_rules(timezone: str, start=time(9), end=time(17), **fields) -> Rules:
    fields.setdefault("duration", 30 * MIN)
    fields.setdefault("increment", 30 * MIN)
    return Rules(timezone=timezone, **every_day(start, end, **fields))


def day_slots(rules: Rules, day: date, now: datetime = LONG_AGO, **data) -> list[Slot]:
    zone = ZoneInfo(rules.timezone)
    return free_slots(
        rules,
        window_start=datetime.combine(day, time(), tzinfo=zone),
        window_end=datetime.combine(day + timedelta(days=1), time(), tzinfo=zone),
        now=now,
        **data,
    )


def wall(slots: list[Slot], timezone: str) -> list[str]:
    return [start.strftime("%H:%M") for start, _ in (slot.in_zone(timezone) for slot in slots)]


def local(timezone: str, day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=ZoneInfo(timezone))


# ----------------------------------------------------- 09:00-17:00 stays 09:00-17:00 locally


@pytest.mark.parametrize(("timezone", "change_day"), SPRING + FALL)
def test_working_hours_stay_nine_to_five_local_around_a_change(timezone, change_day):
    rules = make_rules(timezone)
    offsets = []
    for day in (change_day - timedelta(days=1), change_day, change_day + timedelta(days=1)):
        slots = day_slots(rules, day)
        assert len(slots) == 16
        first, last = slots[0].in_zone(timezone), slots[-1].in_zone(timezone)
        assert first[0].time() == time(9) and first[0].date() == day
        assert last[1].time() == time(17)
        offsets.append(first[0].utcoffset())
    before, on_the_day, after = offsets
    assert on_the_day == after
    assert abs(after - before) == HOUR


@pytest.mark.parametrize(("timezone", "change_day"), SPRING + FALL)
@pytest.mark.parametrize(("hour", "minute"), [(9, 0), (16, 30)], ids=["morning", "afternoon"])
def test_morning_and_afternoon_starts_move_in_utc_not_in_local_time(
    timezone, change_day, hour, minute
):
    rules = make_rules(timezone)
    before_day, after_day = change_day - timedelta(days=1), change_day + timedelta(days=1)
    before = {slot.start for slot in day_slots(rules, before_day)}
    after = {slot.start for slot in day_slots(rules, after_day)}
    start_before = local(timezone, before_day, hour, minute).astimezone(UTC)
    start_after = local(timezone, after_day, hour, minute).astimezone(UTC)
    assert start_before in before and start_after in after
    spring = (timezone, change_day) in SPRING
    # Two days apart on the wall clock; one hour less (spring) or more (fall) in real time.
    assert start_after - start_before == timedelta(days=2) + (-HOUR if spring else HOUR)
    assert explain(rules, start_before, now=LONG_AGO) == []
    assert explain(rules, start_after, now=LONG_AGO) == []


def test_the_utc_offsets_shift_as_expected_in_new_york():
    rules = make_rules("America/New_York")
    march = day_slots(rules, date(2025, 3, 7)), day_slots(rules, date(2025, 3, 10))
    november = day_slots(rules, date(2025, 10, 31)), day_slots(rules, date(2025, 11, 3))
    assert [slots[0].start.hour for slots in march] == [14, 13]  # 09:00 EST, then 09:00 EDT
    assert [slots[0].start.hour for slots in november] == [13, 14]


# ------------------------------------------------------- early-morning starts on change days


@pytest.mark.parametrize(("timezone", "change_day"), SPRING)
def test_spring_forward_skips_the_missing_hour(timezone, change_day):
    rules = make_rules(timezone, time(0), time(6))
    slots = day_slots(rules, change_day)
    assert wall(slots, timezone) == [
        "00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30",
    ]  # fmt: skip
    one_thirty = slots[3]
    # 01:30 is still offered and lasts its full 30 minutes, ending when the clocks read 03:00.
    assert one_thirty.end == slots[4].start
    assert one_thirty.in_zone(timezone)[1].strftime("%H:%M") == "03:00"
    assert len({slot.start for slot in slots}) == len(slots)


@pytest.mark.parametrize(("timezone", "change_day"), SPRING)
def test_spring_forward_a_meeting_may_span_the_change(timezone, change_day):
    rules = make_rules(timezone, time(0), time(6), duration=60 * MIN)
    slots = {s.in_zone(timezone)[0].strftime("%H:%M"): s for s in day_slots(rules, change_day)}
    assert "02:00" not in slots and "02:30" not in slots
    slot = slots["01:30"]
    assert slot.end - slot.start == HOUR  # real time; the wall clock reads 01:30 -> 03:30
    assert slot.in_zone(timezone)[1].strftime("%H:%M") == "03:30"


@pytest.mark.parametrize(("timezone", "change_day"), SPRING)
def test_hours_ending_in_the_missing_hour_end_when_the_clocks_jump(timezone, change_day):
    rules = make_rules(timezone, time(0), time(2, 30), duration=60 * MIN)
    slots = day_slots(rules, change_day)
    assert wall(slots, timezone) == ["00:00", "00:30", "01:00"]
    assert slots[-1].in_zone(timezone)[1].strftime("%H:%M") == "03:00"
    (reason,) = explain(rules, local(timezone, change_day, 1, 30), now=LONG_AGO)
    assert reason.code == ReasonCode.OUTSIDE_HOURS


@pytest.mark.parametrize(("timezone", "change_day"), SPRING)
def test_hours_starting_in_the_missing_hour_start_when_the_clocks_jump(timezone, change_day):
    rules = make_rules(timezone, time(2, 30), time(5))
    assert wall(day_slots(rules, change_day), timezone)[:2] == ["03:00", "03:30"]
    hourly = make_rules(timezone, time(2, 30), time(5), increment=60 * MIN)
    assert wall(day_slots(hourly, change_day), timezone) == ["03:30", "04:30"]


@pytest.mark.parametrize(("timezone", "change_day"), SPRING)
def test_spring_forward_never_yields_overlapping_slots(timezone, change_day):
    rules = make_rules(timezone, time(0), time(6), duration=90 * MIN, increment=90 * MIN)
    slots = day_slots(rules, change_day)
    # 00:00 and 01:30 are back to back; 03:00 would start while the 01:30 meeting (until 04:00
    # on the wall clock) is still running, so it is dropped.
    assert wall(slots, timezone) == ["00:00", "01:30", "04:30"]
    assert all(a.end <= b.start for a, b in pairwise(slots))
    (reason,) = explain(rules, local(timezone, change_day, 3), now=LONG_AGO)
    assert reason.code == ReasonCode.NOT_ALIGNED
    assert "clocks change" in reason.message


@pytest.mark.parametrize(("timezone", "change_day"), FALL)
def test_fall_back_offers_a_repeated_time_once_at_its_first_occurrence(timezone, change_day):
    hour = REPEATED_HOUR[timezone]
    rules = make_rules(timezone, time(0), time(6))
    slots = day_slots(rules, change_day)
    assert wall(slots, timezone) == [
        f"{h:02}:{m:02}" for h in range(6) for m in (0, 30)
    ]  # each wall-clock time once, though the day has 25 hours
    first = local(timezone, change_day, hour, 30, fold=0).astimezone(UTC)
    second = local(timezone, change_day, hour, 30, fold=1).astimezone(UTC)
    assert second - first == HOUR
    starts = {slot.start for slot in slots}
    assert first in starts and second not in starts
    assert explain(rules, first, now=LONG_AGO) == []
    (reason,) = explain(rules, second, now=LONG_AGO)
    assert reason.code == ReasonCode.NOT_ALIGNED
    assert "happens twice" in reason.message
    # Nothing starts during the repeated hour's second pass, so slots never overlap.
    assert all(a.end <= b.start for a, b in pairwise(slots))
    assert not any(second - 30 * MIN <= start < second + 30 * MIN for start in starts)


@pytest.mark.parametrize(("timezone", "change_day"), FALL)
def test_fall_back_half_past_one_and_half_past_two(timezone, change_day):
    rules = make_rules(timezone, time(0), time(6))
    starts = {slot.start for slot in day_slots(rules, change_day)}
    for hour in (1, 2):
        first = local(timezone, change_day, hour, 30).astimezone(UTC)
        assert first in starts
        repeated = hour == REPEATED_HOUR[timezone]
        later = local(timezone, change_day, hour, 30, fold=1).astimezone(UTC)
        assert (later != first) == repeated


@pytest.mark.parametrize(("timezone", "change_day"), FALL)
def test_fall_back_a_meeting_in_the_repeated_hour_lasts_its_real_duration(timezone, change_day):
    hour = REPEATED_HOUR[timezone]
    rules = make_rules(timezone, time(0), time(6), duration=60 * MIN)
    slot = next(
        s for s in day_slots(rules, change_day) if s.in_zone(timezone)[0].time() == time(hour, 30)
    )
    end = slot.in_zone(timezone)[1]
    assert slot.end - slot.start == HOUR
    assert end.time() == time(hour, 30) and end.fold == 1  # 30 past again, one hour later


@pytest.mark.parametrize(("timezone", "change_day"), FALL)
def test_fall_back_hours_ending_at_a_repeated_time_end_at_its_first_occurrence(
    timezone, change_day
):
    hour = REPEATED_HOUR[timezone]
    rules = make_rules(timezone, time(0), time(hour, 30))
    slots = day_slots(rules, change_day)
    assert slots[-1].end == local(timezone, change_day, hour, 30).astimezone(UTC)


def test_half_hour_changes_on_lord_howe_island():
    timezone = "Australia/Lord_Howe"
    rules = make_rules(timezone, time(0), time(4))
    spring = wall(day_slots(rules, date(2025, 10, 5)), timezone)
    assert "02:00" not in spring and "02:30" in spring
    fall = day_slots(rules, date(2025, 4, 6))
    assert wall(fall, timezone) == [f"{h:02}:{m:02}" for h in range(4) for m in (0, 30)]
    assert all(a.end <= b.start for a, b in pairwise(fall))


# ------------------------------------------------------------- notice, advance and caps


def test_max_advance_counts_to_local_midnight_across_a_change():
    timezone = "America/New_York"
    rules = make_rules(timezone, time(0), time(0), max_advance=1)
    now = local(timezone, date(2025, 3, 8), 12)
    slots = free_slots(
        rules,
        window_start=now,
        window_end=now + timedelta(days=3),
        now=now,
    )
    # The horizon is midnight EDT (04:00 UTC), not midnight EST (05:00 UTC).
    assert slots[-1].start == datetime(2025, 3, 10, 3, 30, tzinfo=UTC)


def test_the_daily_maximum_counts_a_25_hour_day_by_its_local_date():
    timezone = "America/New_York"
    rules = make_rules(timezone, daily_maximum=1)
    late = local(timezone, date(2025, 11, 2), 23, 30)  # 04:30 UTC on 3 November
    booking = Booking(late, late + 30 * MIN)
    assert day_slots(rules, date(2025, 11, 2), bookings=[booking]) == []
    assert len(day_slots(rules, date(2025, 11, 3), bookings=[booking])) == 16


def test_minimum_notice_is_real_time_across_a_change():
    timezone = "Europe/Warsaw"
    rules = make_rules(timezone, time(0), time(6), minimum_notice=2 * HOUR)
    now = local(timezone, date(2025, 3, 30), 1)  # 00:00 UTC; two hours later reads 04:00
    assert wall(day_slots(rules, date(2025, 3, 30), now=now), timezone)[0] == "04:00"


# ------------------------------------------------------------------ the visitor's timezone


@pytest.mark.parametrize(
    ("day", "visitor_hour"),
    [
        (date(2025, 3, 5), 3),  # both on winter time: Warsaw is 6 hours ahead
        (date(2025, 3, 12), 4),  # New York changed, Warsaw not yet: 5 hours
        (date(2025, 4, 2), 3),  # both on summer time: 6 hours again
    ],
)
def test_a_visitor_in_another_timezone_sees_the_same_instants(day, visitor_hour):
    rules = make_rules("Europe/Warsaw")
    slots = day_slots(rules, day)
    start, end = slots[0].in_zone("America/New_York")
    assert start == slots[0].start and end == slots[0].end  # same instants
    assert (start.hour, start.minute) == (visitor_hour, 0)
    assert slots[0].start.astimezone(ZoneInfo("Europe/Warsaw")).hour == 9


def test_a_visitors_window_in_their_own_timezone_selects_their_local_day():
    new_york = ZoneInfo("America/New_York")
    rules = make_rules("Europe/Warsaw")
    day = date(2025, 3, 9)  # the change day in New York, not in Warsaw
    slots = free_slots(
        rules,
        window_start=datetime.combine(day, time(), tzinfo=new_york),
        window_end=datetime.combine(day + timedelta(days=1), time(), tzinfo=new_york),
        now=LONG_AGO,
    )
    visitor = [slot.in_zone("America/New_York") for slot in slots]
    # Warsaw's Sunday 09:00-17:00 CET is 08:00-16:00 UTC, i.e. 04:00-12:00 EDT in New York, and
    # Monday 09:00 Warsaw is 04:00 EDT on Monday: outside the visitor's Sunday.
    assert visitor[0][0].strftime("%H:%M %Z") == "04:00 EDT"
    assert visitor[-1][1].strftime("%H:%M") == "12:00"
    assert {start.date() for start, _ in visitor} == {day}


@pytest.mark.parametrize("visitor", ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "UTC"])
def test_converting_slots_to_any_zone_keeps_the_instant(visitor):
    rules = make_rules("Australia/Sydney")
    for slot in day_slots(rules, date(2025, 4, 6)) + day_slots(rules, date(2025, 10, 5)):
        start, end = slot.in_zone(visitor)
        assert start.astimezone(UTC) == slot.start and end.astimezone(UTC) == slot.end
        assert start.astimezone(ZoneInfo(visitor)).utcoffset() == start.utcoffset()
