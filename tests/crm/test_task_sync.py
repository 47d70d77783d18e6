"""Task sync: CRM tasks with a due date in a sub-calendar of the connected calendar."""

from datetime import UTC, datetime, timedelta

import pytest

from calendars import outbox
from calendars.models import CalendarWrite
from crm import services
from crm.models import Task
from scheduler.models import User

MAILBOX = "owner@acme.example"
SETTINGS_URL = "/app/settings/general/calendar/"


def _due(days: int, hour: int = 9) -> datetime:
    return datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(
        days=days
    )


@pytest.fixture
def paid_admin(admin_user):
    admin_user.seat = User.Seat.SALES  # the test account is Sales Professional
    admin_user.save()
    return admin_user


def _toggle(client, connection, on: bool, capture):
    data = {
        "connection-calendar_sync": "on",
        "connection-scheduling_pages": "on",
        "meetings-url_prefix": "ada-tasks",
        "meetings-pages_enabled": "on",
    }
    if on:
        data["connection-task_sync"] = "on"
    with capture(execute=True):
        response = client.post(SETTINGS_URL, data)
    assert response.status_code == 302, response.content
    connection.refresh_from_db()
    assert connection.task_sync is on


def _task_events(sandbox_client, connection):
    calendar = connection.calendars.filter(is_task_calendar=True).first()
    if calendar is None:
        return None
    return [
        e for e in sandbox_client.events(MAILBOX, calendar.remote_id) if e["status"] != "cancelled"
    ]


def test_tasks_follow_into_a_sub_calendar_and_leave_with_it(
    admin_client, paid_admin, connection, sandbox_client, django_capture_on_commit_callbacks
):
    early = services.create_task(paid_admin, title="Call Cora", due_at=_due(1))
    services.create_task(paid_admin, title="No due date")
    _toggle(admin_client, connection, True, django_capture_on_commit_callbacks)
    outbox.sweep()
    calendar = connection.calendars.get(is_task_calendar=True)
    assert calendar.name == "CRM tasks" and not calendar.for_availability
    events = _task_events(sandbox_client, connection)
    assert [e["summary"] for e in events] == ["Call Cora"]
    assert events[0]["show_as"] == "free"  # a task never blocks time

    later = services.create_task(paid_admin, title="Send proposal", due_at=_due(2))
    services.update_task(early, title="Call Cora back", due_at=_due(3))
    services.complete_task(later)
    outbox.sweep()
    titles = sorted(e["summary"] for e in _task_events(sandbox_client, connection))
    assert titles == ["Call Cora back", "✓ Send proposal"]

    services.delete_task(early)
    outbox.sweep()
    assert [e["summary"] for e in _task_events(sandbox_client, connection)] == ["✓ Send proposal"]

    _toggle(admin_client, connection, False, django_capture_on_commit_callbacks)
    assert _task_events(sandbox_client, connection) is None
    remote_names = {
        c["name"] for c in sandbox_client._call("GET", f"/mailboxes/{MAILBOX}")["calendars"]
    }
    assert "CRM tasks" not in remote_names
    assert Task.objects.filter(owner=paid_admin).count() == 2  # tasks stay in the CRM


def test_task_calendar_is_never_an_availability_calendar(
    admin_client, paid_admin, connection, django_capture_on_commit_callbacks
):
    _toggle(admin_client, connection, True, django_capture_on_commit_callbacks)
    options = admin_client.get(SETTINGS_URL).context["options"]
    offered = {c.name for c in options.fields["availability_calendars"].queryset}
    assert "CRM tasks" not in offered


def test_without_a_paid_seat_nothing_is_written(admin_user, connection):
    assert admin_user.seat == "none"
    connection.task_sync = True
    connection.save()
    services.create_task(admin_user, title="Free seat task", due_at=_due(1))
    assert not CalendarWrite.objects.exists()
