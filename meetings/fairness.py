"""Fair round robin: which of the free members takes the next booking.

Pure functions over plain values (no ORM, no clock), like the availability engine, so the
distribution can be simulated and property-tested.

The model is a ledger of *credit*. Every booking hands out one booking's worth of credit
among the members who were in the pool for it, in proportion to their weights; the member
who got the booking spends one. A member's *deficit* (credit minus bookings taken) says how
far behind their weighted share they are, and the next booking goes to the free member with
the largest deficit once the new booking's credit is handed out: smooth weighted round robin,
so with weights 1:2:1 and everyone free the rotation is B, A, C, B, B, A, ... and never drifts
by more than one booking from the weights.

Who is in the pool for a booking depends on the page's mode:

* ``availability`` (the default): the members who were free for it (recorded when it was
  routed). A member who was busy or away earns nothing meanwhile, so nobody is flooded with
  bookings when they come back; the rotation is fair among those who could take each one.
* ``equal`` ("optimise for equal distribution"): every member of the rotation, free or not.
  A member who was busy earns credit anyway and catches up as soon as they are free again,
  so over time everyone ends up with their weighted share of the page's bookings.

Either way a member only counts from the moment they joined the page (`Seat.joined_at`): a
member added later starts level with a share of the bookings made since, instead of owing
or being owed the page's whole history, so they catch up to their share at once without
starving the others (comparing all-time totals would hand them every booking until they
had as many as members who have been on the page for a year).
"""

from __future__ import annotations

import bisect
import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

MemberId: TypeAlias = int | str


class Mode(enum.StrEnum):
    AVAILABILITY = "availability"
    EQUAL = "equal"


@dataclass(frozen=True, slots=True)
class Seat:
    """A member of the rotation: their weight and when they joined the page."""

    id: MemberId
    weight: int
    joined_at: datetime

    def __post_init__(self) -> None:
        if isinstance(self.weight, bool) or self.weight < 1:
            raise ValueError("a weight is a positive whole number")
        if self.joined_at.utcoffset() is None:
            raise ValueError("joined_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Assignment:
    """A past booking of the page: who took it, when it was routed, and who was free for it
    (empty when unknown: then everyone present counts as free)."""

    host_id: MemberId
    at: datetime
    candidates: tuple[MemberId, ...] = ()


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's position: bookings taken, the weighted share they were due, the gap."""

    taken: int
    due: float

    @property
    def deficit(self) -> float:
        return self.due - self.taken


def _pool(seats: Sequence[Seat], at: datetime, free: Iterable[MemberId] | None) -> list[Seat]:
    present = [seat for seat in seats if seat.joined_at <= at]
    if free is None:
        return present
    wanted = set(free)
    return [seat for seat in present if seat.id in wanted]


def _credit(ledger: dict[MemberId, float], pool: Sequence[Seat]) -> None:
    total = sum(seat.weight for seat in pool)
    for seat in pool:
        ledger[seat.id] += seat.weight / total


def standings(
    seats: Sequence[Seat], history: Iterable[Assignment], mode: Mode | str
) -> dict[MemberId, Standing]:
    """Each seat's bookings taken and weighted share due, from `history` (any order).

    Bookings with the same pool hand out the same credit, so they are counted per pool
    first: O(bookings + pools x seats), not O(bookings x seats)."""
    mode = Mode(mode)
    order = sorted(seats, key=lambda seat: seat.joined_at)
    joined_at = [seat.joined_at for seat in order]
    joined = {seat.id: seat.joined_at for seat in seats}
    taken: dict[MemberId, int] = dict.fromkeys(joined, 0)
    pools: Counter[tuple[int, frozenset | None]] = Counter()
    for assignment in history:
        present = bisect.bisect_right(joined_at, assignment.at)  # seats joined by then
        free = None
        if mode == Mode.AVAILABILITY and assignment.candidates:
            free = frozenset(assignment.candidates)
        pools[(present, free)] += 1
        host = assignment.host_id
        if host in taken and joined[host] <= assignment.at:
            taken[host] += 1
    due: dict[MemberId, float] = dict.fromkeys(joined, 0.0)
    for (present, free), count in pools.items():
        pool = [seat for seat in order[:present] if free is None or seat.id in free]
        total = sum(seat.weight for seat in pool)
        for seat in pool:
            due[seat.id] += count * seat.weight / total
    return {member: Standing(taken[member], due[member]) for member in due}


def pick(
    free: Iterable[MemberId],
    seats: Sequence[Seat],
    history: Iterable[Assignment],
    mode: Mode | str,
    *,
    now: datetime,
    preferred: MemberId | None = None,
) -> MemberId:
    """The member to book among the `free` ones: `preferred` (the contact's owner) when
    free, else the one furthest behind their weighted share after this booking's credit is
    handed out (ties: the heavier weight, then the lowest id). Members without a seat (out
    of the rotation) are never picked. Raises ValueError when nobody can be."""
    mode = Mode(mode)
    seated = {seat.id: seat for seat in seats}
    candidates = [member for member in set(free) if member in seated]
    if not candidates:
        raise ValueError("no member of the rotation is free for this slot")
    if preferred is not None and preferred in candidates:
        return preferred
    current = standings(seats, history, mode)
    ledger = {member: current[member].deficit for member in seated}
    _credit(ledger, _pool(seats, now, candidates if mode == Mode.AVAILABILITY else None))
    return min(
        candidates, key=lambda member: (-round(ledger[member], 9), -seated[member].weight, member)
    )


def shares(seats: Sequence[Seat]) -> Mapping[MemberId, float]:
    """Each seat's target share of the bookings (weights normalised to 1)."""
    total = sum(seat.weight for seat in seats)
    return {seat.id: seat.weight / total for seat in seats} if total else {}
