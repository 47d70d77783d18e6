"""Moments relative to today, for tests that talk to calendars."""

from datetime import UTC, datetime, timedelta


def at(days: int, hour: int = 0, minute: int = 0) -> datetime:
    """`hour:minute` UTC, `days` after today (UTC midnight)."""
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hour, minutes=minute)
