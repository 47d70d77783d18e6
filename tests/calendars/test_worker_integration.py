"""Sync and write-out with a real Celery worker process, Redis and the sandbox over HTTP."""

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from calendars import outbox, sync
from calendars.models import CalendarConnection, CalendarWrite, Event
from calendars.providers.base import Attendee, EventWrite
from calendars.tasks import sweep_calendar_writes, sync_connection
from crm.models import Meeting
from crm.services import upsert_contact
from tests.support.celery import result_of
from tests.support.times import at as _at

MAILBOX = "owner@acme.example"
pytestmark = [pytest.mark.slow]


def _wait_for(condition, seconds: float = 30, step: float = 0.2, poke=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if poke:
            poke()
        time.sleep(step)
    return False


def _sync_in_worker(connection_id: int, full: bool = False) -> dict:
    """Sync through the worker, waiting out a sync that already holds the lease (the
    connect flow queues one of its own)."""
    for _ in range(50):
        report = result_of(sync_connection.delay(connection_id, full=full), 30)
        if report["claimed"]:
            return report
        time.sleep(0.2)
    raise AssertionError("the connection's sync lease was never free")


@pytest.fixture
def worker_connection(celery_worker, connection, settings, live_server):
    settings.APP_BASE_URL = live_server.url
    settings.CALENDAR_PUSH_ENABLED = True
    return connection


def test_calendar_changes_reach_the_mirror_and_the_crm_through_the_worker(
    worker_connection, sandbox_client
):
    contact = upsert_contact(worker_connection.user.account, email="cfo@client.example")
    primary = worker_connection.calendars.get(is_primary=True)
    _sync_in_worker(worker_connection.pk, full=True)
    event = sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Quarterly review",
        start=_at(2, 15).isoformat(),
        end=_at(2, 16).isoformat(),
        attendees=["CFO@client.example"],
    )
    _sync_in_worker(worker_connection.pk)
    assert Event.objects.get(calendar=primary, remote_id=event["id"]).start == _at(2, 15)
    meeting = Meeting.objects.get(calendar_remote_id=event["id"])
    assert list(meeting.contacts.all()) == [contact] and meeting.source == "calendar_sync"

    sandbox_client.update_event(
        MAILBOX,
        primary.remote_id,
        event["id"],
        start=_at(4, 9).isoformat(),
        end=_at(4, 10).isoformat(),
    )
    _sync_in_worker(worker_connection.pk)
    assert Event.objects.get(calendar=primary, remote_id=event["id"]).start == _at(4, 9)
    meeting.refresh_from_db()
    assert meeting.start == _at(4, 9)

    sandbox_client.delete_event(MAILBOX, primary.remote_id, event["id"])
    _sync_in_worker(worker_connection.pk)
    assert not Event.objects.filter(calendar=primary, remote_id=event["id"]).exists()
    meeting.refresh_from_db()
    assert meeting.status == "cancelled"


def test_a_push_notification_triggers_a_sync_without_waiting_for_beat(
    worker_connection, sandbox_client
):
    primary = worker_connection.calendars.get(is_primary=True)
    # The first sync (in the worker) opens a watch channel to the live server's webhook.
    _sync_in_worker(worker_connection.pk, full=True)
    primary.refresh_from_db()
    assert primary.channel_id and primary.channel_token_hash
    # Far from due: only a notification can bring the next sync forward.
    CalendarConnection.objects.filter(pk=worker_connection.pk).update(
        next_sync_at=datetime.now(UTC) + timedelta(hours=6)
    )

    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="Pushed",
        start=_at(1, 9).isoformat(),
        end=_at(1, 10).isoformat(),
    )
    assert _wait_for(lambda: Event.objects.filter(calendar=primary, title="Pushed").exists())


def test_two_workers_never_sync_one_connection_at_once(worker_connection, sandbox_client):
    _sync_in_worker(worker_connection.pk, full=True)  # the connect flow's own sync is over
    sandbox_client.fault("google", "slow", email=MAILBOX, delay=0.3, count=40)
    results = [sync_connection.delay(worker_connection.pk) for _ in range(6)]
    reports = [result_of(result, 60) for result in results]
    ran = sorted(
        (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"]))
        for r in reports
        if r["claimed"]
    )
    assert ran, "at least one sync must have run"
    assert any(not r["claimed"] for r in reports), "concurrent syncs must have been turned away"
    for (_, end), (next_start, _) in itertools.pairwise(ran):
        assert next_start >= end, "two syncs of one connection overlapped"


def test_faults_during_writes_end_with_every_write_applied_exactly_once(
    worker_connection, sandbox_client
):
    primary = worker_connection.calendars.get(is_primary=True)
    sandbox_client.fault("google", "server_error", email=MAILBOX, status=503, count=2)
    sandbox_client.fault("google", "rate_limit", email=MAILBOX, retry_after=1, count=2)
    keys = [uuid.uuid4().hex for _ in range(5)]
    with transaction.atomic():
        for n, key in enumerate(keys):
            outbox.enqueue(
                worker_connection,
                CalendarWrite.Action.CREATE,
                key,
                EventWrite(
                    key,
                    f"Booked {n}",
                    _at(5, 9 + n),
                    _at(5, 10 + n),
                    attendees=(Attendee(f"guest{n}@client.example"),),
                ),
            )

    def all_done():
        return CalendarWrite.objects.filter(key__in=keys, state="done").count() == len(keys)

    # Beat would send the sweeper every minute; here it is poked every second.
    assert _wait_for(all_done, seconds=60, step=1, poke=lambda: sweep_calendar_writes.delay())
    stored = [
        e
        for e in sandbox_client.events(MAILBOX, primary.remote_id)
        if e.get("summary", "").startswith("Booked")
    ]
    assert sorted(e["summary"] for e in stored) == [f"Booked {n}" for n in range(5)]
    invited = {i["attendee"] for i in sandbox_client.invitations(MAILBOX)}
    assert {f"guest{n}@client.example" for n in range(5)} <= invited


def test_faults_during_sync_lose_nothing(worker_connection, sandbox_client):
    primary = worker_connection.calendars.get(is_primary=True)
    _sync_in_worker(worker_connection.pk, full=True)
    for n in range(3):
        sandbox_client.add_event(
            MAILBOX,
            primary.remote_id,
            summary=f"Change {n}",
            start=_at(6, 9 + n).isoformat(),
            end=_at(6, 10 + n).isoformat(),
        )
    sandbox_client.fault("google", "server_error", email=MAILBOX, status=500, count=1)
    sandbox_client.fault("google", "rate_limit", email=MAILBOX, retry_after=1, count=1)
    # Syncs (ours, or ones a push notification queued) run into both faults and retry.
    reports = [_sync_in_worker(worker_connection.pk) for _ in range(3)]
    assert sandbox_client._call("GET", "/faults") == []  # both faults were hit
    assert not reports[-1]["error"]

    def mirrored():
        titles = Event.objects.filter(calendar=primary, title__startswith="Change")
        return sorted(titles.values_list("title", flat=True))

    assert _wait_for(lambda: mirrored() == ["Change 0", "Change 1", "Change 2"])
    worker_connection.refresh_from_db()
    assert worker_connection.status == "active" and worker_connection.sync_failures == 0


def test_a_revoked_grant_ends_in_reconnect_required_and_one_email(
    worker_connection, sandbox_client, worker_mail_dir
):
    for path in worker_mail_dir.iterdir():
        path.unlink()
    sandbox_client.fault("google", "revoke_grant", email=MAILBOX)
    sandbox_client.fault("google", "expire_access_tokens", email=MAILBOX)
    for _ in range(3):
        _sync_in_worker(worker_connection.pk)
    worker_connection.refresh_from_db()
    assert worker_connection.status == "reconnect_required"
    mails = [p.read_text() for p in worker_mail_dir.iterdir()]
    reconnect = [m for m in mails if "Reconnect your Google calendar" in m]
    assert len(reconnect) == 1 and worker_connection.user.email in reconnect[0]
    assert sync.due_connection_ids(datetime.now(UTC) + timedelta(days=1)) == []


def test_a_revoked_grant_switches_the_page_to_requests_within_one_sync(
    worker_connection, sandbox_client, worker_mail_dir, live_server
):
    """Within one sync in the worker: the page's mode turns to requests (the slots JSON, the
    booking answer), and the owner gets exactly one alert."""
    import requests

    from meetings.models import SchedulingPage

    for path in worker_mail_dir.iterdir():
        path.unlink()
    user = worker_connection.user
    page = SchedulingPage.objects.create(
        account=user.account,
        owner=user,
        name="Intro",
        slug="revoked",
        weekly_hours={str(day): [["08:00", "18:00"]] for day in range(7)},
        min_notice=0,
    )
    day = _at(2).date().isoformat()
    slots_url = f"{live_server.url}/meetings/{page.slug}/slots"
    query = {"start": day, "end": day, "tz": "UTC"}
    assert requests.get(slots_url, params=query, timeout=10).json()["mode"] == "booking"

    sandbox_client.fault("google", "revoke_grant", email=MAILBOX)
    sandbox_client.fault("google", "expire_access_tokens", email=MAILBOX)
    _sync_in_worker(worker_connection.pk)  # one sync

    assert requests.get(slots_url, params=query, timeout=10).json()["mode"] == "offline"
    session = requests.Session()
    session.get(f"{live_server.url}/meetings/{page.slug}", timeout=10)
    answer = session.post(
        f"{live_server.url}/meetings/{page.slug}/book",
        json={
            "start": _at(2, 10).isoformat(),
            "duration": 30,
            "timezone": "UTC",
            "first_name": "Cora",
            "last_name": "Contact",
            "email": "cora@client.example",
        },
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": live_server.url},
        timeout=30,
    )
    assert answer.status_code == 201 and answer.json()["status"] == "requested"
    assert not CalendarWrite.objects.exists()

    def alerts() -> list[str]:
        texts = [p.read_text() for p in worker_mail_dir.iterdir()]
        return [t for t in texts if "Reconnect your Google calendar" in t]

    assert _wait_for(lambda: len(alerts()) == 1)
    time.sleep(1)
    assert len(alerts()) == 1


def test_bookings_cancelled_the_moment_they_are_made_never_error(
    worker_connection, sandbox_client, live_server, settings
):
    """Book and cancel at once, twenty times, while the worker writes the events and another
    client keeps reading the manage page: every answer is a success, and afterwards the
    calendar holds none of the twenty."""
    import threading

    import requests

    from meetings.models import Booking, SchedulingPage

    settings.BOOKING_RATE_LIMIT = "1000/m"
    user = worker_connection.user
    SchedulingPage.objects.create(
        account=user.account,
        owner=user,
        name="Quick",
        slug="quick",
        weekly_hours={str(day): [["08:00", "20:00"]] for day in range(7)},
        min_notice=0,
    )
    session = requests.Session()
    session.get(f"{live_server.url}/meetings/quick", timeout=10)
    session.headers.update(
        {"X-CSRFToken": session.cookies["csrftoken"], "Referer": live_server.url}
    )
    statuses: list[int] = []
    stop = threading.Event()
    manage_urls: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            for url in list(manage_urls[-3:]):
                statuses.append(requests.get(url, timeout=30).status_code)

    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    try:
        for n in range(20):
            made = session.post(
                f"{live_server.url}/meetings/quick/book",
                json={
                    "start": _at(3, 8, 30 * n).isoformat(),
                    "duration": 30,
                    "timezone": "UTC",
                    "first_name": "Quick",
                    "last_name": str(n),
                    "email": f"quick{n}@client.example",
                },
                timeout=30,
            )
            assert made.status_code == 201, made.content
            manage_urls.append(made.json()["manage_url"])
            cancelled = session.post(made.json()["manage_url"] + "cancel", timeout=30)
            statuses.append(cancelled.status_code)
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert statuses and all(status < 400 for status in statuses), statuses
    assert set(Booking.objects.values_list("status", flat=True)) == {"cancelled"}

    primary = worker_connection.calendars.get(is_primary=True)

    def none_left() -> bool:
        sweep_calendar_writes.delay()
        return not [
            e
            for e in sandbox_client.events(MAILBOX, primary.remote_id)
            if e.get("summary", "").startswith("Quick") and e.get("status") != "cancelled"
        ]

    assert _wait_for(none_left, seconds=60, step=1)
