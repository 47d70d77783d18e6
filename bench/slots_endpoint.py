"""The public slots endpoint under concurrent load on gunicorn, and booking throughput.

A page whose host has 3 availability calendars x 3,000 mirrored events over 60 days. Each
figure is printed with its ratio to a trivial endpoint of the same app (/robots.txt) measured
the same way in the same run.

    python bench/slots_endpoint.py [--seconds 8] [--clients 8] [--gunicorn-workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_ENV, ROOT, figure, fresh_user, quiet, sandbox_env, setup_django
from sandbox.testing import start_sandbox
from tests.support.sandbox import google_credentials

EMAIL = "bench-slots@sandbox.example"
FERNET_KEY = "yr8rn0CvdTnHc4oJxsb6f8Vv2LPgRvCDpp9Ml1fTtcE="  # bench only
CALENDARS = 3
EVENTS_PER_CALENDAR = 3000
DAYS = 60


def build_page(running):
    """The host, their sandbox mailbox and connection, a mirror full of events, the page."""

    from calendars.connections import create_connection
    from calendars.models import Calendar, Event
    from meetings.models import SchedulingPage

    state = running.state
    state.add_mailbox(
        "google",
        EMAIL,
        timezone="UTC",
        calendars=[
            {"id": f"cal-{n}@sandbox.example", "name": f"Calendar {n}", "access": "reader"}
            for n in range(1, CALENDARS)
        ],
    )
    credentials = google_credentials(running.http_url, EMAIL)
    user = fresh_user("bench-slots@bench.example")
    connection = create_connection(user, "google", credentials)
    calendars = list(Calendar.objects.filter(connection=connection))
    Calendar.objects.filter(connection=connection).update(for_availability=True)
    rng = random.Random(7)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    events = []
    for calendar in calendars:
        for n in range(EVENTS_PER_CALENDAR):
            begins = start + timedelta(minutes=rng.randrange(0, DAYS * 24 * 60, 15))
            events.append(
                Event(
                    calendar=calendar,
                    remote_id=f"{calendar.pk}-{n}",
                    start=begins,
                    end=begins + timedelta(minutes=rng.choice([15, 30, 60])),
                    busy=rng.random() > 0.1,
                )
            )
    Event.objects.bulk_create(events, batch_size=2000)
    return SchedulingPage.objects.create(
        account=user.account,
        owner=user,
        name="Bench",
        slug="bench-slots",
        timezone="UTC",
        weekly_hours={str(d): [["00:00", "24:00"]] for d in range(7)},
        durations=[15],
        increment=15,
        min_notice=0,
        max_advance_days=DAYS,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    # With DEBUG off, pages need the hashed static files production serves.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    # The production settings (scheduler/gunicorn_conf.py), as `make run` and the image use.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "scheduler/gunicorn_conf.py",
            "--log-level",
            "warning",
            "scheduler.wsgi:application",
        ],
        cwd=ROOT,
        env={
            **env,
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_WORKERS": str(workers),
            "WEB_ACCESS_LOG": "0",
        },
    )
    base = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(600):
        try:
            requests.get(base + "/robots.txt", timeout=5)
            return server, base
        except requests.RequestException:  # not listening yet, or workers still booting
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _client(urls: list[str], seconds: float, results) -> None:
    import requests

    session = requests.Session()
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds
    rng = random.Random(os.getpid())
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = session.get(rng.choice(urls), timeout=30)
        latencies.append(time.perf_counter() - started)
        errors += response.status_code != 200
    results.put((latencies, errors))


def load(urls: str | list[str], clients: int, seconds: float) -> dict:
    """`clients` processes requesting (one of) `urls` back to back for `seconds`."""
    urls = [urls] if isinstance(urls, str) else urls
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_client, args=(urls, seconds, results))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    collected = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(x for batch, _ in collected for x in batch)
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "rps": len(latencies) / seconds,
        "errors": sum(errors for _, errors in collected),
    }


def _booker(base: str, starts: list[str], results) -> None:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/meetings/bench-slots", timeout=30)
    token = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)
    headers = {"X-CSRFToken": token, "Cookie": f"csrftoken={token}"}
    statuses = []
    for n, start in enumerate(starts):
        body = {
            "start": start,
            "duration": 15,
            "timezone": "UTC",
            "first_name": "Bench",
            "last_name": str(n),
            "email": f"bench{os.getpid()}-{n}@client.example",
        }
        statuses.append(
            session.post(
                f"{base}/meetings/bench-slots/book", json=body, headers=headers, timeout=60
            ).status_code
        )
    results.put(statuses)


def booking_throughput(base: str, clients: int, per_client: int) -> tuple[float, dict]:
    import requests

    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    end = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    slots = requests.get(
        f"{base}/meetings/bench-slots/slots",
        params={"start": day, "end": end, "tz": "UTC"},
        timeout=30,
    ).json()["slots"]
    starts = [s["start"] for s in slots[::4]][: clients * per_client]  # distinct, apart
    chunks = [starts[i::clients] for i in range(clients)]
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_booker, args=(base, chunk, results)) for chunk in chunks
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    statuses = [s for _ in workers for s in results.get()]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    return counts.get(201, 0) / elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--bookings-per-client", type=int, default=15)
    args = parser.parse_args()

    import requests

    quiet()
    running = start_sandbox()
    server = None
    try:
        extra = {**sandbox_env(running), "FIELD_ENCRYPTION_KEYS": FERNET_KEY}
        setup_django(extra)
        quiet()
        page = build_page(running)
        env = {
            **os.environ,
            **BENCH_ENV,
            **extra,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # One client address books and asks for everyone here.
            "BOOKING_RATE_LIMIT": "100000/m",
            "SLOTS_RATE_LIMIT": "10000000/m",
        }
        server, base = start_gunicorn(env, args.gunicorn_workers)
        today = datetime.now(UTC).date()
        slots_url = (
            f"{base}/meetings/{page.slug}/slots?start={today}&end="
            f"{today + timedelta(days=DAYS - 1)}&tz=Europe/Warsaw"
        )
        # Every visitor time zone is its own cache entry: cycling through all of them keeps
        # almost every request computing; one repeated query shows the cached path.
        zones = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
        uncached_urls = [slots_url.replace("Europe/Warsaw", quote(zone, safe="")) for zone in zones]
        load(slots_url, 2, 1)  # warm up both workers
        trivial = load(f"{base}/robots.txt", args.clients, args.seconds)
        computed = load(uncached_urls, args.clients, args.seconds)
        cached = load(slots_url, args.clients, args.seconds)
        count = len(requests.get(slots_url, timeout=30).json()["slots"])
        print(
            f"Slots endpoint: {CALENDARS} calendars x {EVENTS_PER_CALENDAR:,} events over "
            f"{DAYS} days, {count:,} free slots; gunicorn {args.gunicorn_workers} workers x 4 "
            f"threads, {args.clients} concurrent clients, {args.seconds:g} s each"
        )
        for label, result in (("computed", computed), ("cached", cached)):
            for name in ("p50", "p99"):
                figure(f"slots ({label}) {name} latency", result[name], "ms")
                figure(
                    f"  ratio to the trivial endpoint ({trivial[name]:.1f} ms)",
                    result[name] / trivial[name],
                    "x",
                )
            figure(f"slots ({label}) requests per second", result["rps"], "req/s")
            figure(
                f"  ratio to the trivial endpoint ({trivial['rps']:,.0f} req/s)",
                result["rps"] / trivial["rps"],
                "x",
            )
        errors = computed["errors"] + cached["errors"] + trivial["errors"]
        figure("non-200 answers in all of the above", errors, "")
        rate, counts = booking_throughput(base, args.clients, args.bookings_per_client)
        print("Booking distinct slots concurrently (live free/busy check, outbox write queued)")
        figure("bookings per second", rate, "/s")
        print(f"  answers: {counts}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from scheduler.celery import app as celery_app

        celery_app.control.purge()
        running.stop()


if __name__ == "__main__":
    main()
