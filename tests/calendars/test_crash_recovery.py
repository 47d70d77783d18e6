"""Bookings and cancellations while provider calls fail and the Celery worker is SIGKILLed:
afterwards the provider calendar holds exactly the confirmed bookings, the mirror equals the
provider calendar, every cancelled time is offered again, a push that arrives after a crash is
processed within seconds, and the worker's database connections stay bounded."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection as db

from calendars import sync
from calendars.models import CalendarConnection, CalendarWrite, Event
from calendars.tasks import dispatch_due_syncs, sweep_calendar_writes, sync_connection
from meetings.models import Booking, SchedulingPage
from scheduler.celery import app
from tests.support.celery import result_of
from tests.support.times import at

pytestmark = [pytest.mark.slow]
MAILBOX = "owner@acme.example"
CONCURRENCY = 4
WORKER_DB_NAME = "crash-worker"


class Worker:
    """A Celery worker process of our own, to kill with SIGKILL and start again."""

    def __init__(self, env: dict, mail_dir: Path):
        self.env = {
            **env,
            "DB_APPLICATION_NAME": WORKER_DB_NAME,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        }
        self.process: subprocess.Popen | None = None
        self.generation = 0

    def start(self) -> None:
        self.generation += 1
        name = f"crash{self.generation}@{socket.gethostname()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "scheduler",
                "worker",
                "--pool=threads",
                f"--concurrency={CONCURRENCY}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}",
            ],
            cwd=Path(__file__).resolve().parents[2],
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            assert self.process.poll() is None, "the worker died on start"
            assert time.monotonic() < deadline, "the worker did not start"

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class ConnectionCounter(threading.Thread):
    """Samples how many database connections the worker holds, the whole time."""

    def __init__(self, dsn_settings: dict):
        super().__init__(daemon=True)
        self.settings = dsn_settings
        self.stop_event = threading.Event()
        self.maximum = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(
            host=self.settings["HOST"],
            port=self.settings["PORT"] or 5432,
            user=self.settings["USER"],
            dbname="postgres",
            autocommit=True,
        ) as conn:
            while not self.stop_event.wait(0.2):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [WORKER_DB_NAME],
                ).fetchone()
                self.maximum = max(self.maximum, count)


def _wait_for(condition, seconds: float, poke=None, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if poke:
            poke()
        time.sleep(step)
    return condition()


@pytest.fixture
def crash_worker(
    transactional_db, sandbox, sandbox_client, live_server, settings, tmp_path, worker_env
):
    """Our own worker; the session's shared worker (if running) stops consuming meanwhile."""
    settings.APP_BASE_URL = live_server.url
    settings.CALENDAR_PUSH_ENABLED = True
    settings.BOOKING_RATE_LIMIT = "1000/m"  # one test client books for many contacts
    shared = [name for reply in app.control.ping(timeout=0.5) for name in reply]
    shared = [name for name in shared if name.startswith("pytest@")]
    if shared:
        app.control.cancel_consumer("celery", destination=shared, reply=True)
    app.control.purge()
    app.conf.task_always_eager = False
    worker = Worker({**worker_env, "APP_BASE_URL": live_server.url}, tmp_path)
    worker.start()
    yield worker
    worker.stop()
    app.conf.task_always_eager = True
    if shared:
        app.control.add_consumer("celery", destination=shared, reply=True)


def _session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/meetings/crash", timeout=10).raise_for_status()
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = base_url + "/"
    return session


def test_crashes_and_faults_leave_the_calendar_the_mirror_and_the_slots_exact(
    crash_worker, connection, sandbox_client, live_server
):
    counter = ConnectionCounter(db.settings_dict)
    counter.start()
    primary = connection.calendars.get(is_primary=True)
    page = SchedulingPage.objects.create(
        account=connection.user.account,
        owner=connection.user,
        name="Crash course",
        slug="crash",
        durations=[30],
        weekly_hours={str(day): [["08:00", "20:00"]] for day in range(7)},
        min_notice=0,
        increment=30,
    )
    session = _session(live_server.url)
    times = [at(2 + n // 20, 8, 30 * (n % 20)) for n in range(60)]
    booked: dict[str, str] = {}  # start iso -> manage token

    def book(start) -> None:
        response = session.post(
            f"{live_server.url}/meetings/crash/book",
            json={
                "start": start.isoformat(),
                "duration": 30,
                "timezone": "UTC",
                "first_name": "Guest",
                "last_name": start.strftime("%d%H%M"),
                "email": f"guest{start:%d%H%M}@client.example",
            },
            timeout=30,
        )
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "confirmed"
        booked[start.isoformat()] = response.json()["manage_url"].rstrip("/").split("/")[-1]

    cancelled = []
    for n, start in enumerate(times):
        if n % 8 == 0:  # about one provider call in five fails along the way
            sandbox_client.fault("google", "server_error", email=MAILBOX, status=503, count=2)
            sandbox_client.fault("google", "rate_limit", email=MAILBOX, retry_after=1, count=1)
        book(start)
        if n in (20, 45):
            crash_worker.kill()  # writes and syncs in flight die with it
            crash_worker.start()
        if n % 4 == 3 and len(cancelled) < 15:
            victim = times[n - 2]
            response = session.post(
                f"{live_server.url}/meetings/manage/{booked[victim.isoformat()]}/cancel",
                timeout=30,
            )
            assert response.status_code in (200, 302), response.content
            cancelled.append(victim)
        if n == 33:
            crash_worker.kill()
            crash_worker.start()
    assert len(cancelled) == 15

    def settled() -> bool:
        return not CalendarWrite.objects.filter(state="pending").exists()

    # Beat sends the sweeper and the dispatcher every minute; here they are poked often.
    def poke() -> None:
        sweep_calendar_writes.delay()
        dispatch_due_syncs.delay()

    assert _wait_for(settled, 180, poke=poke, step=2), list(
        CalendarWrite.objects.filter(state="pending").values("key", "action", "last_error")
    )
    assert not CalendarWrite.objects.filter(state="failed").exists()

    confirmed = Booking.objects.filter(page=page, status="confirmed")
    keys = set(confirmed.values_list("calendar_event_key", flat=True))
    assert len(keys) == 45

    def provider_events() -> dict[str, tuple]:
        return {
            e["id"]: (e["start"], e["end"])
            for e in sandbox_client.events(MAILBOX, primary.remote_id)
            if e.get("status") != "cancelled"
        }

    in_provider = [
        e
        for e in sandbox_client.events(MAILBOX, primary.remote_id)
        if e.get("status") != "cancelled" and e.get("summary", "").startswith("Crash course")
    ]
    # Exactly the confirmed bookings: none missing, none twice, none left behind.
    assert sorted(e["id"] for e in in_provider) == sorted(keys)

    def mirror_matches() -> bool:
        mirrored = set(Event.objects.filter(calendar=primary).values_list("remote_id", flat=True))
        return mirrored == set(provider_events())

    assert _wait_for(mirror_matches, 60, poke=poke, step=2)

    day_slots = {}
    for victim in cancelled:
        day = victim.date().isoformat()
        if day not in day_slots:
            answer = requests.get(
                f"{live_server.url}/meetings/crash/slots",
                params={"start": day, "end": day, "tz": "UTC"},
                timeout=10,
            ).json()
            day_slots[day] = {s["start"] for s in answer["slots"]}
        assert victim.isoformat() in day_slots[day], f"{victim} is not offered again"

    counter.stop_event.set()
    counter.join()
    # Each of the worker's threads holds at most one connection, plus a short-lived one for
    # each lease heartbeat: bounded by twice the concurrency, however long the run.
    print("max worker connections", counter.maximum)
    assert 0 < counter.maximum <= 2 * CONCURRENCY, counter.maximum


def test_a_push_after_a_crash_is_processed_within_seconds(crash_worker, connection, sandbox_client):
    """A worker killed mid-sync keeps the connection's lease; a push notification that comes
    meanwhile is not lost: the sync it asks for runs as soon as the dead lease runs out."""
    primary = connection.calendars.get(is_primary=True)
    for _ in range(50):  # the connect flow's own first sync may hold the lease
        if result_of(sync_connection.delay(connection.pk, full=True), 60)["claimed"]:
            break
        time.sleep(0.3)
    primary.refresh_from_db()
    assert primary.channel_id  # push is on
    sandbox_client.fault("google", "slow", email=MAILBOX, delay=5, count=2)
    sync_connection.delay(connection.pk)

    def leased() -> bool:
        row = CalendarConnection.objects.get(pk=connection.pk)
        return bool(row.sync_lease_owner)

    assert _wait_for(leased, 20, step=0.1)
    crash_worker.kill()  # dies holding the lease
    crash_worker.start()
    CalendarConnection.objects.filter(pk=connection.pk).update(
        next_sync_at=at(30)  # not due: only the push can bring the sync forward
    )
    began = time.monotonic()
    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Filled after the crash",
        start=at(3, 9).isoformat(),
        end=(at(3, 9) + timedelta(hours=1)).isoformat(),
    )
    arrived = _wait_for(
        lambda: Event.objects.filter(calendar=primary, title="Filled after the crash").exists(),
        60,
        step=0.2,
    )
    waited = time.monotonic() - began
    print("push after crash processed in", waited)
    assert arrived, "the push after the crash was never processed"
    # The dead lease runs out within sync.LEASE_SECONDS; then the waiting sync runs.
    assert waited < sync.LEASE_SECONDS + 15, waited
