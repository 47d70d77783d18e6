"""Many contacts booking at once against the live server on PostgreSQL: never a double booking."""

import itertools
import threading
from datetime import timedelta

import pytest
import requests

from meetings.models import HostReservation
from tests.meetings.conftest import next_day_at

pytestmark = [pytest.mark.slow]
CONCURRENT = 50


def _session(base_url: str, slug: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/meetings/{slug}", timeout=10).raise_for_status()  # CSRF cookie
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = base_url + "/"
    return session


def _storm(base_url: str, slug: str, bodies: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)
    sessions = [_session(base_url, slug) for _ in bodies]

    def one(index: int) -> None:
        barrier.wait()
        response = sessions[index].post(
            f"{base_url}/meetings/{slug}/book", json=bodies[index], timeout=60
        )
        statuses[index] = response.status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def _body(n: int, start, duration: int = 30) -> dict:
    return {
        "start": start.isoformat(),
        "duration": duration,
        "timezone": "UTC",
        "first_name": "Guest",
        "last_name": str(n),
        "email": f"guest{n}@client.example",
    }


@pytest.fixture
def live_concurrent_page(make_page, admin_user, transactional_db, connection):
    """A page whose host has a connected calendar (bookings, not requests), committed data."""
    return make_page(admin_user, slug="rush")


def test_fifty_bookings_of_one_slot_give_one_201_and_409s(live_server, live_concurrent_page):
    start = next_day_at(10)
    statuses = _storm(live_server.url, "rush", [_body(n, start) for n in range(CONCURRENT)])
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == CONCURRENT - 1, statuses
    assert HostReservation.objects.filter(active=True).count() == 1


def test_overlapping_slots_of_different_durations_give_one_winner(
    live_server, live_concurrent_page
):
    start = next_day_at(13)
    bodies = [
        _body(n, start + timedelta(minutes=30 * (n % 3)), duration=60 if n % 2 else 30)
        for n in range(CONCURRENT)
    ]
    statuses = _storm(live_server.url, "rush", bodies)
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {201, 409}
    reservations = list(HostReservation.objects.filter(active=True).order_by("start"))
    for first, second in itertools.pairwise(reservations):
        assert first.end <= second.start, "two active reservations overlap"
    assert statuses.count(201) == len(reservations) >= 1


def test_a_burst_never_breaks_the_daily_maximum(
    live_server, transactional_db, make_page, admin_user, connection
):
    """Distinct times run side by side (no host-wide queue), but a day's bookings take turns
    where the daily maximum counts them: 20 at once for a cap of 2 gives exactly 2."""
    make_page(admin_user, slug="capped", daily_max=2)
    bodies = [_body(n, next_day_at(8) + timedelta(minutes=30 * n)) for n in range(20)]
    statuses = _storm(live_server.url, "capped", bodies)
    assert statuses.count(201) == 2, statuses
    assert set(statuses) <= {201, 409}


def test_a_burst_never_breaks_the_buffers(
    live_server, transactional_db, make_page, admin_user, connection
):
    """Back-to-back times on a page that keeps 30 minutes free after each meeting, all at
    once: every booking that went through kept its buffer clear of the bookings made before
    it (the engine's rule: a new meeting's buffers stay clear of existing ones), whatever the
    interleaving — the host's bookings took turns."""
    make_page(admin_user, slug="buffered", buffer_after=30)
    bodies = [_body(n, next_day_at(8) + timedelta(minutes=30 * n)) for n in range(16)]
    statuses = _storm(live_server.url, "buffered", bodies)
    assert set(statuses) <= {201, 409}, statuses
    made = list(HostReservation.objects.filter(active=True).order_by("booking_id"))
    for index, later in enumerate(made):
        for earlier in made[:index]:
            blocked = earlier.start < later.end + timedelta(minutes=30) and (
                earlier.end > later.start
            )
            assert not blocked, f"{later} was booked into the buffer of {earlier}"
