"""Push channels (Google watch channels, Graph subscriptions): opened for every mirrored
calendar, renewed before they expire. A notification only makes the connection due for a
sync at once; polling stays the backstop because push is not fully reliable."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from hmac import compare_digest

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from calendars.models import Calendar
from calendars.providers.base import CalendarProvider, ProviderError

logger = logging.getLogger(__name__)

CHANNEL_TTL = timedelta(days=2)  # Graph allows under 3 days for calendars; Google up to ~7
RENEW_BEFORE = timedelta(hours=12)


def webhook_address(provider: str) -> str:
    return settings.APP_BASE_URL + reverse("calendar_webhook", args=[provider])


def ensure_channel(client: CalendarProvider, calendar: Calendar) -> bool:
    """Open or renew the calendar's channel when needed; True when it (re)opened one.

    Failures are logged, not raised: without push the connection is still polled.
    """
    if not client.supports_push or not settings.CALENDAR_PUSH_ENABLED:
        return False
    now = timezone.now()
    if (
        calendar.channel_id
        and calendar.channel_expires_at
        and (calendar.channel_expires_at - now > RENEW_BEFORE)
    ):
        return False
    old = calendar.watch_channel() if calendar.channel_id else None
    try:
        channel = client.watch(
            calendar.remote_id,
            webhook_address(client.name),
            secrets.token_urlsafe(24),
            uuid.uuid4().hex,
            int(CHANNEL_TTL.total_seconds()),
        )
    except (ProviderError, NotImplementedError) as exc:
        logger.warning(
            "could not open a push channel", extra={"calendar": calendar.pk, "error": str(exc)}
        )
        return False
    calendar.channel_id, calendar.channel_resource_id = channel.id, channel.resource_id
    calendar.channel_token_hash = token_digest(channel.token)
    calendar.channel_expires_at = channel.expires_at
    calendar.save(
        update_fields=[
            "channel_id",
            "channel_resource_id",
            "channel_token_hash",
            "channel_expires_at",
        ]
    )
    if old is not None:
        stop_channel(client, old)
    return True


TOKEN_SALT = "calendars.push.channel-token"  # noqa: S105 - an HMAC salt, not a secret


def token_digest(token: str, secret: str | None = None) -> str:
    """The keyed hash stored in place of a channel's secret token."""
    return salted_hmac(TOKEN_SALT, token, secret=secret, algorithm="sha256").hexdigest()


def token_matches(calendar: Calendar, token: str) -> bool:
    """Does a notification's token belong to the calendar's channel? Constant time, and
    tokens hashed under a SECRET_KEY being rotated out (SECRET_KEY_FALLBACKS) still match."""
    if not calendar.channel_token_hash or not token:
        return False
    secrets_ = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        compare_digest(calendar.channel_token_hash, token_digest(token, secret))
        for secret in secrets_
    )


def stop_channel(client: CalendarProvider, channel) -> None:
    try:
        client.unwatch(channel)
    except (ProviderError, NotImplementedError) as exc:
        logger.info("could not stop a push channel", extra={"error": str(exc)})
