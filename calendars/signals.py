"""Signals `calendars` sends so that upper layers (CRM, meetings) can react without being
imported here (DESIGN: nothing imports upward)."""

from django.dispatch import Signal

# A connection was disconnected and its mirrored data removed. Args: user_id, connection_id.
connection_removed = Signal()

# A sync stored changes (sent after commit, robustly). Args: connection_id, calendar_id
# (Calendar pk), changed_remote_ids, removed_remote_ids (a full resync also lists events that
# merely left the sync window).
events_changed = Signal()

# Access to an availability calendar was lost. Args: calendar_id.
calendar_access_lost = Signal()

# Task sync was turned on or off on a connection (sent after commit). Args: connection_id,
# enabled.
task_sync_changed = Signal()

# An outbox write reached the provider. Args: write_id, key, ref, action, remote_event_id.
write_completed = Signal()
