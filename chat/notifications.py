"""Email to the team about chats. Plain text only: what a visitor typed is quoted as text and
can never become markup in a mail client."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from scheduler import mail
from scheduler.models import User

# A visitor (or a script) writing many conversations must not become a flood of mail.
TEAM_LIMIT = mail.Limit(count=30, within=timedelta(hours=1))


def _recipients(conversation) -> list[str]:
    if conversation.assignee is not None and conversation.assignee.is_active:
        return [conversation.assignee.email]
    admins = User.objects.filter(
        account_id=conversation.account_id, role=User.Role.ADMIN, is_active=True
    )
    return list(admins.values_list("email", flat=True))


def queue_new_message(conversation, message) -> None:
    """Tell the team a conversation has something new to read (sent after commit)."""
    link = settings.APP_BASE_URL + reverse("chat:conversation", args=[conversation.pk])
    label = conversation.visitor_label
    body = (
        f"{label} wrote in the chat on your website:\n\n"
        + "\n".join(f"> {line}" for line in message.body.splitlines())
        + f"\n\nRead and reply: {link}\n"
    )
    for address in _recipients(conversation):
        mail.queue(
            address,
            f"New chat message from {label}",
            body,
            kind="chat.message",
            limit=TEAM_LIMIT,
        )
