from allauth.account.signals import password_reset
from django.dispatch import receiver

from scheduler.users import mark_emails_verified


@receiver(password_reset)
def verify_email_on_password_reset(sender, request, user, **kwargs):
    mark_emails_verified(user)
