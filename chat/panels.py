"""The contact record's "Chat conversations" panel (crm.record; registered by ChatConfig)."""

from __future__ import annotations

from django.db.models import Count, Q

from chat.models import Conversation, Message

SHOWN = 20


class ConversationsPanel:
    key = "chat-conversations"
    order = 10
    template = "chat/contact_panel.html"

    def context(self, contact, user) -> dict | None:
        conversations = list(
            Conversation.objects.filter(contact=contact, account_id=contact.account_id)
            .annotate(
                message_count=Count("messages"),
                booking_count=Count("messages", filter=Q(messages__booking__isnull=False)),
            )
            .order_by("-last_message_at")[:SHOWN]
        )
        if not conversations:
            return None
        bookings = (
            Message.objects.filter(conversation__in=conversations, booking__isnull=False)
            .select_related("booking__page")
            .order_by("pk")
        )
        return {"conversations": conversations, "chat_bookings": [m.booking for m in bookings]}
