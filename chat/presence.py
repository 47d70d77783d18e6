"""Whether someone is there to answer right now: the chat owner's working hours.

The hours are those of the scheduling page the chat links to (what the owner publishes as
their working time, in that page's time zone, with its date overrides), else Monday to Friday
09:00-17:00 in the owner's own time zone. Working hours are wall-clock times, so the answer
follows daylight saving time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from meetings import availability as engine
from meetings import slots
from meetings.models import SchedulingPage

DEFAULT_HOURS = {day: [(time(9), time(17))] for day in range(5)}
LOOK_AHEAD_DAYS = 14


@dataclass(frozen=True)
class Presence:
    available: bool
    next_available: datetime | None  # when away: the next start of working hours, if any


def working_rules(page: SchedulingPage | None, owner_timezone: str) -> engine.Rules:
    if page is not None:
        return slots.page_rules(page, page.durations[0])
    return engine.Rules(
        timezone=owner_timezone,
        weekly_hours=DEFAULT_HOURS,
        duration=timedelta(minutes=30),
        increment=timedelta(minutes=30),
    )


def presence(rules: engine.Rules, now: datetime) -> Presence:
    """Pure: is `now` within the working hours of `rules`, and if not, when do they start?"""
    zone = ZoneInfo(rules.timezone)
    local = now.astimezone(zone)
    wall = local.replace(tzinfo=None)
    for offset in range(LOOK_AHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        midnight = datetime.combine(day, time(0))
        for start, end in rules.hours_on(day):
            if offset == 0 and midnight + start <= wall < midnight + end:
                return Presence(True, None)
            begins = (midnight + start).replace(tzinfo=zone)
            if begins > now:
                return Presence(False, begins)
    return Presence(False, None)
