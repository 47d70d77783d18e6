import secrets
import zoneinfo

import idna
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone


class Tier(models.TextChoices):
    FREE = "free", "Free"
    STARTER = "starter", "Starter"
    PROFESSIONAL = "professional", "Professional"
    ENTERPRISE = "enterprise", "Enterprise"


TIER_ORDER = [Tier.FREE, Tier.STARTER, Tier.PROFESSIONAL, Tier.ENTERPRISE]


class Account(models.Model):
    """A tenant: a company using the product. Every piece of data belongs to one."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=dj_timezone.now)
    sales_tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    service_tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    embed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Websites (origins such as https://www.example.com) allowed to embed the "
        "chat widget and scheduling pages; see scheduler.origins.",
    )

    def __str__(self) -> str:
        return self.name


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        if "account" not in extra and "account_id" not in extra:
            extra["account"] = Account.objects.create(name=email.split("@")[-1])
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("role", User.Role.ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A signed-in person. Email is the login; every user belongs to exactly one account."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    class Seat(models.TextChoices):
        NONE = "none", "No paid seat"
        SALES = "sales", "Sales Hub seat"
        SERVICE = "service", "Service Hub seat"

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    personal_email_access = models.BooleanField(
        default=False,
        help_text="Granted by an account admin; needed to connect a calendar or inbox.",
    )
    seat = models.CharField(max_length=10, choices=Seat.choices, default=Seat.NONE)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        # Stored lower-case so that logins and invitations match whatever case is typed.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_account_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


def new_verification_token() -> str:
    return secrets.token_hex(16)


class Domain(models.Model):
    """A custom domain of an account, managed in Settings > Domains.

    `verified` means "connected": scheduling pages are served on it and links point at it.
    It turns on when the DNS records check out, and stays on while a check fails for less
    than the grace period (scheduler.domains.GRACE_PERIOD), so a DNS hiccup never breaks
    every meeting link at once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending verification"
        VERIFIED = "verified", "Verified"
        FAILING = "failing", "Failing"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, help_text="ASCII (IDNA) form, lower-case.")
    verified = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    hide_meetings_from_search = models.BooleanField(
        default=True, help_text="robots.txt on this domain carries Disallow: /meetings*"
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    problems = models.JSONField(
        default=list, blank=True, help_text="What the last check found missing or wrong."
    )
    failure_notified = models.BooleanField(
        default=False, help_text="The admins were emailed about the current failure."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("hostname"), name="domain_hostname_ci_unique"),
        ]
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @property
    def display_name(self) -> str:
        """The hostname as people write it (Unicode for an internationalised name)."""
        try:
            return idna.decode(self.hostname)
        except idna.IDNAError:
            return self.hostname


class OutgoingEmail(models.Model):
    """An email queued in the transaction of the change it reports, sent by a worker after
    commit, one email per task, retried with backoff until it goes out (scheduler.mail)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed (rate limit)"

    to = models.EmailField(max_length=254)
    reply_to = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    attachments = models.JSONField(default=list, blank=True)  # [{name, content, mimetype}]
    kind = models.CharField(max_length=50, blank=True, help_text="e.g. booking.confirmed")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=dj_timezone.now)
    last_error = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(state="pending"), name="email_due"
            ),
            models.Index(fields=["to", "kind", "created_at"], name="email_recipient_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to} ({self.state})"
