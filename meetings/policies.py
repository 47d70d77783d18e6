"""What a contact may still change about a booking, and until when (the page's policies).

The manage page shows these answers ("Cancelling online closed on …") and the booking
service enforces them, so the page never offers a change the service would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meetings.models import Booking, SchedulingPage


@dataclass(frozen=True)
class Allowed:
    """Whether a change is possible now, why not, and until when it is (None: no limit)."""

    ok: bool
    why_not: str = ""
    until: datetime | None = None

    def __bool__(self) -> bool:
        return self.ok


def _deadline(booking: Booking, minutes: int) -> datetime | None:
    return booking.start - timedelta(minutes=minutes) if minutes else None


def _notice(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _window(booking: Booking, minutes: int, verb: str, now: datetime) -> Allowed:
    until = _deadline(booking, minutes)
    if booking.start <= now:
        return Allowed(False, "This meeting has already started; contact the host to change it.")
    if until is not None and now >= until:
        return Allowed(
            False,
            f"It is too late to {verb} online: this page asks for {_notice(minutes)} notice. "
            f"Please contact {booking.host.display_name} directly.",
            until,
        )
    return Allowed(True, until=until)


def cancel(booking: Booking, now: datetime) -> Allowed:
    if not booking.page.allow_cancel:
        return Allowed(False, "This meeting cannot be cancelled online. Contact the host.")
    return _window(booking, booking.page.cancel_notice, "cancel", now)


def reschedule(booking: Booking, now: datetime) -> Allowed:
    page = booking.page
    if not page.allow_reschedule or page.is_deleted:
        return Allowed(False, "This meeting cannot be rescheduled online. Contact the host.")
    return _window(booking, page.reschedule_notice, "reschedule", now)


def reason_required(page: SchedulingPage) -> bool:
    return page.cancel_reason == SchedulingPage.CancelReason.REQUIRED


def reason_asked(page: SchedulingPage) -> bool:
    return page.cancel_reason != SchedulingPage.CancelReason.OFF
