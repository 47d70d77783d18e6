"""Expansion of RFC 5545 recurrence lines (RRULE, RDATE, EXDATE) into occurrence starts.

Timed series are expanded with the event's own IANA zone attached to DTSTART: dateutil steps
in wall-clock time and ZoneInfo computes each occurrence's offset, so a weekly 09:00 meeting
stays at 09:00 local across DST changes (its UTC time shifts instead). All-day series are
expanded on naive midnights, because a date has no zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr

# Expanding a series without COUNT/UNTIL needs a horizon; Google also stops somewhere.
OPEN_SERIES_HORIZON = timedelta(days=730)
MAX_OCCURRENCES = 2000
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)

_LOCAL_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})(?!Z)")

Start = datetime | date


class RecurrenceError(ValueError):
    """The recurrence lines cannot be parsed."""


def _dtstart(start: Start, timezone: str) -> datetime:
    if isinstance(start, datetime):
        return start.astimezone(ZoneInfo(timezone))
    return datetime.combine(start, time())


def _utc_until(lines: list[str], timezone: str) -> list[str]:
    """RFC 5545 wants UNTIL in UTC for zoned series; clients sometimes send local time."""
    tz = ZoneInfo(timezone)

    def to_utc(match: re.Match[str]) -> str:
        local = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        return "UNTIL=" + local.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return [_LOCAL_UNTIL.sub(to_utc, line) for line in lines]


def parse(lines: list[str], start: Start, timezone: str) -> rruleset:
    """Build the rule set of a series starting at `start` (aware datetime or date)."""
    if not any(
        line.upper().startswith("RRULE") or line.upper().startswith("RDATE") for line in lines
    ):
        raise RecurrenceError("recurrence needs an RRULE or RDATE line")
    if isinstance(start, datetime):
        lines = _utc_until(lines, timezone)
    try:
        return rrulestr("\n".join(lines), dtstart=_dtstart(start, timezone), forceset=True)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid recurrence: {exc}") from exc


def _is_finite(lines: list[str]) -> bool:
    rules = [line.upper() for line in lines if line.upper().startswith("RRULE")]
    return all("COUNT=" in rule or "UNTIL=" in rule for rule in rules)


def _as_start(value: datetime, start: Start, timezone: str) -> Start:
    if isinstance(start, datetime):
        return value.astimezone(ZoneInfo(timezone))
    return value.date()


def occurrences(
    lines: list[str],
    start: Start,
    timezone: str,
    duration: timedelta,
    window: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> list[Start]:
    """Starts of the occurrences overlapping `window` (aware, half-open), in series order.

    Without a window the whole series counts; an open series (no COUNT/UNTIL) always stops
    at `now` plus the horizon.
    """
    rules = parse(lines, start, timezone)
    low, high = window or (instant(start, timezone), FAR_FUTURE)
    if not _is_finite(lines):
        high = min(high, (now or datetime.now(UTC)) + OPEN_SERIES_HORIZON)
    low, high = (_bound(edge, start, timezone) for edge in (low, high))
    found = []
    for value in rules.xafter(low - duration, count=MAX_OCCURRENCES, inc=True):
        if value >= high:
            break
        if value + duration > low:
            found.append(_as_start(value, start, timezone))
    return found


def instant(start: Start, timezone: str) -> datetime:
    """A start as an aware datetime; a date means its midnight in `timezone`."""
    if isinstance(start, datetime):
        return start
    return datetime.combine(start, time(), ZoneInfo(timezone))


def _bound(edge: datetime, start: Start, timezone: str) -> datetime:
    """Window edges compare with aware occurrences, or with naive local midnights."""
    if isinstance(start, datetime):
        return edge
    return edge.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def is_occurrence(lines: list[str], start: Start, timezone: str, candidate: Start) -> bool:
    """Whether the series has an occurrence starting exactly at `candidate`."""
    rules = parse(lines, start, timezone)
    value = _dtstart(candidate, timezone)
    return rules.after(value, inc=True) == value
