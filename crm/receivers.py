"""Reactions to what `calendars` reports; it sends signals because it may not import us."""

from crm import calendar_sync


def on_events_changed(
    sender, *, calendar_id: int, changed_remote_ids, removed_remote_ids, **kwargs
) -> None:
    calendar_sync.apply_calendar_changes(
        calendar_id,
        changed_remote_ids=changed_remote_ids,
        removed_remote_ids=removed_remote_ids,
    )


def on_write_completed(sender, *, ref: str, action: str, remote_event_id: str, **kwargs) -> None:
    calendar_sync.record_remote_event(ref=ref, action=action, remote_event_id=remote_event_id)


def on_task_sync_changed(sender, *, connection_id: int, enabled: bool, **kwargs) -> None:
    from crm.tasks import disable_task_sync, enable_task_sync

    (enable_task_sync if enabled else disable_task_sync).delay(connection_id)
