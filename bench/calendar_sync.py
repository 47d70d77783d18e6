"""Calendar sync against the sandbox: a full sync of 10,000 events and an incremental sync of
100 changes, each next to fetching the same pages with the bare Google client library in the
same run (the app's overhead: parsing, classifying, writing the mirror in PostgreSQL).

    python bench/calendar_sync.py [--events 10000] [--changes 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import figure, fresh_user, quiet, sandbox_env, setup_django
from sandbox.state import Event as SandboxEvent
from sandbox.testing import start_sandbox
from tests.support.sandbox import google_credentials

EMAIL = "bench-sync@sandbox.example"


def populate(running, count: int) -> None:
    state = running.state
    mailbox = state.add_mailbox("google", EMAIL, timezone="UTC")
    calendar, _ = state.calendar_for(mailbox, mailbox.primary_calendar_id)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for n in range(count):
        begins = start + timedelta(minutes=37 * n)  # spread over ~257 days, all in the window
        state.create_event(
            calendar,
            SandboxEvent(
                id="",
                calendar_id=calendar.id,
                start=begins,
                end=begins + timedelta(minutes=30),
                timezone="UTC",
                summary=f"Event {n}",
                show_as="free" if n % 10 == 0 else "busy",
            ),
        )


def connect(running):

    from calendars.connections import create_connection

    credentials = google_credentials(running.http_url, EMAIL)
    return create_connection(
        fresh_user("bench-sync@bench.example"), "google", credentials
    ), credentials


def bare_fetch(credentials: dict, sync_token: str | None) -> tuple[int, str]:
    """Page through events with google-api-python-client alone, as the adapter asks for them."""
    from django.conf import settings
    from django.utils import timezone
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build

    from calendars.sync import sync_window

    creds = Credentials(
        credentials["token"],
        refresh_token=credentials["refresh_token"],
        token_uri=settings.GOOGLE_TOKEN_URI,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
    )
    service = build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": settings.GOOGLE_CALENDAR_API_URL},
    )
    params = {"calendarId": EMAIL, "singleEvents": True, "maxResults": 2500}
    if sync_token:
        params["syncToken"] = sync_token
    else:
        low, high = sync_window(timezone.now())
        params.update(timeMin=low.isoformat(), timeMax=high.isoformat())
    seen, page_token, next_token = 0, None, ""
    while True:
        page = service.events().list(pageToken=page_token, **params).execute()
        seen += len(page.get("items", []))
        next_token = page.get("nextSyncToken", next_token)
        page_token = page.get("nextPageToken")
        if not page_token:
            return seen, next_token


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def peak_memory_mb(function) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def change_events(running, count: int) -> None:
    state = running.state
    mailbox = state.mailbox(EMAIL)
    calendar, _ = state.calendar_for(mailbox, mailbox.primary_calendar_id)
    live = [e for e in calendar.events.values() if not e.cancelled][:count]
    for n, event in enumerate(live):
        if n % 2:
            state.delete_event(calendar, event.id)
        else:
            state.update_event(
                calendar,
                event.id,
                {
                    "start": event.start + timedelta(minutes=15),
                    "end": event.end + timedelta(minutes=15),
                },
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    quiet()
    running = start_sandbox()
    try:
        setup_django(sandbox_env(running))
        quiet()
        from calendars import sync
        from calendars.models import Calendar, Event

        populate(running, args.events)
        connection, credentials = connect(running)
        primary = Calendar.objects.get(connection=connection, is_primary=True)

        print(f"Calendar sync, Google through the sandbox over HTTP ({args.events:,} events)")
        full_app, full_bare = [], []
        for _ in range(args.runs + 1):
            seconds, report = timed(lambda: sync.sync_connection(connection.pk, full=True))
            assert not report.error, report.error
            full_app.append(seconds)
            full_bare.append(timed(lambda: bare_fetch(credentials, None))[0])
        mirrored = Event.objects.filter(calendar=primary).count()
        first, bare = full_app[0], statistics.median(full_bare)
        app = statistics.median(full_app[1:])
        figure("first full sync into an empty mirror, app", first * 1000, "ms")
        figure("full resync of a populated mirror, app (median)", app * 1000, "ms")
        figure("the same pages with the bare client (median)", bare * 1000, "ms")
        figure("ratio first full sync / bare", first / bare, "x")
        figure("ratio full resync / bare", app / bare, "x")
        figure("events mirrored", mirrored, "events")
        figure(
            "full sync peak Python memory (tracemalloc)",
            peak_memory_mb(lambda: sync.sync_connection(connection.pk, full=True)),
            "MB",
        )

        incremental_app, incremental_bare = [], []
        for _ in range(args.runs):
            primary.refresh_from_db()
            token = primary.sync_token
            change_events(running, args.changes)
            incremental_bare.append(timed(lambda t=token: bare_fetch(credentials, t))[0])
            seconds, report = timed(lambda: sync.sync_connection(connection.pk))
            assert not report.error, report.error
            incremental_app.append(seconds)
        app, bare = statistics.median(incremental_app), statistics.median(incremental_bare)
        print(f"Incremental sync of {args.changes} changes (half moved, half deleted)")
        figure("incremental sync, app (median)", app * 1000, "ms")
        figure("incremental sync, bare client (median)", bare * 1000, "ms")
        figure("incremental sync ratio app / bare", app / bare, "x")
    finally:
        from scheduler.celery import app as celery_app

        celery_app.control.purge()  # the connect flow queued a sync nobody will run here
        running.stop()


if __name__ == "__main__":
    main()
