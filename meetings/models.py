from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone

from scheduler.models import Account, Domain

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
slug_validator = RegexValidator(
    SLUG_PATTERN, "Use lower-case letters, digits and hyphens (not at the start or end)."
)


class SchedulingPage(models.Model):
    """A page contacts book from, published at /meetings/<slug> on every domain."""

    class Kind(models.TextChoices):
        ONE_ON_ONE = "one_on_one", "One-on-one"
        GROUP = "group", "Group"
        ROUND_ROBIN = "round_robin", "Round robin"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scheduling_pages")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduling_pages"
    )
    name = models.CharField(max_length=200)
    # Unique across every domain: custom.example/meetings/x and <app host>/meetings/x are
    # the same page (SPEC §1.7).
    slug = models.CharField(max_length=100, validators=[slug_validator])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ONE_ON_ONE)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("slug"), name="page_slug_ci_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
