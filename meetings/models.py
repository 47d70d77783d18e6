from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone

from scheduler.models import Account, Domain

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
slug_validator = RegexValidator(
    SLUG_PATTERN, "Use lower-case letters, digits and hyphens (not at the start or end)."
)


def default_weekly_hours() -> dict:
    """Monday to Friday, 09:00-17:00 (weekday 0 is Monday)."""
    return {str(day): [["09:00", "17:00"]] for day in range(5)}


def default_durations() -> list:
    return [30]


class SchedulingPage(models.Model):
    """A page contacts book from, published at /meetings/<slug> on every domain."""

    class Kind(models.TextChoices):
        ONE_ON_ONE = "one_on_one", "One-on-one"
        GROUP = "group", "Group (everyone attends)"
        ROUND_ROBIN = "round_robin", "Round robin (one of the team)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scheduling_pages")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduling_pages"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="team_scheduling_pages",
        help_text="Group and round robin pages: the people who host. The owner is always one.",
    )
    name = models.CharField(max_length=200)
    # Unique across every domain: custom.example/meetings/x and <app host>/meetings/x are
    # the same page (SPEC §1.7).
    slug = models.CharField(max_length=100, validators=[slug_validator])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ONE_ON_ONE)
    durations = models.JSONField(default=default_durations, help_text="Minutes offered.")
    location = models.CharField(max_length=500, blank=True)
    video_link = models.URLField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(default=default_weekly_hours)
    date_overrides = models.JSONField(default=dict, blank=True)
    buffer_before = models.PositiveIntegerField(
        default=0, help_text="Minutes.", validators=[MaxValueValidator(24 * 60)]
    )
    buffer_after = models.PositiveIntegerField(
        default=0, help_text="Minutes.", validators=[MaxValueValidator(24 * 60)]
    )
    min_notice = models.PositiveIntegerField(
        default=120, help_text="Minutes.", validators=[MaxValueValidator(365 * 24 * 60)]
    )
    max_advance_days = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    increment = models.PositiveIntegerField(
        default=30,
        help_text="Minutes between start times.",
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
    )
    daily_max = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    questions = models.JSONField(default=list, blank=True)
    confirmation_message = models.TextField(blank=True)
    allow_reschedule = models.BooleanField(default=True)
    allow_cancel = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("slug"), name="page_slug_ci_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def host_ids(self) -> list[int]:
        return sorted({self.owner_id, *self.members.values_list("pk", flat=True)})


class Booking(models.Model):
    """A contact's booking (or, in offline mode, meeting request) on a scheduling page.

    A request holds no time: the host accepts it (it becomes confirmed, with every check a
    booking gets), proposes another time (the contact accepts or withdraws), or declines it;
    unanswered, it expires."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        REQUESTED = "requested", "Requested"
        CANCELLED = "cancelled", "Cancelled"
        DECLINED = "declined", "Declined by the host"
        WITHDRAWN = "withdrawn", "Withdrawn by the contact"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        PAGE = "page", "Scheduling page"
        CHAT = "chat", "Chat"

    OPEN_STATUSES = (Status.CONFIRMED, Status.REQUESTED)

    page = models.ForeignKey(SchedulingPage, on_delete=models.PROTECT, related_name="bookings")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="hosted_bookings",
        help_text="Whose calendar the event goes to (the owner, or the round robin pick).",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices)
    source = models.CharField(
        max_length=20,
        choices=Source.choices,
        default=Source.PAGE,
        help_text="Where the contact booked from; the CRM meeting carries it too.",
    )
    email = models.EmailField()
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64)
    answers = models.JSONField(default=dict, blank=True)
    manage_token = models.CharField(max_length=64, unique=True)
    sequence = models.PositiveIntegerField(default=0, help_text="iTIP SEQUENCE of the invite.")
    calendar_event_key = models.CharField(max_length=64, blank=True)
    crm_meeting_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Meeting requests: the host's answer.
    expires_at = models.DateTimeField(null=True, blank=True)
    proposed_start = models.DateTimeField(null=True, blank=True)
    proposed_end = models.DateTimeField(null=True, blank=True)
    host_message = models.TextField(blank=True, max_length=2000)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["page", "start"]),
            models.Index(
                fields=["host", "expires_at"],
                condition=models.Q(status="requested"),
                name="booking_open_requests",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def is_request(self) -> bool:
        return self.status == self.Status.REQUESTED

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class HostReservation(models.Model):
    """A host's time held by a booking. PostgreSQL refuses two active reservations of one
    host that overlap (exclusion constraint `reservation_no_overlap`, added in migration
    0003 because Django's ExclusionConstraint cannot be skipped on SQLite): no double
    booking even if the code above it were wrong."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reservations")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["host", "end", "start"],
                condition=models.Q(active=True),
                name="reservation_active_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.host_id} {self.start:%Y-%m-%d %H:%M}"


class MeetingSettings(models.Model):
    """A user's scheduling-page preferences from Settings > General > Calendar."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_settings"
    )
    url_prefix = models.CharField(
        max_length=50,
        validators=[slug_validator],
        help_text="Used for the URL of every scheduling page you create from now on.",
    )
    default_page = models.ForeignKey(
        SchedulingPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL)
    pages_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("url_prefix"), name="url_prefix_ci_unique")]

    def __str__(self) -> str:
        return f"Meeting settings of {self.user}"
