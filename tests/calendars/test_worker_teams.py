"""Team-page work in a real Celery worker process, with Redis and the sandbox over HTTP:
Google Meet and Microsoft Teams links created in the host's calendar and sent to the
contact; reminders planned, moved, cancelled, and sent exactly once, also when a worker died
holding one of them."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from calendars.connections import create_connection
from crm.models import Meeting
from meetings import booking as booking_service
from meetings.models import Booking, PlannedEmail, SchedulingPage
from meetings.tasks import send_planned_emails
from tests.support.celery import result_of
from tests.support.sandbox import app_tokens
from tests.support.times import at

pytestmark = [pytest.mark.slow]
EVERY_DAY = {str(day): [["07:00", "20:00"]] for day in range(7)}


def _wait_for(condition, seconds: float = 40, step: float = 0.3) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def _mails(mail_dir) -> list[str]:
    """Every message the worker sent (the file backend may put several in one file)."""
    messages = []
    for path in sorted(mail_dir.iterdir()):
        messages += [m for m in path.read_text().split("-" * 79) if m.strip()]
    return messages


def _visitor(email="cora@client.example", zone="Europe/Warsaw"):
    return booking_service.Visitor(
        email=email, first_name="Cora", last_name="Contact", timezone=zone
    )


@pytest.fixture
def clean_mail(worker_mail_dir):
    for path in worker_mail_dir.iterdir():
        path.unlink()
    return worker_mail_dir


@pytest.fixture
def worker_settings(celery_worker, settings, live_server):
    settings.APP_BASE_URL = live_server.url
    settings.CALENDAR_PUSH_ENABLED = False


def _page(user, **fields) -> SchedulingPage:
    return SchedulingPage.objects.create(
        account=user.account,
        owner=user,
        name="Intro call",
        slug=f"intro-{user.pk}-{fields.get('conferencing', 'x')}",
        weekly_hours=EVERY_DAY,
        min_notice=0,
        **fields,
    )


# --- Video links ----------------------------------------------------------------------------


def test_a_meet_link_is_created_by_the_worker_and_sent_in_the_confirmation(
    worker_settings, connection, sandbox_client, clean_mail
):
    page = _page(connection.user, conferencing="google_meet")
    booking = booking_service.book(page, at(2, 10), 30, _visitor())
    assert booking.conference_status == "pending"
    assert _wait_for(lambda: Booking.objects.get(pk=booking.pk).conference_status == "ready"), (
        Booking.objects.get(pk=booking.pk).conference_status
    )
    booking.refresh_from_db()
    assert booking.conference_url.startswith("https://meet.google.com/")
    assert Meeting.objects.get(pk=booking.crm_meeting_id).video_url == booking.conference_url
    event = next(e for e in sandbox_client.events("owner@acme.example", "owner@acme.example"))
    assert event["extra"]["conference"]["code"] in booking.conference_url

    def confirmations():
        return [m for m in _mails(clean_mail) if "Subject: Confirmed:" in m and "cora@" in m]

    assert _wait_for(lambda: len(confirmations()) == 1)
    assert f"Join: {booking.conference_url}" in confirmations()[0]
    time.sleep(1)
    assert len(confirmations()) == 1
    assert not [m for m in _mails(clean_mail) if "Subject: Video link" in m]


@pytest.fixture
def microsoft_host(admin_user, sandbox_client, sandbox, settings):
    email = "teams-host@acme.example"
    sandbox_client.mailbox("microsoft", email, timezone="Europe/Warsaw")
    tokens = app_tokens(sandbox.http_url, "microsoft", email)
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": (datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])).isoformat(),
    }
    return create_connection(admin_user, "microsoft", credentials)


def test_a_teams_link_is_created_by_the_worker(worker_settings, microsoft_host, clean_mail):
    page = _page(microsoft_host.user, conferencing="teams")
    booking = booking_service.book(page, at(2, 11), 30, _visitor())
    assert booking.conference_status == "pending"
    assert _wait_for(lambda: Booking.objects.get(pk=booking.pk).conference_status == "ready")
    booking.refresh_from_db()
    assert booking.conference_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert _wait_for(
        lambda: any(
            "Subject: Confirmed:" in m and booking.conference_url in m.replace("=\n", "")
            for m in _mails(clean_mail)
        )
    )


# --- Reminders --------------------------------------------------------------------------------


def _sweep(times: int = 1) -> list[dict]:
    """Run the periodic task in the worker, `times` at once."""
    results = [send_planned_emails.delay() for _ in range(times)]
    return [result_of(r, 60) for r in results]


def test_reminders_planned_moved_cancelled_and_sent_exactly_once(
    worker_settings, connection, clean_mail
):
    page = _page(
        connection.user,
        reminders=[{"amount": 1, "unit": "days"}, {"amount": 2, "unit": "hours"}],
    )
    kept = booking_service.book(page, at(3, 9), 30, _visitor("kept@client.example"))
    moved = booking_service.book(page, at(3, 11), 30, _visitor("moved@client.example"))
    cancelled = booking_service.book(page, at(3, 13), 30, _visitor("gone@client.example"))
    new_start = at(4, 15)
    booking_service.reschedule(moved.manage_token, new_start)
    booking_service.cancel(cancelled.manage_token, reason="No longer needed")

    planned = PlannedEmail.objects.filter(state="planned", kind="reminder")
    assert {(r.booking.email, r.label, r.booking_start) for r in planned} == {
        ("kept@client.example", "1 day", at(3, 9)),
        ("kept@client.example", "2 hours", at(3, 9)),
        ("moved@client.example", "1 day", new_start),
        ("moved@client.example", "2 hours", new_start),
    }
    assert not PlannedEmail.objects.filter(booking=cancelled, state="planned").exists()

    # Time passes (the worker has the real clock): every reminder comes due. One of them was
    # claimed by a worker that died before it committed: its lease is still running.
    now = datetime.now(UTC)
    planned.update(due_at=now - timedelta(seconds=1))
    orphan = PlannedEmail.objects.get(booking=kept, label="2 hours")
    PlannedEmail.objects.filter(pk=orphan.pk).update(
        lease_owner="worker-that-died", lease_until=now + timedelta(seconds=4)
    )

    # Six sweeps at once on four worker threads: three reminders go, the orphan waits.
    outcomes = _sweep(6)
    assert sum(o.get("sent", 0) for o in outcomes) == 3
    assert PlannedEmail.objects.get(pk=orphan.pk).state == "planned"

    time.sleep(4.5)  # the dead worker's lease runs out
    outcomes = _sweep(3)
    assert sum(o.get("sent", 0) for o in outcomes) == 1
    assert not PlannedEmail.objects.filter(state="planned", kind="reminder").exists()
    assert _sweep(2) == [{}, {}]

    def reminders_to(address):
        return [
            m for m in _mails(clean_mail) if "Subject: Reminder:" in m and f"To: {address}" in m
        ]

    assert _wait_for(lambda: len(reminders_to("kept@client.example")) == 2)
    assert _wait_for(lambda: len(reminders_to("moved@client.example")) == 2)
    time.sleep(1)
    assert len(reminders_to("kept@client.example")) == 2
    assert len(reminders_to("moved@client.example")) == 2
    assert reminders_to("gone@client.example") == []
    rows = PlannedEmail.objects.filter(kind="reminder", state="sent")
    assert rows.count() == 4 and all(r.email_id for r in rows)
    assert len({r.email_id for r in rows}) == 4
