"""The weekly-hours editor and date overrides, shared by scheduling pages and each user's own
working hours (Settings > General > Working hours).

The editor is plain form fields: per weekday, rows of two time inputs named
``<prefix>-<day>-<n>-start`` / ``-end``. Its buttons are submit buttons named
``<prefix>-action`` ("add-<day>", "remove-<day>-<n>", "copy-<day>"): without JavaScript the
server applies the action and shows the form again, unsaved; static/js/hours.js does the same
in the page without a round trip (progressive enhancement over the same fields).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django import forms

from scheduler import inputs

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_NAMES = [day.capitalize() for day in WEEKDAYS]
MAX_ROWS = 8
ROW_KEY = re.compile(r"^(?P<day>[0-6])-(?P<row>\d{1,2})-(?P<end>start|end)$")
ACTION = re.compile(r"^(?:(?P<verb>add|copy)-(?P<day>[0-6])|remove-(?P<rday>[0-6])-(?P<row>\d+))$")
MAX_OVERRIDE_DAYS = 366


def _time(text: str) -> time | None:
    """'09:00' or '09:00:00' (what a time input sends); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    if text == "24:00":
        return time(0)
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).time()  # noqa: DTZ007 (a wall-clock time)
        except ValueError:
            continue
    raise ValueError(text)


def _minutes(value: time, is_end: bool) -> int:
    minutes = value.hour * 60 + value.minute
    return 24 * 60 if is_end and minutes == 0 else minutes


def _text(value: time, is_end: bool) -> str:
    return "24:00" if is_end and value == time(0) else value.strftime("%H:%M")


@dataclass
class Day:
    index: int
    rows: list[list[str]] = field(default_factory=list)  # [start, end] as typed
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return DAY_NAMES[self.index]

    def display_rows(self) -> list[tuple[int, str, str]]:
        """(n, start, end) for the template; a stored 24:00 shows as 00:00 (a time input
        cannot hold 24:00; an end of 00:00 means midnight)."""
        return [
            (n, start, "00:00" if end == "24:00" else end)
            for n, (start, end) in enumerate(self.rows)
        ]


class WeeklyHoursEditor:
    """Parse, change and validate the editor's fields (see the module docstring)."""

    def __init__(self, data=None, initial: dict | None = None, prefix: str = "hours"):
        self.prefix = prefix
        self.bound = data is not None
        self.days = [Day(index) for index in range(7)]
        if self.bound:
            self._read(data)
        else:
            for day, intervals in (initial or {}).items():
                if str(day).isdigit() and 0 <= int(day) < 7:
                    self.days[int(day)].rows = [list(pair) for pair in intervals][:MAX_ROWS]
        self.action = data.get(f"{prefix}-action", "") if self.bound else ""
        self.cleaned: dict[str, list[list[str]]] | None = None

    def _read(self, data) -> None:
        rows: dict[tuple[int, int], list[str]] = {}
        start = f"{self.prefix}-"
        for key in data:
            if not key.startswith(start):
                continue
            match = ROW_KEY.match(key[len(start) :])
            if match:
                slot = rows.setdefault((int(match["day"]), int(match["row"])), ["", ""])
                slot[match["end"] == "end"] = str(data.get(key, "")).strip()[:8]
        for (day, _), pair in sorted(rows.items()):
            if len(self.days[day].rows) < MAX_ROWS:
                self.days[day].rows.append(pair)

    # --- The no-JavaScript actions --------------------------------------------------------

    def apply_action(self) -> bool:
        """Apply the button that was pressed, if any; True when one was (show the form
        again, unsaved)."""
        match = ACTION.match(self.action or "")
        if not match:
            return False
        if match["verb"] == "add":
            day = self.days[int(match["day"])]
            if len(day.rows) < MAX_ROWS:
                day.rows.append(self._next_interval(day))
        elif match["verb"] == "copy":
            source = self.days[int(match["day"])]
            for day in self.days:
                day.rows = [list(pair) for pair in source.rows]
        else:
            day = self.days[int(match["rday"])]
            row = int(match["row"])
            if row < len(day.rows):
                del day.rows[row]
        return True

    @staticmethod
    def _next_interval(day: Day) -> list[str]:
        """A new row after the day's last one (an hour later, an hour long), or 09:00-17:00."""
        try:
            last = _time(day.rows[-1][1]) if day.rows else None
        except ValueError:
            last = None
        if last is None or last == time(0) or last.hour >= 22:
            return ["09:00", "17:00"] if not day.rows else ["", ""]
        begin = (datetime.combine(date.min, last) + timedelta(hours=1)).time()
        end = (datetime.combine(date.min, begin) + timedelta(hours=1)).time()
        return [begin.strftime("%H:%M"), end.strftime("%H:%M")]

    # --- Validation -------------------------------------------------------------------------

    def is_valid(self) -> bool:
        weekly: dict[str, list[list[str]]] = {}
        for day in self.days:
            day.errors = []
            spans = []
            for start_text, end_text in day.rows:
                if not start_text and not end_text:
                    continue  # a cleared row is a removed row
                try:
                    start, end = _time(start_text), _time(end_text)
                except ValueError as exc:
                    day.errors.append(f"{day.name}: “{exc}” is not a time like 09:00.")
                    continue
                if start is None or end is None:
                    day.errors.append(f"{day.name}: give both a start and an end time.")
                    continue
                low, high = _minutes(start, False), _minutes(end, True)
                if high <= low:
                    day.errors.append(
                        f"{day.name}: {start:%H:%M}-{end:%H:%M} ends before it starts."
                    )
                    continue
                spans.append((low, high, [_text(start, False), _text(end, True)]))
            spans.sort()
            for (_, first_end, first), (second_start, _, second) in itertools.pairwise(spans):
                if second_start < first_end:
                    day.errors.append(
                        f"{day.name}: {first[0]}-{first[1]} overlaps {second[0]}-{second[1]}."
                    )
            if spans and not day.errors:
                weekly[str(day.index)] = [pair for _, _, pair in spans]
        self.cleaned = weekly
        return not self.errors

    @property
    def errors(self) -> list[str]:
        return [error for day in self.days for error in day.errors]

    def summary(self) -> str:
        """A one-line description for people ("Mon 09:00-17:00; Tue ...")."""
        return describe(self.cleaned if self.cleaned is not None else self._as_stored())

    def _as_stored(self) -> dict:
        return {str(d.index): d.rows for d in self.days if d.rows}


def describe(weekly: dict) -> str:
    parts = []
    for index, name in enumerate(DAY_NAMES):
        hours = weekly.get(str(index)) or []
        if hours:
            text = ", ".join(f"{start}-{end}" for start, end in hours)
            parts.append(f"{name[:3]} {text}")
    return "; ".join(parts) or "No working hours"


# --- Date overrides ---------------------------------------------------------------------------

OVERRIDES_HELP = (
    "One per line: 2026-12-24: off, 2026-12-27: 10:00-14:00, or a range for a vacation: "
    "2026-12-24 to 2027-01-02: off"
)
RANGE = re.compile(
    r"^\s*(?P<first>\d{4}-\d{2}-\d{2})\s*(?:(?:to|\.\.|\u2013|\u2014)\s*(?P<last>\d{4}-\d{2}-\d{2}))?"
    r"\s*:\s*(?P<hours>.*)$"
)


def parse_hours(text: str) -> list[list[str]]:
    """'09:00-12:00, 13:00-17:00' -> [["09:00", "12:00"], ["13:00", "17:00"]]."""
    intervals = []
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        try:
            start, end = (t.strip() for t in part.split("-"))
            start_t = datetime.strptime(start, "%H:%M").time()  # noqa: DTZ007 (wall-clock time)
            end_t = None if end == "24:00" else datetime.strptime(end, "%H:%M").time()  # noqa: DTZ007
        except ValueError:
            raise forms.ValidationError(f"“{part}” is not like 09:00-17:00.") from None
        if end_t is not None and end_t <= start_t:
            raise forms.ValidationError(f"“{part}” ends before it starts.")
        intervals.append(
            [start_t.strftime("%H:%M"), end if end_t is None else end_t.strftime("%H:%M")]
        )
    return intervals


def format_hours(intervals) -> str:
    return ", ".join(f"{start}-{end}" for start, end in intervals)


def _day(text: str, line: str) -> date:
    try:
        value = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 (a calendar date)
    except ValueError:
        raise forms.ValidationError(
            f"“{line}” does not start with a date like 2026-12-24."
        ) from None
    if not inputs.sane_day(value):
        raise forms.ValidationError(f"“{line}”: pick a date within a year ago and ten years ahead.")
    return value


def parse_overrides(text: str) -> dict[str, list[list[str]]]:
    """Date overrides as typed (see OVERRIDES_HELP) -> {"2026-12-24": [], ...}."""
    overrides: dict[str, list[list[str]]] = {}
    for line in filter(None, (x.strip() for x in text.splitlines())):
        match = RANGE.match(line)
        if not match:
            raise forms.ValidationError(f"“{line}” does not start with a date like 2026-12-24.")
        first = _day(match["first"], line)
        last = _day(match["last"], line) if match["last"] else first
        if last < first or (last - first).days >= MAX_OVERRIDE_DAYS:
            raise forms.ValidationError(f"“{line}”: the range must run forward, at most a year.")
        hours = match["hours"].strip()
        intervals = [] if hours.lower() in ("", "off") else parse_hours(hours)
        day = first
        while day <= last:
            overrides[day.isoformat()] = intervals
            day += timedelta(days=1)
    return overrides


def format_overrides(overrides: dict) -> str:
    """Stored overrides as text, consecutive days with the same hours folded into ranges."""
    lines, run = [], None
    for key in sorted(overrides):
        day, hours = date.fromisoformat(key), overrides[key]
        if run and run[1] + timedelta(days=1) == day and run[2] == hours:
            run = (run[0], day, hours)
            continue
        if run:
            lines.append(_override_line(*run))
        run = (day, day, hours)
    if run:
        lines.append(_override_line(*run))
    return "\n".join(lines)


def _override_line(first: date, last: date, hours) -> str:
    span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    return f"{span}: {format_hours(hours) or 'off'}"
