"""Video meetings created with calendar events (Google Meet, Microsoft Teams).

Upper layers ask here, never a provider: whether a connection's provider can create a kind
of conference, and what became of the one requested with an event the outbox created. The
provider is called with no lock and no transaction open (DESIGN: none across an HTTP call).
"""

from __future__ import annotations

import logging

from calendars import connections
from calendars.models import CalendarConnection, CalendarWrite
from calendars.providers import provider_class
from calendars.providers.base import Conference, ProviderError, ReconnectRequired

logger = logging.getLogger(__name__)

__all__ = ["Conference", "conference_for", "supports"]


def supports(connection: CalendarConnection | None, kind: str) -> bool:
    """Whether events written through `connection` can carry a `kind` video meeting."""
    if connection is None or not kind:
        return False
    return kind in provider_class(connection.provider).conference_kinds


def conference_for(user_id: int, key: str) -> Conference | None:
    """The conference of the event the outbox created for `key` in the user's calendar:
    None while the create has not reached the provider (or the provider could not be asked
    just now: try again later); failed when the create failed for good."""
    write = (
        CalendarWrite.objects.select_related("connection", "calendar")
        .filter(key=key, action=CalendarWrite.Action.CREATE, connection__user_id=user_id)
        .order_by("-pk")
        .first()
    )
    if write is None or write.state == CalendarWrite.State.FAILED:
        return Conference("failed")
    if write.state != CalendarWrite.State.DONE or not write.remote_event_id:
        return None
    client = connections.provider_for(write.connection)
    try:
        return client.conference(write.calendar.remote_id, write.remote_event_id)
    except ProviderError as exc:
        if exc.permanent and not isinstance(exc, ReconnectRequired):
            logger.warning("conference could not be read", extra={"write": write.pk})
            return Conference("failed")
        return None
