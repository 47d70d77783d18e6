"""What the widget and the inbox receive about messages, as JSON. Bodies stay plain text:
the browser side puts them in the page with textContent, never as markup."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chat.models import ChatProfile, Message
from meetings import urlrules
from meetings.models import Booking


def sender_name(message: Message) -> str:
    if message.sender is None:
        return "Team"
    try:
        return message.sender.chat_profile.name
    except ChatProfile.DoesNotExist:
        return message.sender.display_name


def message_json(message: Message, *, for_visitor: bool = False) -> dict:
    """A message; `for_visitor` adds what only the visitor gets (their booking's manage
    link, the same one their confirmation email carries)."""
    data = {
        "id": message.pk,
        "author": message.author,
        "body": message.body,
        "at": message.created_at.isoformat(),
    }
    if message.author == Message.Author.TEAM:
        data["name"] = sender_name(message)
    if message.booking is not None:
        data["booking"] = booking_json(message.booking)
        if for_visitor:
            data["booking"]["manage_url"] = urlrules.manage_url(message.booking)
    return data


def booking_json(booking: Booking) -> dict:
    """A booking as the `meeting-booked` message describes it: times in the visitor's zone."""
    zone = ZoneInfo(booking.timezone)
    return {
        "start": booking.start.astimezone(zone).isoformat(),
        "end": booking.end.astimezone(zone).isoformat(),
        "page": booking.page.slug,
        "status": booking.status,
    }
