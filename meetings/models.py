from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
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


class LivePages(models.Manager):
    """Pages that exist for everyone: a deleted page stays in the database only for the
    bookings made on it (their manage links, reminders and history keep working)."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class SchedulingPage(models.Model):
    """A page contacts book from, published at /meetings/<slug> on every domain."""

    class Kind(models.TextChoices):
        ONE_ON_ONE = "one_on_one", "One-on-one"
        GROUP = "group", "Group (everyone attends)"
        ROUND_ROBIN = "round_robin", "Round robin (one of the team)"

    class HoursSource(models.TextChoices):
        PAGE = "page", "The page's hours, the same for every host"
        MEMBERS = "members", "Each host's own working hours and time zone"

    class Routing(models.TextChoices):
        AVAILABILITY = "availability", "Optimise for availability"
        EQUAL = "equal", "Optimise for equal distribution"

    class Conferencing(models.TextChoices):
        NONE = "", "No video link"
        FIXED = "fixed", "A fixed video link"
        GOOGLE_MEET = "google_meet", "Google Meet (created in the host's Google calendar)"
        TEAMS = "teams", "Microsoft Teams (created in the host's Microsoft 365 calendar)"

    class CancelReason(models.TextChoices):
        OFF = "off", "Not asked"
        OPTIONAL = "optional", "Asked, optional"
        REQUIRED = "required", "Required"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scheduling_pages")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduling_pages"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        through="PageMember",
        through_fields=("page", "user"),
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
    # Team pages: whose hours count, and how round robin picks its host.
    hours_source = models.CharField(
        max_length=10, choices=HoursSource.choices, default=HoursSource.PAGE
    )
    routing = models.CharField(max_length=20, choices=Routing.choices, default=Routing.AVAILABILITY)
    conferencing = models.CharField(
        max_length=20, choices=Conferencing.choices, default=Conferencing.NONE, blank=True
    )
    # Up to three reminders: [{"amount": 1, "unit": "days"}, ...] (see meetings.reminders).
    reminders = models.JSONField(default=list, blank=True)
    cancel_notice = models.PositiveIntegerField(
        default=0,
        help_text="Minutes before the meeting after which contacts can no longer cancel online.",
        validators=[MaxValueValidator(60 * 24 * 60)],
    )
    reschedule_notice = models.PositiveIntegerField(
        default=0,
        help_text="Minutes before the meeting after which contacts can no longer reschedule.",
        validators=[MaxValueValidator(60 * 24 * 60)],
    )
    cancel_reason = models.CharField(
        max_length=10, choices=CancelReason.choices, default=CancelReason.OPTIONAL
    )
    is_active = models.BooleanField(
        default=True, help_text="Off: the page answers “not available”; nothing is deleted."
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    objects = LivePages()
    all_objects = models.Manager()  # noqa: DJ012 (a manager, not a field)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("slug"), condition=Q(deleted_at__isnull=True), name="page_slug_ci_unique"
            )
        ]
        ordering = ["name"]
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return self.name

    def host_ids(self) -> list[int]:
        return sorted({self.owner_id, *self.members.values_list("pk", flat=True)})

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def uses_member_hours(self) -> bool:
        return self.kind != self.Kind.ONE_ON_ONE and self.hours_source == self.HoursSource.MEMBERS

    @property
    def creates_conference(self) -> bool:
        return self.conferencing in (self.Conferencing.GOOGLE_MEET, self.Conferencing.TEAMS)

    @property
    def conference_label(self) -> str:
        """What contacts see the video meeting called."""
        names = {self.Conferencing.GOOGLE_MEET: "Google Meet", self.Conferencing.TEAMS: "Teams"}
        return names.get(self.conferencing, "video call")

    @property
    def fixed_video_link(self) -> str:
        return self.video_link if self.conferencing == self.Conferencing.FIXED else ""


class PageMember(models.Model):
    """A host of a team page. Round robin reads `weight` (a member with weight 2 gets twice
    the bookings of one with weight 1), `in_rotation` (off: never picked, their time not
    offered) and `joined_at` (fairness counts only what happened since they joined)."""

    page = models.ForeignKey(SchedulingPage, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="page_memberships"
    )
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    in_rotation = models.BooleanField(default=True)
    joined_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "user"], name="page_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.page_id}"


class WorkingHours(models.Model):
    """A user's own working hours (Settings > General > Working hours): weekly wall-clock
    intervals in their time zone, and date overrides (a day off, a vacation, other hours).
    Team pages set to use each host's own hours read these; without a row a user works
    Monday to Friday, 09:00-17:00, in their profile's time zone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(default=default_weekly_hours)
    date_overrides = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Working hours of {self.user_id}"


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
    cancel_reason = models.TextField(blank=True, max_length=2000)
    # Round robin: the members who were free when it was routed (fairness credits them).
    routed_among = models.JSONField(default=list, blank=True)
    # A video meeting the host's calendar creates (Google Meet, Teams): known once the
    # calendar write reached the provider (meetings.conferencing).
    conference_url = models.URLField(max_length=1000, blank=True)
    conference_status = models.CharField(max_length=10, blank=True)  # pending|ready|failed

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

    @property
    def video_url(self) -> str:
        """Where to join: the conference the calendar created, else the page's fixed link."""
        return self.conference_url or self.page.fixed_video_link


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


class PlannedEmail(models.Model):
    """An email to a contact that must go out at a given time, exactly once: a reminder
    before the meeting, or a confirmation held back (briefly) until the video link is known.

    `meetings.reminders` plans the rows in the booking's transaction and a periodic task
    sends what is due, claiming each row with a lease (scheduler.leases) and queueing the
    email through the mail outbox in the same transaction that marks the row sent. A moved
    booking's planned rows are cancelled and planned again; `booking_start` is the start a
    row was planned for, so a row can never fire for a time the meeting no longer has.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        CONFIRMATION = "confirmation", "Confirmation"

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="planned_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=50, blank=True)  # "1 day", "1 hour" (reminders)
    due_at = models.DateTimeField()
    booking_start = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey(
        "scheduler.OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="planned"),
                name="planned_email_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.label} for {self.booking_id} at {self.due_at:%Y-%m-%d %H:%M}"
