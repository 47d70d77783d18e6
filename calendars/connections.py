"""Services for connecting, refreshing and disconnecting a user's calendar account."""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calendars import busy
from calendars.models import Calendar, CalendarConnection
from calendars.providers import get_provider
from calendars.providers.base import CalendarProvider, ProviderError, RemoteCalendar
from calendars.signals import calendar_access_lost, connection_removed
from scheduler import availability_cache, plans
from scheduler.models import User

logger = logging.getLogger(__name__)

OAUTH_PROVIDERS = ("google", "microsoft")


def connect_gate(user: User) -> plans.Gate:
    """May this user connect (or reconnect) a calendar right now?"""
    gate = plans.connect_calendar(user)
    if not gate:
        return gate
    existing = user.calendar_connections.all()
    if existing and not any(c.needs_reconnect for c in existing):
        return plans.Gate(False, "Disconnect your current calendar before connecting another.")
    return plans.ALLOWED


def oauth_module(provider: str):
    if provider not in OAUTH_PROVIDERS:
        raise LookupError(provider)
    return import_module(f"calendars.providers.{provider}")


def provider_for(connection: CalendarConnection, timeout: float | None = None) -> CalendarProvider:
    """The provider client for a connection; refreshed credentials are stored at once.

    `timeout` bounds each provider call (seconds); the default is the background timeout.
    """

    def store(credentials: dict) -> None:
        connection.credentials = credentials
        connection.save(update_fields=["credentials_json"])

    return get_provider(connection.provider, connection.credentials, store, timeout=timeout)


def create_connection(user: User, provider_name: str, credentials: dict) -> CalendarConnection:
    """Read the account's identity and calendars, then store the connection.

    Provider calls happen before the transaction; nothing is saved if any of them fails.
    The caller queues the first full sync (`sync.queue_sync(connection.pk, full=True)`).
    """
    # The person is waiting on the connect page: every call gets the interactive timeout.
    client = get_provider(
        provider_name, credentials, timeout=settings.PROVIDER_INTERACTIVE_TIMEOUT_SECONDS
    )
    email = client.account_email()
    remote_calendars = client.list_calendars()
    credentials = client.credentials  # may have been refreshed while listing
    with transaction.atomic():
        # Lock the user so two tabs finishing the flow at once cannot both connect.
        User.objects.select_for_update().get(pk=user.pk)
        gate = connect_gate(user)
        if not gate:
            raise PermissionError(gate.reason)
        connection = _reconnecting(user, provider_name, email)
        if connection is None:
            connection = CalendarConnection(
                user=user,
                provider=provider_name,
                account_email=email.lower(),
                # Calendar sync and scheduling pages start on for OAuth providers (SPEC §1.2).
                calendar_sync=provider_name in OAUTH_PROVIDERS,
                scheduling_pages=True,
            )
        connection.credentials = credentials
        connection.status = CalendarConnection.Status.ACTIVE
        connection.last_error, connection.reconnect_notified_at = "", None
        connection.next_sync_at = timezone.now()
        connection.save()
        _store_calendars(connection, remote_calendars)
        availability_cache.bump([user.pk])
    return connection


def _reconnecting(user: User, provider_name: str, email: str) -> CalendarConnection | None:
    """The connection this flow repairs, if the user is reconnecting one."""
    broken = [c for c in user.calendar_connections.all() if c.needs_reconnect]
    for connection in broken:
        if connection.provider == provider_name and connection.account_email == email.lower():
            return connection
    if broken:
        raise PermissionError(
            f"Reconnect {broken[0].account_email}, or disconnect it before connecting another."
        )
    return None


def check_exchange(email: str, password: str, username: str, ews_url: str, version: str) -> dict:
    """Check Exchange credentials against the server before anything is saved.

    The user-supplied URL must be a public https address (no SSRF) unless
    EXCHANGE_ALLOW_PRIVATE_URLS; every failure is a typed provider error with its own message.
    """
    from calendars.providers.exchange import check_credentials

    return check_credentials(email, password, username, ews_url, version)


def _store_calendars(connection: CalendarConnection, remote: list[RemoteCalendar]) -> list:
    """Create or update the connection's calendars; ones no longer listed become inactive.

    Returns the calendars that just lost access. One transaction: the calendars and the busy
    store built from them change together (a crash between them would leave the store stale
    with nothing to notice it).
    """
    with transaction.atomic():
        counted = busy.availability_calendar_ids(connection.user_id)
        known = {c.remote_id: c for c in connection.calendars.all()}
        listed = {item.id for item in remote}
        changed = False
        for item in remote:
            calendar = known.get(item.id) or Calendar(
                connection=connection,
                remote_id=item.id,
                # The main calendar is always an availability calendar (SPEC §1.4).
                for_availability=item.primary,
            )
            changed |= calendar.pk is None or not calendar.is_active
            calendar.name, calendar.access = item.name, item.access
            calendar.timezone, calendar.is_primary = item.timezone, item.primary
            calendar.is_active = True
            calendar.save()
        lost = [c for c in known.values() if c.remote_id not in listed and c.is_active]
        for calendar in lost:
            calendar.is_active = False
            calendar.save(update_fields=["is_active"])
        if busy.availability_calendar_ids(connection.user_id) != counted:
            busy.refresh(connection.user_id)  # a calendar came back, went, or is new
        if changed or lost:  # a page blocked by an inactive calendar may take bookings again
            availability_cache.bump([connection.user_id])
    return lost


def lose_calendars(lost: list[Calendar]) -> None:
    """These calendars can no longer be read: mark them inactive and tell upper layers (a
    page with an inactive availability calendar stops taking bookings, SPEC §1.4)."""
    users = {calendar.connection.user_id for calendar in lost}
    with transaction.atomic():
        for calendar in lost:
            if calendar.is_active:
                calendar.is_active = False
                calendar.save(update_fields=["is_active"])
        for user_id in users:
            busy.refresh(user_id)
        availability_cache.bump(users)
    for calendar in lost:
        calendar_access_lost.send(sender=Calendar, calendar_id=calendar.pk)


def refresh_calendars(connection: CalendarConnection, client: CalendarProvider) -> list[Calendar]:
    """Bring the calendar list up to date; returns calendars that just lost access."""
    return _store_calendars(connection, client.list_calendars())


def disconnect(connection: CalendarConnection) -> None:
    """Stop push channels, drop the mirrored data and forget the credentials.

    Provider-side clean-up is best effort: a revoked grant must not keep a user connected.
    """
    client = provider_for(connection, timeout=settings.PROVIDER_INTERACTIVE_TIMEOUT_SECONDS)
    for calendar in connection.calendars.exclude(channel_id=""):
        try:
            client.unwatch(calendar.watch_channel())
        except (ProviderError, NotImplementedError) as exc:
            logger.info("unwatch failed during disconnect", extra={"error": str(exc)})
    try:
        client.revoke()
    except ProviderError as exc:
        logger.info("revoke failed during disconnect", extra={"error": str(exc)})
    user_id, connection_id = connection.user_id, connection.pk
    with transaction.atomic():
        availability_cache.bump([user_id])
        connection.delete()
        busy.refresh(user_id)
        connection_removed.send(
            sender=CalendarConnection, user_id=user_id, connection_id=connection_id
        )


def mark_reconnect_required(connection: CalendarConnection, reason: str) -> bool:
    """Flag the connection; returns True the first time (the caller emails the user once).

    The user's pages switch to taking requests at once (their cached slots carry the mode)."""
    now = timezone.now()
    connection.status = CalendarConnection.Status.RECONNECT_REQUIRED
    updated = CalendarConnection.objects.filter(
        pk=connection.pk, reconnect_notified_at__isnull=True
    ).update(
        status=CalendarConnection.Status.RECONNECT_REQUIRED,
        last_error=reason,
        last_error_at=now,
        reconnect_notified_at=now,
    )
    if not updated:
        CalendarConnection.objects.filter(pk=connection.pk).update(
            status=CalendarConnection.Status.RECONNECT_REQUIRED,
            last_error=reason,
            last_error_at=now,
        )
    # After the change: a slot list computed before it must not be cached as current.
    availability_cache.bump([connection.user_id])
    return bool(updated)
