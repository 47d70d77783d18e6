"""Reminders: up to three per page, planned with the booking in the contact's time zone,
re-planned when the meeting moves, dropped when it is cancelled, each sent exactly once by
the periodic task (the worker-level tests are in tests/calendars/test_worker_reminders.py)."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from crm.models import Meeting
from meetings import reminders
from meetings.models import Booking, PlannedEmail
from tests.meetings.conftest import next_day_at
from tests.meetings.test_pages import NEW_URL, _form

DAY_AND_HOUR = [{"amount": 1, "unit": "days"}, {"amount": 2, "unit": "hours"}]


def _booking(page, start, zone="Europe/Warsaw"):
    return Booking.objects.create(
        page=page,
        host=page.owner,
        start=start,
        end=start + timedelta(minutes=30),
        status=Booking.Status.CONFIRMED,
        email="cora@client.example",
        first_name="Cora",
        last_name="Contact",
        timezone=zone,
        manage_token=f"reminder-token-{start:%Y%m%d%H%M}-{zone.replace('/', '-')}",
    )


@pytest.mark.parametrize(
    ("start", "zone", "day_before"),
    [
        # Warsaw springs forward on 29 March 2026: 10:00 CEST on the 29th is 08:00 UTC; the
        # reminder is at 10:00 CET on the 28th, 09:00 UTC, 23 hours earlier.
        (
            datetime(2026, 3, 29, 8, tzinfo=UTC),
            "Europe/Warsaw",
            datetime(2026, 3, 28, 9, tzinfo=UTC),
        ),
        # New York falls back on 1 November 2026: 25 hours between the two 09:00s.
        (
            datetime(2026, 11, 1, 14, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 10, 31, 13, tzinfo=UTC),
        ),
        (datetime(2026, 6, 10, 12, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 6, 9, 12, tzinfo=UTC)),
    ],
)
def test_a_day_before_is_the_same_wall_clock_time_in_the_contacts_zone(
    make_page, admin_user, start, zone, day_before
):
    page = make_page(admin_user, reminders=DAY_AND_HOUR)
    booking = _booking(page, start, zone)
    planned = reminders.plan(booking, now=start - timedelta(days=10))
    assert sorted((row.label, row.due_at) for row in planned) == sorted(
        [("1 day", day_before), ("2 hours", start - timedelta(hours=2))]
    )


def test_reminders_whose_time_passed_are_not_planned(make_page, admin_user):
    page = make_page(admin_user, reminders=DAY_AND_HOUR)
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    planned = reminders.plan(_booking(page, start), now=start - timedelta(hours=5))
    assert [row.label for row in planned] == ["2 hours"]


def _book(client, page, when):
    body = {
        "start": when.isoformat(),
        "duration": 30,
        "timezone": "America/New_York",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
    }
    response = client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return Booking.objects.get(pk=response.json()["id"])


def _reminder_mails():
    return [m for m in mail.outbox if m.subject.startswith("Reminder:")]


def test_planned_moved_cancelled_and_sent_once(
    client, make_page, admin_user, connection, django_capture_on_commit_callbacks
):
    page = make_page(admin_user, reminders=DAY_AND_HOUR, durations=[30])
    first = next_day_at(10, days=3)
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(client, page, first)
    planned = PlannedEmail.objects.filter(booking=booking, state="planned")
    assert {(r.label, r.booking_start) for r in planned} == {("1 day", first), ("2 hours", first)}

    moved_to = next_day_at(15, days=4)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/meetings/manage/{booking.manage_token}/reschedule",
            json.dumps({"start": moved_to.isoformat()}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    rows = PlannedEmail.objects.filter(booking=booking)
    assert {r.state for r in rows if r.booking_start == first} == {"cancelled"}
    assert {(r.label, r.state) for r in rows if r.booking_start == moved_to} == {
        ("1 day", "planned"),
        ("2 hours", "planned"),
    }

    # The day-before reminder comes due: sent once, however often the task runs.
    due = PlannedEmail.objects.get(booking=booking, booking_start=moved_to, label="1 day")
    with (
        time_machine.travel(due.due_at + timedelta(seconds=5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders.send_due() == {"sent": 1}
        assert reminders.send_due() == {}
    (sent,) = _reminder_mails()
    assert sent.to == ["cora@client.example"]
    local = moved_to.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%H:%M}" in sent.body and "(America/New_York)" in sent.body
    assert f"/meetings/manage/{booking.manage_token}/" in sent.body
    due.refresh_from_db()
    assert due.state == "sent" and due.email is not None and due.sent_at is not None

    # Cancelled: the remaining reminder never goes.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/meetings/manage/{booking.manage_token}/cancel", {"reason": "Ill"})
    last = PlannedEmail.objects.get(booking=booking, booking_start=moved_to, label="2 hours")
    assert last.state == "cancelled"
    with time_machine.travel(last.due_at + timedelta(seconds=5)):
        assert reminders.send_due() == {}
    assert len(_reminder_mails()) == 1


def test_a_row_never_fires_for_a_time_the_meeting_no_longer_has(make_page, admin_user):
    page = make_page(admin_user, reminders=[{"amount": 1, "unit": "hours"}])
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    booking = _booking(page, start)
    (row,) = reminders.plan(booking, now=start - timedelta(days=1))
    Booking.objects.filter(pk=booking.pk).update(start=start + timedelta(days=1))
    assert reminders.send(row.pk, now=row.due_at) == "cancelled"
    assert not _reminder_mails()


def test_a_reminder_found_after_the_meeting_started_is_skipped(make_page, admin_user):
    page = make_page(admin_user, reminders=[{"amount": 1, "unit": "hours"}])
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    (row,) = reminders.plan(_booking(page, start), now=start - timedelta(days=1))
    assert reminders.send(row.pk, now=start + timedelta(minutes=1)) == "skipped"
    assert PlannedEmail.objects.get(pk=row.pk).state == "skipped"


def test_a_row_leased_by_another_worker_is_left_alone(make_page, admin_user):
    page = make_page(admin_user, reminders=[{"amount": 1, "unit": "hours"}])
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    (row,) = reminders.plan(_booking(page, start), now=start - timedelta(days=1))
    PlannedEmail.objects.filter(pk=row.pk).update(
        lease_owner="another-worker", lease_until=datetime.now(UTC) + timedelta(seconds=30)
    )
    assert reminders.send(row.pk, now=row.due_at) == "skipped"
    assert PlannedEmail.objects.get(pk=row.pk).state == "planned"


def test_the_editor_takes_up_to_three_reminders(admin_client):
    response = admin_client.post(
        NEW_URL,
        _form(
            reminder_1_amount="2",
            reminder_1_unit="hours",
            reminder_2_amount="1",
            reminder_2_unit="days",
            reminder_3_amount="15",
            reminder_3_unit="minutes",
        ),
    )
    assert response.status_code == 302, response.content
    from meetings.models import SchedulingPage

    assert SchedulingPage.objects.get().reminders == [
        {"amount": 1, "unit": "days"},
        {"amount": 2, "unit": "hours"},
        {"amount": 15, "unit": "minutes"},
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"reminder_1_amount": "31", "reminder_1_unit": "days"},
        {"reminder_1_amount": "-1"},
        {
            "reminder_1_amount": "1",
            "reminder_1_unit": "hours",
            "reminder_2_amount": "60",
            "reminder_2_unit": "minutes",
        },
    ],
)
def test_bad_reminders_are_a_400(admin_client, fields):
    response = admin_client.post(NEW_URL, _form(**fields))
    assert response.status_code == 400
    assert "reminder_1_amount" in response.context["form"].errors


def test_no_reminder_for_a_meeting_the_host_cancelled_in_the_crm(
    admin_client, client, make_page, admin_user, connection, django_capture_on_commit_callbacks
):
    page = make_page(admin_user, reminders=[{"amount": 1, "unit": "hours"}], durations=[30])
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(client, page, next_day_at(10, days=3))
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    contact = meeting.contacts.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/app/contacts/{contact.pk}/meetings/{meeting.pk}/cancel/")
    assert Meeting.objects.get(pk=meeting.pk).status == "cancelled"
    row = PlannedEmail.objects.get(booking=booking)
    assert reminders.send(row.pk, now=row.due_at) == "cancelled"
    assert not _reminder_mails()
