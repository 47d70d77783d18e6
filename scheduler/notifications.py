"""Emails the core app sends to an account's admins."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from scheduler.domains import served_until
from scheduler.models import Domain, User


def send_domain_failing(domain_id: int) -> None:
    """Tell the admins a verified domain's DNS records stopped checking out (sent once per
    failure episode: scheduler.domains sets `failure_notified`)."""
    domain = Domain.objects.filter(pk=domain_id).select_related("account").first()
    if domain is None or domain.status != Domain.Status.FAILING:
        return  # removed, or fixed before the mail went out
    admins = domain.account.users.filter(role=User.Role.ADMIN, is_active=True)
    context = {
        "domain": domain,
        "served_until": served_until(domain),
        "settings_url": settings.APP_BASE_URL + reverse("settings:domains"),
    }
    send_mail(
        subject=f"{domain.display_name} stopped working for your scheduling pages",
        message=render_to_string("scheduler/email/domain_failing.txt", context),
        from_email=None,
        recipient_list=sorted(admins.values_list("email", flat=True)),
    )
