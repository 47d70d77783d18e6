"""Calendar rules in EWS's vocabulary: recurrence patterns <-> RRULE lines, and yearly time zone
rules (nth weekday of a month at a local time) derived from IANA zones.

EWS describes a zone the Windows way: a standard bias plus two yearly transitions. The sandbox
derives those from `zoneinfo` for the current year, and reads them back when a client sends a
t:TimeZone (GetUserAvailability).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sandbox.exchange_xml import Element, EwsError, el, find, local, text, windows_zone
from sandbox.state import Event

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_GROUPS = {"Day": RRULE_DAYS, "Weekday": RRULE_DAYS[:5], "WeekendDay": RRULE_DAYS[5:]}
ORDINALS = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
MONTHS = tuple(calendar.month_name)[1:]


# --- recurrence --------------------------------------------------------------------------


def _days(value: str) -> list[str]:
    found: list[str] = []
    for name in value.split():
        found += DAY_GROUPS.get(name) or [RRULE_DAYS[WEEKDAYS.index(name)]]
    return found


def _pattern(node: Element) -> list[str]:
    kind, interval = local(node), text(node, "t:Interval", "1")
    days = ",".join(_days(text(node, "t:DaysOfWeek"))) if text(node, "t:DaysOfWeek") else ""
    index = ORDINALS.get(text(node, "t:DayOfWeekIndex"), 1)
    month = str(MONTHS.index(text(node, "t:Month")) + 1) if text(node, "t:Month") else ""
    patterns = {
        "DailyRecurrence": ["FREQ=DAILY", f"INTERVAL={interval}"],
        "WeeklyRecurrence": ["FREQ=WEEKLY", f"INTERVAL={interval}", f"BYDAY={days}"],
        "AbsoluteMonthlyRecurrence": [
            "FREQ=MONTHLY",
            f"INTERVAL={interval}",
            f"BYMONTHDAY={text(node, 't:DayOfMonth')}",
        ],
        "RelativeMonthlyRecurrence": [
            "FREQ=MONTHLY",
            f"INTERVAL={interval}",
            f"BYDAY={index}{days}",
        ],
        "AbsoluteYearlyRecurrence": [
            "FREQ=YEARLY",
            f"BYMONTH={month}",
            f"BYMONTHDAY={text(node, 't:DayOfMonth')}",
        ],
        "RelativeYearlyRecurrence": ["FREQ=YEARLY", f"BYMONTH={month}", f"BYDAY={index}{days}"],
    }
    if kind not in patterns:
        raise EwsError("ErrorUnsupportedRecurrence", f"{kind} is not supported.")
    return patterns[kind]


def recurrence_lines(node: Element, start: datetime | date, timezone: str) -> list[str]:
    """RRULE lines for a t:Recurrence (pattern, then range) of a series starting at `start`."""
    if len(node) != 2:
        raise EwsError(
            "ErrorCalendarInvalidRecurrence", "A recurrence needs a pattern and a range."
        )
    try:
        parts = _pattern(node[0])
    except ValueError:
        raise EwsError("ErrorCalendarInvalidRecurrence", "Invalid recurrence pattern.") from None
    boundary = node[1]
    if local(boundary) == "NumberedRecurrence":
        parts.append(f"COUNT={text(boundary, 't:NumberOfOccurrences')}")
    elif local(boundary) == "EndDateRecurrence":
        last = date.fromisoformat(text(boundary, "t:EndDate")[:10])
        # UNTIL in local time: the state converts it to UTC for zoned series.
        parts.append(
            f"UNTIL={last:%Y%m%d}"
            if not isinstance(start, datetime)
            else f"UNTIL={last:%Y%m%d}T235959"
        )
    return ["RRULE:" + ";".join(parts)]


def _rule(event: Event) -> dict[str, str] | None:
    lines = [line for line in event.recurrence if line.upper().startswith("RRULE:")]
    if len(lines) != 1 or len(event.recurrence) != 1:
        return None  # RDATE/EXDATE or several rules: not expressible as one EWS pattern
    return dict(part.split("=", 1) for part in lines[0][6:].upper().split(";") if "=" in part)


def recurrence_element(event: Event) -> Element | None:
    """The t:Recurrence of a recurring master, when its rule has an EWS equivalent."""
    rule = _rule(event)
    first = (
        event.start.astimezone(ZoneInfo(event.timezone))
        if isinstance(event.start, datetime)
        else event.start
    )
    if rule is None:
        return None
    names = {short: WEEKDAYS[i] for i, short in enumerate(RRULE_DAYS)}
    days = " ".join(
        names[d[-2:]] for d in rule.get("BYDAY", RRULE_DAYS[first.weekday()]).split(",")
    )
    interval = el("t:Interval", rule.get("INTERVAL", "1"))
    kind = rule.get("FREQ")
    if kind == "DAILY":
        pattern = el("t:DailyRecurrence", children=[interval])
    elif kind == "WEEKLY":
        pattern = el(
            "t:WeeklyRecurrence",
            children=[interval, el("t:DaysOfWeek", days), el("t:FirstDayOfWeek", "Sunday")],
        )
    elif kind == "MONTHLY" and "BYDAY" not in rule:
        pattern = el(
            "t:AbsoluteMonthlyRecurrence",
            children=[interval, el("t:DayOfMonth", rule.get("BYMONTHDAY", first.day))],
        )
    elif kind == "YEARLY" and "BYDAY" not in rule:
        pattern = el(
            "t:AbsoluteYearlyRecurrence",
            children=[
                el("t:DayOfMonth", rule.get("BYMONTHDAY", first.day)),
                el("t:Month", MONTHS[int(rule.get("BYMONTH", first.month)) - 1]),
            ],
        )
    else:
        return None
    return el("t:Recurrence", children=[pattern, _range(rule, first)])


def _range(rule: dict[str, str], first: datetime | date) -> Element:
    start = el("t:StartDate", f"{first:%Y-%m-%d}")
    if "COUNT" in rule:
        return el(
            "t:NumberedRecurrence", children=[start, el("t:NumberOfOccurrences", rule["COUNT"])]
        )
    if "UNTIL" in rule:
        until = date(int(rule["UNTIL"][:4]), int(rule["UNTIL"][4:6]), int(rule["UNTIL"][6:8]))
        return el("t:EndDateRecurrence", children=[start, el("t:EndDate", f"{until:%Y-%m-%d}")])
    return el("t:NoEndRecurrence", children=[start])


# --- time zone rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A yearly switch: the `occurrence`th (5 = last) `weekday` of `month`, at local `at`."""

    month: int
    weekday: int  # Monday = 0
    occurrence: int
    at: time

    def day(self, year: int) -> datetime:
        first = date(year, self.month, 1)
        day = 1 + (self.weekday - first.weekday()) % 7 + 7 * (self.occurrence - 1)
        while day > calendar.monthrange(year, self.month)[1]:
            day -= 7
        return datetime.combine(date(year, self.month, day), self.at)


@dataclass(frozen=True)
class Rules:
    """Windows-style zone: UTC = local + bias (minutes); daylight time adds `daylight_bias`."""

    bias: int
    daylight_bias: int = 0
    to_daylight: Change | None = None
    to_standard: Change | None = None


def _switches(zone: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta]]:
    """(UTC instant, offset before, offset after) of each offset change in `year`."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + timedelta(days=1)
        before, after = moment.astimezone(zone).utcoffset(), following.astimezone(zone).utcoffset()
        if before != after:
            low, high = 0, 24 * 60  # zones switch on whole minutes: bisect over minutes
            while high - low > 1:
                middle = (low + high) // 2
                if (moment + timedelta(minutes=middle)).astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            found.append((moment + timedelta(minutes=high), before, after))
        moment = following
    return found


def _change(instant: datetime, offset_before: timedelta) -> Change:
    wall = (instant + offset_before).replace(tzinfo=None)
    last = wall.day + 7 > calendar.monthrange(wall.year, wall.month)[1]
    return Change(wall.month, wall.weekday(), 5 if last else (wall.day - 1) // 7 + 1, wall.time())


def zone_rules(name: str, year: int) -> Rules:
    zone = ZoneInfo(name)
    switches = _switches(zone, year)
    offsets = [
        datetime(year, month, 1, tzinfo=UTC).astimezone(zone).utcoffset() for month in (1, 7)
    ]
    standard = min(offsets)
    bias = -int(standard.total_seconds() // 60)
    if len(switches) != 2:
        return Rules(bias)
    into = next(s for s in switches if s[2] > s[1])
    out = next(s for s in switches if s[2] < s[1])
    return Rules(
        bias,
        -int((into[2] - standard).total_seconds() // 60),
        _change(into[0], into[1]),
        _change(out[0], out[1]),
    )


class RulesZone(tzinfo):
    """A tzinfo that follows Windows-style rules (for a client's t:TimeZone)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def utcoffset(self, moment: datetime | None) -> timedelta:
        return timedelta(minutes=-self.rules.bias) + self.dst(moment)

    def dst(self, moment: datetime | None) -> timedelta:
        rules = self.rules
        if moment is None or rules.to_daylight is None or rules.to_standard is None:
            return timedelta(0)
        wall = moment.replace(tzinfo=None)
        start, end = rules.to_daylight.day(wall.year), rules.to_standard.day(wall.year)
        inside = start <= wall < end if start < end else not end <= wall < start
        return timedelta(minutes=-rules.daylight_bias) if inside else timedelta(0)

    def tzname(self, moment: datetime | None) -> str:
        return "client"


def _iso_minutes(minutes: int) -> str:
    sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"{sign}PT{hours}H{rest}M" if rest else f"{sign}PT{hours}H"


def _day_transition(period: str, change: Change) -> Element:
    return el(
        "t:RecurringDayTransition",
        children=[
            el("t:To", period, Kind="Period"),
            el("t:TimeOffset", _iso_minutes(change.at.hour * 60 + change.at.minute)),
            el("t:Month", change.month),
            el("t:DayOfWeek", WEEKDAYS[change.weekday]),
            el("t:Occurrence", -1 if change.occurrence == 5 else change.occurrence),
        ],
    )


def timezone_definition(name: str, year: int, full: bool) -> Element:
    """A t:TimeZoneDefinition for the IANA zone `name`, under its Windows id."""
    zone_id, rules = windows_zone(name), zone_rules(name, year)
    node = el("t:TimeZoneDefinition", Id=zone_id, Name=zone_id)
    if not full:
        return node
    standard = f"trule:Microsoft/Registry/{zone_id}/{year}-Standard"
    periods = [el("t:Period", Bias=_iso_minutes(rules.bias), Name="Standard", Id=standard)]
    group = [el("t:Transition", children=[el("t:To", standard, Kind="Period")])]
    if rules.to_daylight and rules.to_standard:
        daylight = f"trule:Microsoft/Registry/{zone_id}/{year}-Daylight"
        periods.append(
            el(
                "t:Period",
                Bias=_iso_minutes(rules.bias + rules.daylight_bias),
                Name="Daylight",
                Id=daylight,
            )
        )
        group = [
            _day_transition(daylight, rules.to_daylight),
            _day_transition(standard, rules.to_standard),
        ]
    node.extend(
        [
            el("t:Periods", children=periods),
            el("t:TransitionsGroups", children=[el("t:TransitionsGroup", children=group, Id="0")]),
            el(
                "t:Transitions",
                children=[el("t:Transition", children=[el("t:To", "0", Kind="Group")])],
            ),
        ]
    )
    return node


def _time_change(tag: str, bias: int, change: Change) -> Element:
    return el(
        tag,
        children=[
            el("t:Bias", bias),
            el("t:Time", change.at.strftime("%H:%M:%S")),
            el("t:DayOrder", change.occurrence),
            el("t:Month", change.month),
            el("t:DayOfWeek", WEEKDAYS[change.weekday]),
        ],
    )


def timezone_element(rules: Rules) -> Element:
    """The availability t:TimeZone (Bias, StandardTime, DaylightTime) for `rules`."""
    node = el("t:TimeZone", children=[el("t:Bias", rules.bias)])
    if rules.to_daylight and rules.to_standard:
        node.extend(
            [
                _time_change("t:StandardTime", 0, rules.to_standard),
                _time_change("t:DaylightTime", rules.daylight_bias, rules.to_daylight),
            ]
        )
    return node


def _parse_change(node: Element | None) -> Change | None:
    if node is None:
        return None
    try:
        occurrence = int(text(node, "t:DayOrder", "1"))
        return Change(
            int(text(node, "t:Month")),
            WEEKDAYS.index(text(node, "t:DayOfWeek")),
            5 if occurrence == -1 else occurrence,
            time.fromisoformat(text(node, "t:Time", "00:00:00")),
        )
    except ValueError:
        raise EwsError("ErrorInvalidRequest", "Invalid time zone transition.") from None


def parse_timezone(node: Element | None) -> RulesZone:
    """A client's availability t:TimeZone as a tzinfo (UTC when absent)."""
    if node is None:
        return RulesZone(Rules(0))
    daylight = find(node, "t:DaylightTime")
    daylight_bias = int(text(daylight, "t:Bias", "0")) if daylight is not None else 0
    if daylight_bias == 0:
        # No daylight time (exchangelib sends placeholder transitions with a zero bias).
        return RulesZone(Rules(int(text(node, "t:Bias", "0"))))
    return RulesZone(
        Rules(
            int(text(node, "t:Bias", "0")),
            daylight_bias,
            _parse_change(daylight),
            _parse_change(find(node, "t:StandardTime")),
        )
    )
