"""Round robin routing from the database: the page's rotation, its history, the pick, and the
distribution report. The arithmetic is `meetings.fairness` (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from meetings import fairness
from meetings.models import Booking, PageMember, SchedulingPage
from scheduler.models import User

# Bookings that count: a cancelled booking was not a meeting the member had.
COUNTED = (Booking.Status.CONFIRMED,)


def memberships(page: SchedulingPage) -> dict[int, PageMember]:
    """Every host's membership row; a host without one (the owner of a page made before
    team settings existed, or in a test) has the defaults: weight 1, in the rotation,
    joined when the page was created."""
    rows = {row.user_id: row for row in PageMember.objects.filter(page=page)}
    for host_id in page.host_ids():
        rows.setdefault(
            host_id,
            PageMember(page=page, user_id=host_id, joined_at=page.created_at),
        )
    return rows


def rotation(page: SchedulingPage) -> list[int]:
    """The hosts round robin may pick (and whose free time the page offers): one query,
    like `page.host_ids()`."""
    rows = dict(PageMember.objects.filter(page=page).values_list("user_id", "in_rotation"))
    return sorted(host for host in {page.owner_id, *rows} if rows.get(host, True))


def _since(now: datetime) -> datetime:
    return now - timedelta(days=settings.ROUND_ROBIN_HISTORY_DAYS)


def seats(page: SchedulingPage, now: datetime) -> list[fairness.Seat]:
    """The rotation's seats; history older than ROUND_ROBIN_HISTORY_DAYS is forgotten, so a
    member counts from the later of joining and that horizon."""
    horizon = _since(now)
    return [
        fairness.Seat(row.user_id, row.weight, max(row.joined_at, horizon))
        for row in memberships(page).values()
        if row.in_rotation
    ]


def history(page: SchedulingPage, now: datetime) -> list[fairness.Assignment]:
    rows = Booking.objects.filter(
        page=page, status__in=COUNTED, created_at__gte=_since(now)
    ).values_list("host_id", "created_at", "routed_among")
    return [fairness.Assignment(host, at, tuple(among or ())) for host, at, among in rows]


def pick_host(
    page: SchedulingPage, free: tuple[int, ...], preferred: int | None, now: datetime
) -> int:
    """The member who takes a round robin booking (call with the page's hosts locked, so
    two bookings never read the same history)."""
    return fairness.pick(
        free, seats(page, now), history(page, now), page.routing, now=now, preferred=preferred
    )


@dataclass(frozen=True)
class ReportRow:
    user: User
    weight: int
    in_rotation: bool
    joined_at: datetime | None
    bookings: int
    share: float  # of the period's bookings
    target: float  # the weight's share of the rotation

    @property
    def gap(self) -> float:
        return self.share - self.target


def distribution(page: SchedulingPage, since: datetime) -> tuple[list[ReportRow], int]:
    """Bookings per member since `since` (by when they were made), against their weight."""
    rows = memberships(page)
    counts = dict.fromkeys(rows, 0)
    for host_id in Booking.objects.filter(
        page=page, status__in=COUNTED, created_at__gte=since
    ).values_list("host_id", flat=True):
        counts[host_id] = counts.get(host_id, 0) + 1
    total = sum(counts.values())
    in_rotation = [row for row in rows.values() if row.in_rotation]
    weights = sum(row.weight for row in in_rotation)
    users = User.objects.in_bulk(list(counts))
    report = []
    for user_id in sorted(counts, key=lambda pk: users[pk].email):
        row = rows.get(user_id)  # None: a former member, still with bookings in the period
        member = row is not None and row.in_rotation
        report.append(
            ReportRow(
                user=users[user_id],
                weight=row.weight if row else 0,
                in_rotation=member,
                joined_at=row.joined_at if row else None,
                bookings=counts[user_id],
                share=counts[user_id] / total if total else 0.0,
                target=row.weight / weights if member and weights else 0.0,
            )
        )
    return report, total
