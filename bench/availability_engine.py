"""Availability engine: 60 days of slots against 9,000 busy events (3 calendars x 3,000).

Run with `python bench/availability_engine.py`. Prints timings of `free_slots` (merged busy
intervals + bisect) and of a naive O(candidates x events) reference measured in the same run,
their ratio, and checks that both return the same slots. Figures only: nothing asserts a time.
"""

import random
import sys
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# `python bench/availability_engine.py` puts bench/ on sys.path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meetings.availability import (
    Booking,
    BusyInterval,
    Rules,
    Slot,
    candidate_starts,
    free_slots,
)

SEED = 20250310
DAYS = 60
CALENDARS = ("Main", "Team calendar", "Boss")
EVENTS_PER_CALENDAR = 3_000
BOOKINGS = 150
ZONE = ZoneInfo("Europe/Warsaw")  # the window spans the 30 March DST change
NOW = datetime(2025, 3, 10, 7, 30, tzinfo=ZONE)
WINDOW = (NOW, NOW + timedelta(days=DAYS))

RULES = Rules(
    timezone="Europe/Warsaw",
    weekly_hours={day: [(time(8), time(12)), (time(13), time(19))] for day in range(5)}
    | {5: [(time(10), time(14))]},
    duration=timedelta(minutes=30),
    increment=timedelta(minutes=15),
    buffer_before=timedelta(minutes=10),
    buffer_after=timedelta(minutes=5),
    minimum_notice=timedelta(hours=4),
    max_advance=DAYS,
    daily_maximum=6,
)


def _in_working_hours(instant: datetime) -> bool:
    local = instant.astimezone(ZONE)
    return any(
        start <= local.time() < end for start, end in RULES.weekly_hours.get(local.weekday(), [])
    )


def random_data(rng: random.Random, off_hours: float) -> tuple[list[BusyInterval], list[Booking]]:
    """Events at random 5-minute starts, mostly short, some long; a share of them moved out of
    working hours (evenings, nights, Sundays); a few bookings."""
    start = WINDOW[0].astimezone(UTC)
    minutes = DAYS * 24 * 60
    busy = []
    for label in CALENDARS:
        for _ in range(EVENTS_PER_CALENDAR):
            begin = start + timedelta(minutes=rng.randrange(0, minutes, 5))
            while rng.random() < off_hours and _in_working_hours(begin):
                begin = start + timedelta(minutes=rng.randrange(0, minutes, 5))
            length = rng.choice([5, 10, 15, 15, 20, 30, 30, 45, 60, 120])
            busy.append(BusyInterval(begin, begin + timedelta(minutes=length), label))
    bookings = []
    for _ in range(BOOKINGS):
        begin = start + timedelta(minutes=rng.randrange(0, minutes, 15))
        bookings.append(Booking(begin, begin + timedelta(minutes=30)))
    rng.shuffle(busy)
    return busy, bookings


def naive_free_slots(rules: Rules, busy: list[BusyInterval], bookings: list[Booking]) -> list[Slot]:
    """The same rules, checking every event for every candidate start: O(n x m)."""
    earliest = NOW + rules.minimum_notice
    horizon = datetime.combine(
        NOW.astimezone(ZONE).date() + timedelta(days=DAYS + 1), time(), tzinfo=ZONE
    )
    per_day = Counter(b.start.astimezone(ZONE).date() for b in bookings if b.end > b.start)
    blockers = [*busy, *bookings]
    slots = []
    for start in candidate_starts(rules, window_start=WINDOW[0], window_end=WINDOW[1]):
        end = start + rules.duration
        if start < earliest or start >= horizon:
            continue
        if per_day[start.astimezone(ZONE).date()] >= rules.daily_maximum:
            continue
        if any(
            b.end > b.start
            and b.start < end + rules.buffer_after
            and b.end > start - rules.buffer_before
            for b in blockers
        ):
            continue
        slots.append(Slot(start, end))
    return slots


def best_of(runs: int, function, *args):
    best, result = float("inf"), None
    for _ in range(runs):
        started = clock.perf_counter()
        result = function(*args)
        best = min(best, clock.perf_counter() - started)
    return best, result


def engine(busy, bookings):
    return free_slots(
        RULES,
        window_start=WINDOW[0],
        window_end=WINDOW[1],
        now=NOW,
        busy=busy,
        bookings=bookings,
    )


def run(name: str, off_hours: float) -> bool:
    busy, bookings = random_data(random.Random(SEED), off_hours)
    candidates = candidate_starts(RULES, window_start=WINDOW[0], window_end=WINDOW[1])
    fast, slots = best_of(7, engine, busy, bookings)
    slow, reference = best_of(1, naive_free_slots, RULES, busy, bookings)
    same = slots == reference
    print(
        f"{name}: {DAYS} days, {len(busy):,} busy events in {len(CALENDARS)} calendars, "
        f"{len(bookings)} bookings, {len(candidates):,} candidate starts, "
        f"{len(slots):,} free slots"
    )
    print(f"  free_slots (merge + bisect), best of 7: {fast * 1000:8.1f} ms")
    print(f"  naive O(n*m) reference, 1 run:          {slow * 1000:8.1f} ms")
    print(f"  ratio naive / engine:                   {slow / fast:8.1f}x")
    print(f"  same slots as the reference: {'yes' if same else 'NO'}")
    return same


def main() -> None:
    print("Availability engine (meetings/availability.py)")
    same = run("events at any hour", off_hours=0.0)
    # The naive scan stops at the first conflict, so it looks best when nearly everything is
    # busy; with most events outside working hours it has to scan every event for most starts.
    same &= run("events mostly outside working hours", off_hours=0.97)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
