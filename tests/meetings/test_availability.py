"""Unit tests of the availability engine, one rule at a time (no database, no clock)."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from meetings.availability import (
    Booking,
    BusyInterval,
    Member,
    ReasonCode,
    RoundRobinSlot,
    Rules,
    Slot,
    candidate_starts,
    explain,
    free_slots,
    group_slots,
    pick_round_robin_host,
    round_robin_slots,
)

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY = date(2025, 6, 2)  # no DST change anywhere near; Warsaw is UTC+2
NINE_TO_FIVE = [(time(9), time(17))]
WEEKDAYS = dict.fromkeys(range(5), NINE_TO_FIVE)
MIN = timedelta(minutes=1)


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = WARSAW) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def on(offset_days: int) -> date:
    return MONDAY + timedelta(days=offset_days)


def make_rules(**fields) -> Rules:
    fields.setdefault("timezone", "Europe/Warsaw")
    fields.setdefault("weekly_hours", WEEKDAYS)
    fields.setdefault("duration", 30 * MIN)
    fields.setdefault("increment", 30 * MIN)
    return Rules(**fields)


LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def slots_on(rules: Rules, day: date = MONDAY, *, now: datetime = LONG_AGO, **data) -> list[Slot]:
    return free_slots(
        rules, window_start=at(day, 0), window_end=at(day + timedelta(1), 0), now=now, **data
    )


def local_starts(slots: list[Slot], zone: ZoneInfo = WARSAW) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def codes(reasons) -> list[ReasonCode]:
    return [reason.code for reason in reasons]


# ---------------------------------------------------------------------------- working hours


def test_weekly_hours_give_slots_from_start_to_the_end_of_the_day():
    slots = slots_on(make_rules())
    assert len(slots) == 16
    assert local_starts(slots)[0] == "09:00"
    assert slots[-1].end == at(MONDAY, 17)
    assert all(slot.end - slot.start == 30 * MIN for slot in slots)
    assert all(slot.start.tzinfo is UTC for slot in slots)


def test_a_weekday_without_hours_has_no_slots():
    assert slots_on(make_rules(), on(5)) == []  # Saturday
    assert slots_on(make_rules(), on(6)) == []


def test_several_intervals_in_one_day():
    rules = make_rules(weekly_hours={0: [(time(13), time(14)), (time(9), time(10))]})
    assert local_starts(slots_on(rules)) == ["09:00", "09:30", "13:00", "13:30"]


def test_overlapping_intervals_are_merged_and_the_first_start_anchors_the_grid():
    rules = make_rules(
        weekly_hours={0: [(time(9), time(10, 15)), (time(10), time(11))]}, increment=45 * MIN
    )
    assert local_starts(slots_on(rules)) == ["09:00", "09:45", "10:30"]


def test_an_interval_may_end_at_midnight():
    rules = make_rules(weekly_hours={0: [(time(22), time(0))]})
    slots = slots_on(rules)
    assert local_starts(slots) == ["22:00", "22:30", "23:00", "23:30"]
    assert slots[-1].end == at(on(1), 0)


def test_a_whole_day_is_midnight_to_midnight():
    rules = make_rules(
        weekly_hours={0: [(time(0), time(0))]}, duration=60 * MIN, increment=60 * MIN
    )
    assert len(slots_on(rules)) == 24


def test_a_slot_must_end_within_working_hours():
    rules = make_rules(
        weekly_hours={0: [(time(9), time(10))]}, duration=45 * MIN, increment=15 * MIN
    )
    assert local_starts(slots_on(rules)) == ["09:00", "09:15"]


def test_invalid_hours_are_refused():
    with pytest.raises(ValueError, match="end after"):
        make_rules(weekly_hours={0: [(time(17), time(9))]})
    with pytest.raises(ValueError, match="weekdays"):
        make_rules(weekly_hours={7: NINE_TO_FIVE})
    with pytest.raises(ValueError, match="naive"):
        make_rules(weekly_hours={0: [(time(9, tzinfo=UTC), time(17))]})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("duration", timedelta(0)),
        ("increment", -MIN),
        ("buffer_before", -MIN),
        ("minimum_notice", -MIN),
        ("max_advance", -1),
        ("max_advance", True),
        ("daily_maximum", -1),
    ],
)
def test_invalid_rules_are_refused(field, value):
    with pytest.raises(ValueError):
        make_rules(**{field: value})


def test_naive_datetimes_are_refused():
    naive = datetime(2025, 6, 2, 9)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        free_slots(make_rules(), window_start=naive, window_end=at(on(1), 0), now=LONG_AGO)
    with pytest.raises(ValueError, match="aware"):
        BusyInterval(naive, at(MONDAY, 10))


# ------------------------------------------------------------------------------- overrides


def test_a_date_override_replaces_the_weekly_hours():
    rules = make_rules(date_overrides={MONDAY: [(time(14), time(15))]})
    assert local_starts(slots_on(rules)) == ["14:00", "14:30"]
    assert len(slots_on(rules, on(1))) == 16  # Tuesday keeps its weekly hours


def test_an_empty_override_is_a_day_off():
    rules = make_rules(date_overrides={MONDAY: []})
    assert slots_on(rules) == []


def test_an_override_can_open_a_day_without_weekly_hours():
    rules = make_rules(date_overrides={on(5): [(time(10), time(11))]})
    assert local_starts(slots_on(rules, on(5))) == ["10:00", "10:30"]


# ---------------------------------------------------------------------------- busy, bookings


def test_busy_time_blocks_overlapping_slots_but_not_adjacent_ones():
    busy = [BusyInterval(at(MONDAY, 10), at(MONDAY, 11), "Team calendar")]
    starts = local_starts(slots_on(make_rules(), busy=busy))
    assert "09:30" in starts and "11:00" in starts
    assert "10:00" not in starts and "10:30" not in starts


def test_busy_time_in_another_timezone_is_compared_as_an_instant():
    tokyo = ZoneInfo("Asia/Tokyo")  # 10:00 Warsaw is 17:00 Tokyo
    busy = [BusyInterval(at(MONDAY, 17, zone=tokyo), at(MONDAY, 17, 30, zone=tokyo), "Tokyo")]
    assert "10:00" not in local_starts(slots_on(make_rules(), busy=busy))


def test_empty_busy_intervals_block_nothing():
    busy = [BusyInterval(at(MONDAY, 10, 10), at(MONDAY, 10, 10), "Zero")]
    assert len(slots_on(make_rules(), busy=busy)) == 16


def test_bookings_block_like_busy_time():
    bookings = [Booking(at(MONDAY, 12), at(MONDAY, 12, 30))]
    starts = local_starts(slots_on(make_rules(), bookings=bookings))
    assert "12:00" not in starts
    assert {"11:30", "12:30"} <= set(starts)


def test_buffer_before_keeps_time_free_after_a_busy_event():
    busy = [BusyInterval(at(MONDAY, 9), at(MONDAY, 10), "Team calendar")]
    rules = make_rules(buffer_before=15 * MIN)
    starts = local_starts(slots_on(rules, busy=busy))
    assert starts[0] == "10:30"  # 10:00 would start right after the event


def test_buffer_after_keeps_time_free_before_a_busy_event():
    busy = [BusyInterval(at(MONDAY, 11), at(MONDAY, 12), "Team calendar")]
    rules = make_rules(buffer_after=15 * MIN)
    starts = local_starts(slots_on(rules, busy=busy))
    assert "10:00" in starts
    assert "10:30" not in starts  # ends at 11:00, buffer runs into the event
    assert "12:00" in starts  # buffer_before is 0


def test_buffers_apply_to_bookings_and_exactly_touching_buffers_are_allowed():
    bookings = [Booking(at(MONDAY, 12), at(MONDAY, 12, 30))]
    rules = make_rules(buffer_before=30 * MIN, buffer_after=30 * MIN)
    starts = local_starts(slots_on(rules, bookings=bookings))
    assert "11:30" not in starts and "12:30" not in starts
    assert "11:00" in starts and "13:00" in starts


# --------------------------------------------------------------------- notice and advance


def test_minimum_notice_moves_the_first_slot():
    now = at(MONDAY, 9, 10)
    starts = local_starts(slots_on(make_rules(minimum_notice=timedelta(hours=1)), now=now))
    assert starts[0] == "10:30"


def test_a_start_exactly_at_the_notice_limit_is_offered():
    now = at(MONDAY, 9)
    starts = local_starts(slots_on(make_rules(minimum_notice=timedelta(hours=1)), now=now))
    assert starts[0] == "10:00"


def test_slots_in_the_past_are_never_offered():
    assert local_starts(slots_on(make_rules(), now=at(MONDAY, 16, 1))) == ["16:30"]


def week(rules: Rules, now: datetime) -> set[date]:
    slots = free_slots(rules, window_start=at(MONDAY, 0), window_end=at(on(7), 0), now=now)
    return {slot.start.astimezone(WARSAW).date() for slot in slots}


def test_max_advance_in_days_counts_to_the_end_of_that_local_day():
    now = at(MONDAY, 15)
    assert week(make_rules(max_advance=0), now) == {MONDAY}
    assert week(make_rules(max_advance=1), now) == {MONDAY, on(1)}
    assert week(make_rules(max_advance=2), now) == {MONDAY, on(1), on(2)}


def test_max_advance_days_are_counted_in_the_page_timezone():
    # 23:30 UTC on Monday is already Tuesday 01:30 in Warsaw, so "today" is Tuesday.
    now = datetime(2025, 6, 2, 23, 30, tzinfo=UTC)
    assert week(make_rules(max_advance=1), now) == {on(1), on(2)}


def test_max_advance_as_a_timedelta_is_a_rolling_exclusive_horizon():
    now = at(MONDAY, 15)
    slots = free_slots(
        make_rules(max_advance=timedelta(hours=19)),
        window_start=at(MONDAY, 0),
        window_end=at(on(7), 0),
        now=now,
    )
    assert slots[-1].start == at(on(1), 9, 30)  # 10:00 Tuesday is exactly the horizon


# ------------------------------------------------------------------------------ increments


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (15, ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30"]),
        (30, ["09:00", "09:30", "10:00", "10:30"]),
        (60, ["09:00", "10:00"]),
    ],
)
def test_starts_follow_the_increment(minutes, expected):
    rules = make_rules(weekly_hours={0: [(time(9), time(11))]}, increment=minutes * MIN)
    assert local_starts(slots_on(rules)) == expected


def test_the_grid_is_anchored_at_the_start_of_each_interval():
    rules = make_rules(
        weekly_hours={0: [(time(9, 10), time(10, 30)), (time(13, 45), time(15))]},
        increment=60 * MIN,
    )
    # 10:10 and 14:45 are on the grid but would end after their interval.
    assert local_starts(slots_on(rules)) == ["09:10", "13:45"]


def test_increment_longer_than_the_meeting():
    rules = make_rules(weekly_hours={0: [(time(9), time(12))]}, increment=90 * MIN)
    assert local_starts(slots_on(rules)) == ["09:00", "10:30"]


# ----------------------------------------------------------------------------- daily maximum


def test_the_daily_maximum_closes_a_day_with_enough_bookings():
    bookings = [Booking(at(MONDAY, 9), at(MONDAY, 9, 30)), Booking(at(MONDAY, 15), at(MONDAY, 16))]
    rules = make_rules(daily_maximum=2)
    assert slots_on(rules, bookings=bookings) == []
    assert len(slots_on(rules, on(1), bookings=bookings)) == 16


def test_the_daily_maximum_allows_more_bookings_below_it():
    bookings = [Booking(at(MONDAY, 9), at(MONDAY, 9, 30))]
    assert len(slots_on(make_rules(daily_maximum=2), bookings=bookings)) == 15


def test_the_daily_maximum_counts_bookings_by_local_date():
    late = Booking(datetime(2025, 6, 2, 22, 30, tzinfo=UTC), datetime(2025, 6, 2, 23, tzinfo=UTC))
    rules = make_rules(daily_maximum=1)  # 22:30 UTC Monday is 00:30 Tuesday in Warsaw
    assert len(slots_on(rules, bookings=[late])) == 16
    assert slots_on(rules, on(1), bookings=[late]) == []


def test_window_bounds_are_start_inclusive_end_exclusive():
    slots = free_slots(
        make_rules(), window_start=at(MONDAY, 10), window_end=at(MONDAY, 11), now=LONG_AGO
    )
    assert local_starts(slots) == ["10:00", "10:30"]
    assert (
        free_slots(make_rules(), window_start=at(on(1), 0), window_end=at(MONDAY, 0), now=LONG_AGO)
        == []
    )


def test_candidate_starts_ignore_everything_but_hours_and_increment():
    busy = [BusyInterval(at(MONDAY, 9), at(MONDAY, 17), "All day")]
    rules = make_rules(daily_maximum=0)
    assert slots_on(rules, busy=busy) == []
    starts = candidate_starts(rules, window_start=at(MONDAY, 0), window_end=at(on(1), 0))
    assert len(starts) == 16


def test_a_slot_shows_in_the_visitors_timezone():
    slot = slots_on(make_rules())[0]
    start, end = slot.in_zone("America/New_York")
    assert (start.hour, end.hour, end.minute) == (3, 3, 30)
    assert start == slot.start


# ---------------------------------------------------------------------------------- explain


NOW = at(MONDAY, 8)


def test_an_offered_start_explains_as_nothing():
    assert explain(make_rules(), at(MONDAY, 10), now=NOW) == []


def test_explain_outside_working_hours():
    (reason,) = explain(make_rules(), at(on(5), 10), now=NOW)
    assert reason.code == ReasonCode.OUTSIDE_HOURS
    assert "working hours" in reason.message
    assert codes(explain(make_rules(), at(MONDAY, 18), now=NOW)) == [ReasonCode.OUTSIDE_HOURS]


def test_explain_a_meeting_that_would_end_after_hours():
    rules = make_rules(duration=60 * MIN)
    (reason,) = explain(rules, at(MONDAY, 16, 30), now=NOW)
    assert reason.code == ReasonCode.OUTSIDE_HOURS
    assert "would end after" in reason.message


def test_explain_not_aligned():
    (reason,) = explain(make_rules(), at(MONDAY, 10, 10), now=NOW)
    assert reason.code == ReasonCode.NOT_ALIGNED
    assert "every 30 minutes from 09:00" in reason.message


def test_explain_too_soon():
    rules = make_rules(minimum_notice=timedelta(hours=4))
    (reason,) = explain(rules, at(MONDAY, 11), now=NOW)
    assert reason.code == ReasonCode.TOO_SOON
    assert "4 hours" in reason.message
    assert codes(explain(make_rules(), at(MONDAY, 9), now=at(MONDAY, 12))) == [ReasonCode.TOO_SOON]


def test_explain_too_far_ahead():
    (reason,) = explain(make_rules(max_advance=2), at(on(3), 10), now=NOW)
    assert reason.code == ReasonCode.TOO_FAR
    assert "2 days" in reason.message
    (reason,) = explain(make_rules(max_advance=timedelta(hours=3)), at(MONDAY, 11), now=NOW)
    assert reason.code == ReasonCode.TOO_FAR


def test_explain_busy_in_a_calendar_names_the_calendar():
    busy = [BusyInterval(at(MONDAY, 10), at(MONDAY, 11), "Team calendar")]
    (reason,) = explain(make_rules(), at(MONDAY, 10, 30), now=NOW, busy=busy)
    assert reason.code == ReasonCode.BUSY
    assert reason.label == "Team calendar"
    assert reason.message == "Busy in calendar Team calendar."


def test_explain_inside_a_buffer_names_the_calendar():
    busy = [BusyInterval(at(MONDAY, 10), at(MONDAY, 11), "Team calendar")]
    rules = make_rules(buffer_before=15 * MIN, buffer_after=15 * MIN)
    for start in (at(MONDAY, 11), at(MONDAY, 9, 30)):
        (reason,) = explain(rules, start, now=NOW, busy=busy)
        assert reason.code == ReasonCode.BUFFER
        assert reason.label == "Team calendar"
        assert "Inside a buffer of Team calendar" in reason.message


def test_explain_inside_a_buffer_of_a_booking():
    bookings = [Booking(at(MONDAY, 10), at(MONDAY, 11))]
    rules = make_rules(buffer_after=15 * MIN)
    (reason,) = explain(rules, at(MONDAY, 9, 30), now=NOW, bookings=bookings)
    assert reason.code == ReasonCode.BUFFER
    assert "booking" in reason.message


def test_explain_already_booked():
    bookings = [Booking(at(MONDAY, 10), at(MONDAY, 10, 30))]
    assert codes(explain(make_rules(), at(MONDAY, 10), now=NOW, bookings=bookings)) == [
        ReasonCode.ALREADY_BOOKED
    ]


def test_explain_daily_maximum():
    bookings = [Booking(at(MONDAY, 15), at(MONDAY, 16))]
    (reason,) = explain(make_rules(daily_maximum=1), at(MONDAY, 10), now=NOW, bookings=bookings)
    assert reason.code == ReasonCode.DAILY_MAXIMUM
    assert "daily maximum of 1" in reason.message


def test_explain_gives_every_reason_and_one_per_calendar():
    busy = [
        BusyInterval(at(MONDAY, 10), at(MONDAY, 10, 10), "Team calendar"),
        BusyInterval(at(MONDAY, 10, 20), at(MONDAY, 10, 40), "Team calendar"),
        BusyInterval(at(MONDAY, 10), at(MONDAY, 11), "Boss"),
    ]
    rules = make_rules(minimum_notice=timedelta(days=1))
    reasons = explain(rules, at(MONDAY, 10), now=NOW, busy=busy)
    assert codes(reasons) == [ReasonCode.TOO_SOON, ReasonCode.BUSY, ReasonCode.BUSY]
    assert [reason.label for reason in reasons[1:]] == ["Team calendar", "Boss"]


def test_explain_agrees_with_free_slots_minute_by_minute():
    rules = make_rules(
        increment=15 * MIN,
        duration=45 * MIN,
        buffer_before=10 * MIN,
        buffer_after=5 * MIN,
        minimum_notice=timedelta(hours=2),
        max_advance=1,
    )
    busy = [
        BusyInterval(at(MONDAY, 12), at(MONDAY, 13), "Team"),
        BusyInterval(at(on(1), 9), at(on(1), 9, 20), "Boss"),
    ]
    bookings = [Booking(at(on(1), 15), at(on(1), 15, 45))]
    now = at(MONDAY, 8, 50)
    offered = {
        slot.start
        for slot in free_slots(
            rules,
            window_start=at(MONDAY, 0),
            window_end=at(on(3), 0),
            now=now,
            busy=busy,
            bookings=bookings,
        )
    }
    assert offered
    start = at(MONDAY, 0).astimezone(UTC)
    while start < at(on(3), 0):
        reasons = explain(rules, start, now=now, busy=busy, bookings=bookings)
        assert (reasons == []) == (start in offered), (start, reasons)
        start += 5 * MIN


# ---------------------------------------------------------------------- group and round robin


def member(member_id, rules=None, **data) -> Member:
    return Member(member_id, rules or make_rules(), **data)


def window(day: date = MONDAY) -> dict:
    return {"window_start": at(day, 0), "window_end": at(day + timedelta(1), 0), "now": LONG_AGO}


def test_group_slots_are_when_every_member_is_free():
    alice = member(1, busy=[BusyInterval(at(MONDAY, 9), at(MONDAY, 12), "Alice")])
    bob = member(2, busy=[BusyInterval(at(MONDAY, 14), at(MONDAY, 17), "Bob")])
    assert local_starts(group_slots([alice, bob], **window())) == [
        "12:00",
        "12:30",
        "13:00",
        "13:30",
    ]


def test_group_members_keep_their_own_hours_and_timezone():
    london = make_rules(timezone="Europe/London")  # 09:00 London is 10:00 Warsaw
    slots = group_slots([member(1), member(2, london)], **window())
    starts = local_starts(slots)
    assert starts[0] == "10:00" and slots[-1].end == at(MONDAY, 17)


def test_group_of_nobody_and_mismatched_durations():
    assert group_slots([], **window()) == []
    with pytest.raises(ValueError, match="duration"):
        group_slots([member(1), member(2, make_rules(duration=60 * MIN))], **window())


def test_round_robin_slots_are_the_union_with_free_member_ids():
    alice = member(1, busy=[BusyInterval(at(MONDAY, 9), at(MONDAY, 16), "Alice")])
    bob = member(2, busy=[BusyInterval(at(MONDAY, 10), at(MONDAY, 17), "Bob")])
    slots = round_robin_slots([bob, alice], **window())
    assert slots[0] == RoundRobinSlot(
        at(MONDAY, 9).astimezone(UTC), at(MONDAY, 9, 30).astimezone(UTC), (2,)
    )
    assert slots[-1].member_ids == (1,)
    assert len(slots) == 4


def test_round_robin_lists_every_free_member():
    slots = round_robin_slots([member("b"), member("a")], **window())
    assert {slot.member_ids for slot in slots} == {("a", "b")}


def test_round_robin_prefers_the_contacts_owner_when_free():
    assert pick_round_robin_host([1, 2, 3], {1: 0, 2: 5, 3: 0}, preferred_member_id=2) == 2


def test_round_robin_falls_back_to_the_fewest_recent_bookings():
    assert pick_round_robin_host([1, 2, 3], {1: 4, 2: 2, 3: 3}, preferred_member_id=9) == 2
    assert pick_round_robin_host([1, 2, 3], {1: 4, 2: 2}) == 3  # no bookings counts as 0


def test_round_robin_ties_go_to_the_lowest_id_whatever_the_order():
    assert pick_round_robin_host([3, 1, 2], {1: 1, 2: 1, 3: 1}) == 1
    assert pick_round_robin_host(["c", "b"], {}) == "b"


def test_round_robin_with_nobody_free_is_an_error():
    with pytest.raises(ValueError):
        pick_round_robin_host([], {})


def test_rules_can_be_copied_with_changes():
    rules = make_rules()
    assert len(slots_on(replace(rules, increment=60 * MIN))) == 8
