from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone

from scheduler.models import Account


class Contact(models.Model):
    """A person the account does business with; one per email address in an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Also the index every lookup by address uses (calendar sync, bookings).
            models.UniqueConstraint("account", Lower("email"), name="contact_email_ci_unique"),
        ]
        ordering = ["last_name", "first_name", "email"]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def name(self) -> str:
        return self.full_name or self.email


class Meeting(models.Model):
    """A meeting logged on contacts: booked, created in the CRM, or found in a calendar."""

    class Source(models.TextChoices):
        BOOKING = "booking", "Booking"
        CALENDAR_SYNC = "calendar_sync", "Calendar sync"
        CRM = "crm", "CRM"
        INTEGRATION = "integration", "Integration"
        CHAT = "chat", "Chat"  # booked from the chat widget

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"  # a meeting request the owner has not accepted
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="meetings")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_meetings"
    )
    contacts = models.ManyToManyField(Contact, related_name="meetings")
    title = models.CharField(max_length=255)
    start = models.DateTimeField()
    end = models.DateTimeField()
    description = models.TextField(blank=True)
    location = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CRM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    guest_emails = models.JSONField(default=list, blank=True)  # attendees who are not contacts
    # Where to join a video meeting (a fixed link, or one the calendar created).
    video_url = models.URLField(max_length=1000, blank=True)
    # What the contact answered when booking: [{"question": ..., "answer": ...}], in order.
    answers = models.JSONField(default=list, blank=True)
    calendar_event_key = models.CharField(
        max_length=64, blank=True, help_text="Idempotency key of the calendar write, once pushed."
    )
    calendar_remote_id = models.CharField(
        max_length=1024, blank=True, help_text="The provider's event id, once known."
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            # Not strictly after: a calendar may hold zero-length events.
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="meeting_ends"),
            # One meeting per calendar event of an owner: calendar sync stays idempotent.
            models.UniqueConstraint(
                fields=["owner", "calendar_remote_id"],
                condition=~Q(calendar_remote_id=""),
                name="meeting_remote_event_unique",
            ),
        ]
        ordering = ["-start"]

    def __str__(self) -> str:
        return f"{self.title} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def is_requested(self) -> bool:
        return self.status == self.Status.REQUESTED


class Task(models.Model):
    """A to-do of a user, optionally about a contact, optionally due at a moment."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_tasks"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    title = models.CharField(max_length=255)
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Task sync (SPEC §1.3) keys its calendar writes with this.
    calendar_event_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED


class EmailTemplate(models.Model):
    """A sales email a user writes once and sends to many contacts. Placeholders such as
    {{ contact.first_name }} or {{ meeting_link }} are filled in at send time
    (crm.placeholders; never rendered as a Django template)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="email_templates")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_templates"
    )
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    body = models.TextField(max_length=20000)
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SentEmail(models.Model):
    """An email sent to a contact from their record, as it was sent: it is on the contact's
    timeline even after its template changes or is deleted. Delivery is the mail outbox's
    (scheduler.mail): `outgoing` says whether it went out."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent"

    _DELIVERY = {"pending": Status.QUEUED, "sent": Status.SENT, "failed": Status.FAILED}

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sent_emails")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_emails"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="sent"
    )
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    outgoing = models.OneToOneField(
        "scheduler.OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"

    @property
    def status(self) -> str:
        state = self.outgoing.state if self.outgoing else "failed"
        return self._DELIVERY.get(state, self.Status.FAILED)

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def error(self) -> str:
        return self.outgoing.last_error if self.outgoing else ""

    @property
    def sent_at(self):
        return self.outgoing.sent_at if self.outgoing else None
