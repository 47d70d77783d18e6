"""Emails `calendars` sends to the people whose calendars it syncs."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from calendars.models import CalendarConnection


def send_reconnect_email(connection_id: int) -> None:
    connection = CalendarConnection.objects.select_related("user").get(pk=connection_id)
    context = {
        "connection": connection,
        "url": settings.APP_BASE_URL + reverse("settings:calendar"),
    }
    send_mail(
        subject=f"Reconnect your {connection.get_provider_display()} calendar",
        message=render_to_string("calendars/email/reconnect.txt", context),
        from_email=None,
        recipient_list=[connection.user.email],
    )
