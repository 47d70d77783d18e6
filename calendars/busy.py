"""Busy time ready before anyone asks: each user's busy intervals, merged across their
availability calendars, stored per UTC day (`BusyDay`) whenever the mirror changes.

A scheduling page then reads a handful of rows for the days it shows and hands the engine a
merged timeline — no per-event work on the request path, however many events the calendars
hold. Every writer of the mirror calls `refresh` inside its own transaction (sync, the
outbox's write-through, calendars lost or (de)selected for availability, disconnecting), so
the store never disagrees with the mirror it is made from.

Reservations of bookings are not in here: they change with every booking, and folding them in
would make concurrent bookings of one host queue on its rows; pages read them live (an indexed
query over a few rows).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Q

from calendars.models import BusyDay, Calendar, Event

DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Everything a user could sync: calendars.sync keeps 30 days back and 400 ahead.
FULL_SPAN = (timedelta(days=31), timedelta(days=402))
# Both the merge and the lock key live in the database: one advisory lock namespace here.
LOCK_NAMESPACE = 7_340_011


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def availability_calendar_ids(user_id: int) -> list[int]:
    """The calendars whose busy time counts for the user's scheduling pages."""
    return list(
        Calendar.objects.filter(
            connection__user_id=user_id,
            connection__scheduling_pages=True,
            is_active=True,
            is_task_calendar=False,
        )
        .filter(Q(is_primary=True) | Q(for_availability=True))
        .values_list("pk", flat=True)
    )


MERGED_SQL = """
SELECT EXTRACT(EPOCH FROM lower(busy))::numeric * 1000000,
       EXTRACT(EPOCH FROM upper(busy))::numeric * 1000000
FROM (
    SELECT unnest(range_agg(tstzrange("start", "end", '[)'))) AS busy
    FROM calendars_event
    WHERE calendar_id = ANY(%s) AND busy AND "end" > "start" AND "start" < %s AND "end" > %s
) merged
ORDER BY 1
"""


def _merged(calendar_ids: list[int], start: datetime, end: datetime) -> list[tuple[int, int]]:
    """Busy time of these calendars overlapping [start, end), merged (microseconds)."""
    if not calendar_ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(MERGED_SQL, [calendar_ids, end, start])
            return [(int(low), int(high)) for low, high in cursor.fetchall()]
    spans = sorted(
        (_micros(low), _micros(high))
        for low, high in Event.objects.filter(
            calendar_id__in=calendar_ids, busy=True, start__lt=end, end__gt=start
        ).values_list("start", "end")
        if high > low
    )
    merged: list[tuple[int, int]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _days_of(spans: Iterable[tuple[datetime, datetime]]) -> set[date]:
    """The UTC days a set of intervals touches (an empty interval: the day it is on)."""
    days: set[date] = set()
    for start, end in spans:
        day = start.astimezone(UTC).date()
        last = max(day, (end.astimezone(UTC) - _US).date())
        while day <= last:
            days.add(day)
            day += DAY
    return days


def _lock(user_id: int) -> None:
    """Refreshes of one user's store take turns (two syncs of a legacy account's two
    connections must not each write a day the other just changed)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, user_id])


@transaction.atomic
def refresh(user_id: int, spans: Iterable[tuple[datetime, datetime]] | None = None) -> int:
    """Recompute the user's stored busy time on the UTC days these spans touch (every day
    the mirror can hold when None). Call inside the transaction that changed the mirror.
    Returns how many days were written."""
    _lock(user_id)
    if spans is None:
        today = datetime.now(UTC).date()
        days = None
        first, last = today - FULL_SPAN[0], today + FULL_SPAN[1]
    else:
        days = _days_of(spans)
        if not days:
            return 0
        first, last = min(days), max(days)
    window = (_day_start(first), _day_start(last + DAY))
    merged = _merged(availability_calendar_ids(user_id), *window)
    per_day = _split(merged, first, last)
    wanted = per_day if days is None else {d: per_day.get(d) for d in days}
    stale = BusyDay.objects.filter(user_id=user_id, day__gte=first, day__lte=last)
    if days is not None:
        stale = stale.filter(day__in=days)
    stale.exclude(day__in=[d for d, blocks in wanted.items() if blocks]).delete()
    rows = [
        BusyDay(user_id=user_id, day=day, blocks=blocks.tobytes())
        for day, blocks in wanted.items()
        if blocks
    ]
    BusyDay.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["user", "day"], update_fields=["blocks"]
    )
    return len(rows)


def _split(merged: list[tuple[int, int]], first: date, last: date) -> dict[date, array]:
    """Merged intervals cut at UTC midnights, per day."""
    per_day: dict[date, array] = {}
    day_us = DAY // _US
    first_us = _micros(_day_start(first))
    for low, high in merged:
        index = max((low - first_us) // day_us, 0)
        while True:
            day_low = first_us + index * day_us
            day_high = day_low + day_us
            if day_low >= high:
                break
            day = first + timedelta(days=index)
            if day > last:
                break
            piece = (max(low, day_low), min(high, day_high))
            if piece[1] > piece[0]:
                per_day.setdefault(day, array("q")).extend(piece)
            index += 1
    return per_day


def read(
    user_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, tuple[list[int], list[int]]]:
    """Each user's stored busy time on the UTC days [start, end) touches: (starts, ends) in
    microseconds, sorted; pieces that meet at midnight are left for the reader to merge."""
    found: dict[int, tuple[list[int], list[int]]] = {}
    rows = (
        BusyDay.objects.filter(
            user_id__in=list(user_ids),
            day__gte=start.astimezone(UTC).date(),
            day__lte=(end.astimezone(UTC) - _US).date(),
        )
        .order_by("user_id", "day")
        .values_list("user_id", "blocks")
    )
    for user_id, blocks in rows:
        values = array("q")
        values.frombytes(bytes(blocks))
        starts, ends = found.setdefault(user_id, ([], []))
        starts.extend(values[0::2])
        ends.extend(values[1::2])
    return found


def rebuild_all() -> int:
    """Every user's store from scratch (a data migration, a repair)."""
    users = (
        Calendar.objects.filter(connection__scheduling_pages=True)
        .values_list("connection__user_id", flat=True)
        .distinct()
    )
    written = 0
    for user_id in users:
        written += refresh(user_id)
    return written
