import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone as dj_timezone

from crm.models import Contact
from meetings.models import Booking, SchedulingPage
from scheduler.models import Account

MAX_MESSAGE_LENGTH = 2000
DEFAULT_WELCOME = "Hi! How can we help?"


def new_widget_key() -> str:
    """A public but unguessable key: it is in the snippet on the account's website."""
    return secrets.token_urlsafe(18)


class ChatProfile(models.Model):
    """Who the chat window shows for this user, and optionally a link to book a meeting."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_profile"
    )
    include_meeting_link = models.BooleanField(default=False)
    meeting_page = models.ForeignKey(
        SchedulingPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    display_name = models.CharField(
        max_length=100, blank=True, help_text="Shown in the chat window; your name when empty."
    )
    welcome_message = models.CharField(
        max_length=300, blank=True, help_text=f"The first line visitors read. “{DEFAULT_WELCOME}”"
    )
    photo_url = models.URLField(
        max_length=500,
        blank=True,
        validators=[
            URLValidator(schemes=["https"], message="Enter an https:// address.", code="https")
        ],
        help_text="An https:// address of a square picture; your initials when empty.",
    )

    def __str__(self) -> str:
        return f"Chat profile of {self.user}"

    @property
    def name(self) -> str:
        return self.display_name or self.user.display_name

    @property
    def greeting(self) -> str:
        return self.welcome_message or DEFAULT_WELCOME

    @property
    def initials(self) -> str:
        words = [word for word in self.name.replace("@", " ").split() if word[:1].isalnum()]
        if len(words) > 1:
            words = [words[0], words[-1]]
        return "".join(word[0] for word in words).upper() or "?"

    @property
    def booking_page(self) -> SchedulingPage | None:
        """The page the chat links to, when the meeting link is on."""
        return self.meeting_page if self.include_meeting_link else None


class ChatWidget(models.Model):
    """An account's chat widget: the public key its snippet carries, and who answers."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="chat_widget")
    key = models.CharField(max_length=64, unique=True, default=new_widget_key)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose chat profile the widget shows; new conversations are theirs.",
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    def __str__(self) -> str:
        return f"Chat widget of {self.account}"


class Conversation(models.Model):
    """One website visitor's chat with an account. The visitor is known only by a random id
    their browser keeps (stored here as a SHA-256 digest) and, once given, an email."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversations")
    visitor_hash = models.CharField(max_length=64)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.EmailField(blank=True)
    origin = models.CharField(
        max_length=300, blank=True, help_text="The website the chat was started on."
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_message_at = models.DateTimeField(default=dj_timezone.now)
    last_message_preview = models.CharField(max_length=200, blank=True)
    # Read markers: the id of the last message each side has seen.
    team_read_upto = models.BigIntegerField(default=0)
    visitor_read_upto = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "visitor_hash"], name="conversation_visitor_unique"
            ),
        ]
        indexes = [models.Index(fields=["account", "-last_message_at"], name="conversation_recent")]
        ordering = ["-last_message_at", "-pk"]

    def __str__(self) -> str:
        return f"Conversation {self.pk} with {self.visitor_label}"

    @property
    def visitor_label(self) -> str:
        return self.visitor_name or self.visitor_email or f"Visitor {self.pk}"


class Message(models.Model):
    """A line of a conversation, stored as the plain text that was typed."""

    class Author(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        TEAM = "team", "Team"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.CharField(max_length=10, choices=Author.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team member who replied.",
    )
    body = models.TextField(max_length=MAX_MESSAGE_LENGTH)
    booking = models.ForeignKey(
        Booking,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_messages",
        help_text="A booking made from the chat.",
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_in_conversation")]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:40]}"
