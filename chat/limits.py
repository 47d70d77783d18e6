"""Rate limits of the widget's posts (django-ratelimit on the shared cache): per visitor, per
client address, and for new conversations per address, so that one script can neither flood
a conversation nor open thousands of them."""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from chat import visitors
from scheduler.client_ip import client_ip


def limited(request, visitor_id: str | None, *, new_conversation: bool) -> bool:
    """Count one post against every budget it draws on; True when any is exhausted."""
    visitor_key = visitors.digest(visitor_id) if visitor_id else f"ip:{client_ip(request)}"
    checks = [
        ("chat.visitor", lambda group, request: visitor_key, settings.CHAT_VISITOR_RATE_LIMIT),
        ("chat.ip", "ip", settings.CHAT_IP_RATE_LIMIT),
    ]
    if new_conversation:
        checks.append(("chat.new", "ip", settings.CHAT_NEW_CONVERSATION_RATE_LIMIT))
    over = [
        is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
        for group, key, rate in checks
    ]
    return any(over)


def booking_limited(request) -> bool:
    """Bookings from the chat share the booking pages' budget per address."""
    return is_ratelimited(
        request,
        group="meetings.booking",
        key="ip",
        rate=settings.BOOKING_RATE_LIMIT,
        method="POST",
        increment=True,
    )
