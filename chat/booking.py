"""Booking from the chat.

"Book a meeting" in the widget asks for a booking link: a signed, expiring token naming the
visitor's conversation and the chat's scheduling page. The link opens that page (inside the
widget, or in a new tab on small screens, where the widget's storage is out of reach) and
books through `meetings.booking.book` with source "chat"; the conversation then shows the
booking. The token is the only credential the booking page needs, so it works the same in
the widget's frame and in a tab of its own.
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from chat import services
from chat.models import ChatWidget, Conversation
from meetings import booking as booking_service
from meetings.models import Booking, SchedulingPage

SALT = "chat.booking-link"
LINK_MAX_AGE = 24 * 3600  # seconds


def booking_link(widget: ChatWidget, conversation: Conversation, page: SchedulingPage) -> str:
    token = signing.dumps({"c": conversation.pk, "p": page.pk}, salt=f"{SALT}:{widget.key}")
    return reverse("chat_widget:book", args=[widget.key, token])


def read_link(widget: ChatWidget, token: str) -> tuple[Conversation, SchedulingPage] | None:
    """The conversation and page of a valid, unexpired link of this widget; None otherwise."""
    try:
        data = signing.loads(token, salt=f"{SALT}:{widget.key}", max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    conversation = Conversation.objects.filter(
        pk=data.get("c"), account_id=widget.account_id
    ).first()
    page = (
        SchedulingPage.objects.select_related("owner", "account")
        .filter(pk=data.get("p"), account_id=widget.account_id)
        .first()
    )
    if conversation is None or page is None:
        return None
    return conversation, page


def book(conversation: Conversation, page: SchedulingPage, form) -> Booking:
    """Book from a valid BookingForm; raises meetings.booking.BookingError like `book`."""
    data = form.cleaned_data
    booking = booking_service.book(
        page, data["start"], data["duration"], form.visitor(), source=Booking.Source.CHAT
    )
    services.record_booking(conversation, booking)
    return booking
