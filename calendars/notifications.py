"""Emails `calendars` sends to the people whose calendars it syncs (through the mail outbox,
so a mail server outage never fails a sync or a booking)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from calendars.models import CalendarConnection
from scheduler import mail


def queue_reconnect_email(connection_id: int) -> None:
    """Tell the user their calendar needs reconnecting (sent once per broken grant: the
    caller decides, see `connections.mark_reconnect_required`)."""
    connection = CalendarConnection.objects.select_related("user").get(pk=connection_id)
    context = {
        "connection": connection,
        "url": settings.APP_BASE_URL + reverse("settings:calendar"),
    }
    mail.queue(
        connection.user.email,
        f"Reconnect your {connection.get_provider_display()} calendar",
        render_to_string("calendars/email/reconnect.txt", context),
        kind="calendar.reconnect",
    )
