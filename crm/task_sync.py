"""Task sync (SPEC §1.3): CRM tasks with a due date live in a sub-calendar of their owner's
connected calendar, created when task sync is turned on and deleted when it is turned off.

Every change goes through the calendar outbox with the task's own idempotency key, so the
calendar follows creates, edits, completion and deletion exactly once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import transaction

from calendars import connections, outbox
from calendars.models import Calendar, CalendarConnection, CalendarWrite
from calendars.providers.base import Access, EventWrite, ProviderError
from crm.models import Task
from scheduler import plans

logger = logging.getLogger(__name__)

TASK_CALENDAR_NAME = "CRM tasks"
TASK_EVENT_LENGTH = timedelta(minutes=15)
Action = CalendarWrite.Action


def _connection(user_id: int) -> CalendarConnection | None:
    return (
        CalendarConnection.objects.filter(user_id=user_id, task_sync=True)
        .select_related("user__account")
        .first()
    )


def task_calendar(connection: CalendarConnection) -> Calendar | None:
    return connection.calendars.filter(is_task_calendar=True, is_active=True).first()


def _event(task: Task) -> EventWrite:
    done = task.status == Task.Status.COMPLETED
    return EventWrite(
        key=task.calendar_event_key,
        title=f"✓ {task.title}" if done else task.title,
        start=task.due_at,
        end=task.due_at + TASK_EVENT_LENGTH,
        timezone=task.owner.timezone,
        description=f"CRM task{' (completed)' if done else ''}"
        + (f" about {task.contact.full_name or task.contact.email}" if task.contact else ""),
        busy=False,  # a reminder, not a meeting: it never blocks anyone's time
        send_invitations=False,
    )


def push(task: Task, *, deleted: bool = False) -> None:
    """Queue the calendar write that makes the task calendar match this task.

    Call inside the transaction that changed the task.
    """
    connection = _connection(task.owner_id)
    if connection is None or not plans.task_sync(connection.user):
        return
    calendar = task_calendar(connection)
    if calendar is None:
        return  # the sub-calendar is being created; enabling pushes every task afterwards
    # The stored key decides, not a possibly stale copy in memory; the row lock keeps two
    # concurrent changes of one task from both creating its event.
    stored = (
        Task.objects.select_for_update()
        .filter(pk=task.pk)
        .values_list("calendar_event_key", flat=True)
        .first()
    )
    task.calendar_event_key = stored or ""
    pushed = bool(task.calendar_event_key)
    if deleted or task.due_at is None:
        if pushed:
            outbox.enqueue(
                connection,
                Action.DELETE,
                task.calendar_event_key,
                calendar=calendar,
                ref=f"crm.task:{task.pk}",
            )
        return
    if not pushed:
        task.calendar_event_key = uuid.uuid4().hex
        Task.objects.filter(pk=task.pk).update(calendar_event_key=task.calendar_event_key)
    action = Action.UPDATE if pushed else Action.CREATE
    outbox.enqueue(
        connection,
        action,
        task.calendar_event_key,
        _event(task),
        calendar=calendar,
        ref=f"crm.task:{task.pk}",
    )


def enable(connection_id: int) -> None:
    """Create the sub-calendar (or find it again) and put every dated task in it."""
    connection = CalendarConnection.objects.select_related("user__account").get(pk=connection_id)
    if not connection.task_sync or not plans.task_sync(connection.user):
        return
    remote = connections.provider_for(connection).create_calendar(TASK_CALENDAR_NAME)
    same_calendar = connection.calendars.filter(remote_id=remote.id, is_task_calendar=True).exists()
    with transaction.atomic():
        Calendar.objects.update_or_create(
            connection=connection,
            remote_id=remote.id,
            defaults={
                "name": remote.name,
                "access": Access.OWNER,
                "is_task_calendar": True,
                "for_availability": False,
                "is_active": True,
            },
        )
        if not same_calendar:  # a new calendar: every dated task is created in it afresh
            Task.objects.filter(owner_id=connection.user_id).update(calendar_event_key="")
        tasks = Task.objects.filter(owner_id=connection.user_id, due_at__isnull=False)
        for task in tasks.select_related("owner", "contact"):
            push(task)


def disable(connection_id: int) -> None:
    """Delete the sub-calendar with everything in it; tasks stay in the CRM."""
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.task_sync:
        return
    for calendar in connection.calendars.filter(is_task_calendar=True):
        try:
            connections.provider_for(connection).delete_calendar(calendar.remote_id)
        except ProviderError as exc:
            logger.warning("could not delete the task calendar", extra={"error": str(exc)})
            raise
        with transaction.atomic():
            calendar.delete()  # its queued writes go with it
            Task.objects.filter(owner_id=connection.user_id).update(calendar_event_key="")
