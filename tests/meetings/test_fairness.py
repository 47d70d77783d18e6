"""Fair round robin: weights, equal distribution, members added later, the rotation switch,
the contact's owner first; simulated (pure) and through real bookings."""

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from meetings import fairness
from meetings.models import Booking, PageMember
from tests.meetings.conftest import next_day_at

T0 = datetime(2026, 1, 5, tzinfo=UTC)
WEIGHTS = {"A": 1, "B": 2, "C": 1}


def _simulate(seats, count, mode, free_for=lambda n: list(WEIGHTS), history=None, start=0):
    history = list(history or [])
    for n in range(start, start + count):
        now = T0 + timedelta(minutes=n + 1)
        free = free_for(n)
        host = fairness.pick(free, seats, history, mode, now=now)
        history.append(fairness.Assignment(host, now, tuple(sorted(free))))
    return history


def _within(counts: Counter, weights: dict, total: int, tolerance=0.05):
    all_weight = sum(weights.values())
    for member, weight in weights.items():
        share = counts[member] / total
        assert abs(share - weight / all_weight) <= tolerance, (member, share, counts)


@pytest.mark.parametrize("mode", ["availability", "equal"])
def test_a_thousand_bookings_follow_weights_1_2_1(mode):
    seats = [fairness.Seat(m, w, T0) for m, w in WEIGHTS.items()]
    history = _simulate(seats, 1000, mode)
    counts = Counter(a.host_id for a in history)
    _within(counts, WEIGHTS, 1000)
    # Smooth weighted round robin: never more than one booking off the exact weights.
    assert counts == Counter({"A": 250, "B": 500, "C": 250})


def test_equal_distribution_reaches_the_weights_even_when_members_are_often_busy():
    """Each member is free for about 60% of the bookings (at random): members who were busy
    catch up when free again, so the totals still follow the weights."""
    seats = [fairness.Seat(m, w, T0) for m, w in WEIGHTS.items()]
    rng = random.Random(15)  # noqa: S311 (a reproducible simulation)

    def free_for(_n):
        return [m for m in WEIGHTS if rng.random() < 0.6] or [rng.choice(list(WEIGHTS))]

    history = _simulate(seats, 1000, "equal", free_for)
    _within(Counter(a.host_id for a in history), WEIGHTS, 1000)


def test_availability_mode_is_fair_among_those_who_were_free():
    """A member free only half the time is not flooded when free: credit accrues only for
    bookings they could have taken, so their share is their weight among the free ones."""
    seats = [fairness.Seat(m, 1, T0) for m in "AB"]
    history = _simulate(seats, 1000, "availability", lambda n: ["A", "B"] if n % 2 else ["A"])
    counts = Counter(a.host_id for a in history)
    assert counts["B"] == 250 and counts["A"] == 750  # half of the shared half


def test_a_member_added_later_catches_up_without_starving_the_others():
    seats = [fairness.Seat("A", 1, T0), fairness.Seat("B", 1, T0)]
    history = _simulate(seats, 600, "equal", lambda n: ["A", "B"])
    joined = T0 + timedelta(minutes=600, seconds=30)
    seats.append(fairness.Seat("C", 1, joined))
    history = _simulate(seats, 300, "equal", lambda n: ["A", "B", "C"], history, start=600)
    after = history[600:]
    counts = Counter(a.host_id for a in after)
    _within(counts, {"A": 1, "B": 1, "C": 1}, 300)
    # Nobody starves: every stretch of six bookings gives each member at least one.
    for first in range(0, 300, 6):
        window = {a.host_id for a in after[first : first + 6]}
        assert window == {"A", "B", "C"}, (first, [a.host_id for a in after[first : first + 6]])

    # What comparing all-time totals would do instead: hand C every booking for a long while.
    naive = Counter(a.host_id for a in history[:600])
    streak = 0
    while naive["C"] < min(naive["A"], naive["B"]):
        naive["C"] += 1
        streak += 1
    assert streak >= 290


def test_the_contacts_owner_goes_first_when_free_and_out_of_rotation_never():
    seats = [fairness.Seat(m, 1, T0) for m in "AB"]
    history = [fairness.Assignment("A", T0, ("A", "B"))] * 5
    assert fairness.pick(["A", "B"], seats, history, "equal", now=T0, preferred="A") == "A"
    assert fairness.pick(["A", "B"], seats, history, "equal", now=T0) == "B"
    assert fairness.pick(["A", "C"], seats, history, "equal", now=T0, preferred="C") == "A"
    with pytest.raises(ValueError):
        fairness.pick(["C"], seats, history, "equal", now=T0)


# --- Through real bookings --------------------------------------------------------------


@pytest.fixture
def weighted_page(make_page, admin_user, make_user, connect_user):
    others = [
        make_user(f"rr{n}@acme.example", admin_user.account, personal_email_access=True)
        for n in (1, 2)
    ]
    for user in (admin_user, *others):
        connect_user(user)
    page = make_page(admin_user, kind="round_robin", members=others, durations=[30])
    weights = {admin_user.pk: 1, others[0].pk: 2, others[1].pk: 1}
    for user_id, weight in weights.items():
        PageMember.objects.update_or_create(page=page, user_id=user_id, defaults={"weight": weight})
    return page, weights


def test_real_bookings_follow_the_weights(client, weighted_page):
    page, weights = weighted_page
    for n in range(20):
        when = next_day_at(8 + n // 2, days=2 + n % 2)  # everyone free, distinct times
        body = {
            "start": when.isoformat(),
            "duration": 30,
            "timezone": "UTC",
            "first_name": "C",
            "last_name": str(n),
            "email": f"contact{n}@client.example",
        }
        response = client.post(
            f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201, response.content
    counts = Counter(Booking.objects.filter(page=page).values_list("host_id", flat=True))
    assert {user_id: counts[user_id] for user_id in weights} == {
        user_id: 5 * weight for user_id, weight in weights.items()
    }
    routed = Booking.objects.filter(page=page).first().routed_among
    assert sorted(routed) == sorted(weights)
