import json
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

from calendars.providers.base import Access, WatchChannel
from scheduler.fields import EncryptedTextField

# Accounts created before this day may keep two legacy connections (SPEC §1.1).
LEGACY_CUTOFF = date(2023, 3, 13)


class Provider(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft 365"
    EXCHANGE = "exchange", "Exchange"


class CalendarConnection(models.Model):
    """A user's connected calendar account at one provider, with encrypted credentials."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"
        ERROR = "error", "Sync problem"

    class LegacySlot(models.TextChoices):
        CALENDAR_SETTINGS = "calendar_settings", "Calendar settings"
        MEETINGS = "meetings", "Meetings"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    account_email = models.EmailField(max_length=254)
    credentials_json = EncryptedTextField()
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.ACTIVE)
    legacy_slot = models.CharField(
        max_length=30,
        choices=LegacySlot.choices,
        blank=True,
        default="",
        help_text="Only on connections kept from before 2023-03-13.",
    )
    calendar_sync = models.BooleanField(default=True)
    scheduling_pages = models.BooleanField(default=True)
    task_sync = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    reconnect_notified_at = models.DateTimeField(null=True, blank=True)
    # A sync holds this lease (scheduler.leases); a worker that dies mid-sync loses it when
    # it runs out. A sync asked for after the running one started runs when that one ends.
    sync_lease_owner = models.CharField(max_length=64, blank=True, default="")
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    sync_started_at = models.DateTimeField(null=True, blank=True)
    sync_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            # One connection per user; legacy accounts may hold one per legacy slot.
            models.UniqueConstraint(
                fields=["user"], condition=Q(legacy_slot=""), name="one_connection_per_user"
            ),
            models.UniqueConstraint(
                fields=["user", "legacy_slot"],
                condition=~Q(legacy_slot=""),
                name="one_connection_per_legacy_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} · {self.account_email}"

    @property
    def credentials(self) -> dict:
        return json.loads(self.credentials_json or "{}")

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_json = json.dumps(value)

    @property
    def needs_reconnect(self) -> bool:
        return self.status == self.Status.RECONNECT_REQUIRED


class Calendar(models.Model):
    """One remote calendar visible to a connection."""

    class AccessLevel(models.TextChoices):
        OWNER = Access.OWNER, "Owner"
        WRITER = Access.WRITER, "Can edit"
        READER = Access.READER, "Can see all details"
        FREE_BUSY = Access.FREE_BUSY, "Free/busy only"

    connection = models.ForeignKey(
        CalendarConnection, on_delete=models.CASCADE, related_name="calendars"
    )
    remote_id = models.CharField(max_length=1024)
    name = models.CharField(max_length=255)
    access = models.CharField(max_length=20, choices=AccessLevel.choices)
    is_primary = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="False once the connected account lost access to it."
    )
    for_availability = models.BooleanField(default=False)
    is_task_calendar = models.BooleanField(default=False)
    sync_token = models.TextField(blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Windowed sync states (Graph delta) keep the window they started with: a periodic full
    # sync re-anchors it as time moves on.
    full_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Push channel (Google watch channel / Graph subscription) while one is open.
    channel_id = models.CharField(max_length=255, blank=True, default="")
    channel_resource_id = models.CharField(max_length=1024, blank=True, default="")
    # Only a keyed hash of the channel's secret is kept (calendars.push.token_digest): a
    # database dump cannot be used to forge push notifications.
    channel_token_hash = models.CharField(max_length=128, blank=True, default="")
    channel_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="calendar_remote_unique"
            ),
        ]
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def fully_readable(self) -> bool:
        return self.access in Access.FULL_READ

    @staticmethod
    def fully_readable_levels() -> list[str]:
        return sorted(Access.FULL_READ)

    def watch_channel(self) -> WatchChannel:
        return WatchChannel(self.channel_id, self.channel_resource_id, self.channel_expires_at)


class Event(models.Model):
    """The mirror of a remote event: only what availability and CRM sync need."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    remote_id = models.CharField(max_length=1024)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    busy = models.BooleanField(default=True)
    title = models.CharField(max_length=1024, blank=True)
    attendees = models.JSONField(default=list, blank=True)  # lower-case email addresses
    organizer = models.CharField(max_length=254, blank=True)
    recurring_event_id = models.CharField(max_length=1024, blank=True)
    app_key = models.CharField(max_length=64, blank=True, db_index=True)
    synced_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "remote_id"], name="event_remote_unique"),
        ]
        indexes = [
            # Availability reads busy events of a few calendars overlapping a window.
            models.Index(
                fields=["calendar", "end", "start"],
                condition=Q(busy=True),
                name="event_busy_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title or '(busy)'} {self.start:%Y-%m-%d %H:%M}"


class CalendarWrite(models.Model):
    """One write to a provider calendar, queued in the same transaction as the change that
    needs it (the outbox). A worker sends it after commit; a sweeper retries what is due.
    `key` is the event's idempotency key: retries never create a second event."""

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(
        CalendarConnection, on_delete=models.CASCADE, related_name="writes"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="writes")
    action = models.CharField(max_length=10, choices=Action.choices)
    key = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    remote_event_id = models.CharField(max_length=1024, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=dj_timezone.now)
    last_error = models.TextField(blank=True)
    ref = models.CharField(
        max_length=100, blank=True, help_text="What asked for it, e.g. crm.meeting:12"
    )
    # The worker sending it holds this lease (scheduler.leases), never a row lock.
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="write_due"
            ),
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.key} ({self.state})"


class BusyDay(models.Model):
    """A user's busy time on one UTC day, merged across their availability calendars ahead of
    time (calendars.busy): what scheduling pages read instead of the events. Kept up to date in
    the same transaction as every change of the mirror it is made from."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="busy_days"
    )
    day = models.DateField()
    # Merged, sorted intervals clipped to the day: array('q') of start, end, start, end...
    # in POSIX microseconds.
    blocks = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="busy_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
