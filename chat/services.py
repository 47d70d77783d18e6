"""Conversations between website visitors and an account's team.

Views parse and delegate here. Every message is stored as the plain text that was typed and
escaped wherever it is shown (Django templates, `textContent` in the widget, plain-text
email); nothing is ever rendered as markup.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet

from chat import notifications, visitors
from chat.models import ChatProfile, ChatWidget, Conversation, Message
from crm import services as crm
from crm.models import Contact
from meetings.models import Booking
from scheduler.models import Account, User

PREVIEW_LENGTH = 140
PAGE_SIZE = 200  # messages per answer: a conversation longer than this is read in pages


# --- Widgets ----------------------------------------------------------------------------


def widget_for(account: Account) -> ChatWidget:
    """The account's widget, created on first use and answered by its first admin."""
    widget = ChatWidget.objects.filter(account=account).first()
    if widget is not None:
        return widget
    owner = account.users.filter(role=User.Role.ADMIN).order_by("pk").first()
    try:
        with transaction.atomic():
            return ChatWidget.objects.create(account=account, owner=owner)
    except IntegrityError:  # created meanwhile by another request
        return ChatWidget.objects.get(account=account)


def find_widget(key: str) -> ChatWidget | None:
    return ChatWidget.objects.select_related("account", "owner").filter(key=key).first()


def profile_of(user: User | None) -> ChatProfile | None:
    if user is None:
        return None
    return ChatProfile.objects.select_related("user", "meeting_page").filter(
        user=user
    ).first() or ChatProfile(user=user)


# --- Conversations ----------------------------------------------------------------------


def find_conversation(widget: ChatWidget, visitor_id: str | None) -> Conversation | None:
    """The visitor's conversation with this widget's account; None for an unknown id (or
    one that belongs to another account: ids are scoped by the account)."""
    if not visitor_id:
        return None
    return Conversation.objects.filter(
        account_id=widget.account_id, visitor_hash=visitors.digest(visitor_id)
    ).first()


def start_conversation(widget: ChatWidget, origin: str = "") -> tuple[Conversation, str]:
    """A new conversation and the new visitor id that opens it."""
    visitor_id = visitors.new_visitor_id()
    conversation = Conversation.objects.create(
        account_id=widget.account_id,
        visitor_hash=visitors.digest(visitor_id),
        assignee=widget.owner,
        origin=origin[:300],
    )
    return conversation, visitor_id


def conversation_for(
    widget: ChatWidget, visitor_id: str | None, origin: str = ""
) -> tuple[Conversation, str]:
    """The visitor's conversation, started (with a new id) when the id is unknown."""
    conversation = find_conversation(widget, visitor_id)
    if conversation is not None:
        return conversation, visitor_id
    return start_conversation(widget, origin)


def messages_after(conversation: Conversation, after: int = 0) -> list[Message]:
    return list(
        conversation.messages.filter(pk__gt=after)
        .select_related("sender__chat_profile", "booking__page")
        .order_by("pk")[:PAGE_SIZE]
    )


def _append(conversation: Conversation, message: Message) -> Message:
    """Store a message and move the conversation's summary along (call in a transaction)."""
    message.conversation = conversation
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=message.created_at,
        last_message_preview=" ".join(message.body.split())[:PREVIEW_LENGTH],
    )
    conversation.last_message_at = message.created_at
    return message


@transaction.atomic
def post_visitor_message(conversation: Conversation, body: str) -> Message:
    """The visitor writes. The assignee is emailed when this makes the conversation unread
    (one email until they read it, not one per line)."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    was_unread = conversation.messages.filter(
        author=Message.Author.VISITOR, pk__gt=conversation.team_read_upto
    ).exists()
    message = _append(conversation, Message(author=Message.Author.VISITOR, body=body))
    if not was_unread:
        notifications.queue_new_message(conversation, message)
    return message


@transaction.atomic
def post_reply(conversation: Conversation, sender: User, body: str) -> Message:
    """A team member replies; everything up to the reply counts as read by the team."""
    if sender.account_id != conversation.account_id:
        raise ValueError("Only the account's team can reply.")
    message = _append(conversation, Message(author=Message.Author.TEAM, sender=sender, body=body))
    mark_read_by_team(conversation, message.pk)
    return message


def mark_read_by_team(conversation: Conversation, upto: int) -> None:
    Conversation.objects.filter(pk=conversation.pk, team_read_upto__lt=upto).update(
        team_read_upto=upto
    )


def mark_read_by_visitor(conversation: Conversation, upto: int) -> None:
    Conversation.objects.filter(pk=conversation.pk, visitor_read_upto__lt=upto).update(
        visitor_read_upto=upto
    )


def inbox(account: Account) -> QuerySet[Conversation]:
    """The account's conversations, latest first, each with its count of unread messages."""
    unread = Count(
        "messages",
        filter=Q(messages__author=Message.Author.VISITOR, messages__pk__gt=F("team_read_upto")),
    )
    return (
        Conversation.objects.filter(account=account)
        .annotate(unread=unread)
        .select_related("contact", "assignee")
        .order_by("-last_message_at", "-pk")
    )


# --- Visitors become contacts -----------------------------------------------------------


@transaction.atomic
def identify_visitor(conversation: Conversation, *, email: str, name: str = "") -> Contact:
    """The visitor gave their email: link the conversation to the account's contact with
    that address, created if needed. An existing contact is never renamed by what a visitor
    types (`fill_only`): only its empty fields are filled."""
    first_name, _, last_name = name.strip().partition(" ")
    account = Account.objects.get(pk=conversation.account_id)
    contact = crm.upsert_contact(
        account,
        email=email,
        first_name=first_name,
        last_name=last_name.strip(),
        owner=conversation.assignee,
        fill_only=True,
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        contact=contact, visitor_email=email, visitor_name=name.strip()[:200]
    )
    conversation.contact, conversation.visitor_email = contact, email
    conversation.visitor_name = name.strip()[:200]
    return contact


# --- Bookings from the chat -------------------------------------------------------------


def booking_text(booking: Booking) -> str:
    """How the conversation shows a booking: the time in the visitor's own time zone (the
    booking form validated it)."""
    zone = ZoneInfo(booking.timezone)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    verb = "Meeting requested" if booking.is_request else "Meeting booked"
    when = f"{start:%A} {start.day} {start:%B %Y, %H:%M}-{end:%H:%M} ({booking.timezone})"
    return f"{verb}: {booking.page.name}, {when}"


@transaction.atomic
def record_booking(conversation: Conversation, booking: Booking) -> Message:
    """A booking made from the chat: the conversation shows it (and links to it), and the
    visitor is linked to the contact the booking created or updated."""
    contact = crm.find_contact(booking.page.account, booking.email)
    updates = {}
    if contact is not None and conversation.contact_id is None:
        updates["contact"] = conversation.contact = contact
    if not conversation.visitor_email:
        updates["visitor_email"] = conversation.visitor_email = booking.email
        name = f"{booking.first_name} {booking.last_name}".strip()
        updates["visitor_name"] = conversation.visitor_name = name[:200]
    if updates:
        Conversation.objects.filter(pk=conversation.pk).update(**updates)
    return _append(
        conversation,
        Message(author=Message.Author.SYSTEM, body=booking_text(booking), booking=booking),
    )


def set_owner(widget: ChatWidget, owner: User) -> None:
    if owner.account_id != widget.account_id:
        raise ValueError("The owner must be a member of the account.")
    widget.owner = owner
    widget.save(update_fields=["owner"])
