"""`python manage.py create_admin --email you@example.com`: the first admin of a new install.

Creates the account and its admin (also Django staff, for /admin/) without a password and
prints a one-time link to choose one, so no password ever passes through a shell history.
Run again for the same address, it prints a fresh link.
"""

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from scheduler.models import Account, Tier, User


class Command(BaseCommand):
    help = "Create the first admin and print a one-time link to set their password."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="", help="the admin's full name")
        parser.add_argument("--company", default="", help="the account's name")
        parser.add_argument(
            "--tier",
            default=Tier.ENTERPRISE,
            choices=[tier.value for tier in Tier],
            help="plan tier of both products for the new account (self-hosted: every feature)",
        )

    def handle(self, *args, email, name, company, tier, **options):
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = self._create(email, name, company or email.split("@")[-1], tier)
            self.stdout.write(f"Created {user.email}, admin of “{user.account.name}”.")
        else:
            self.stdout.write(f"{user.email} already exists; here is a fresh link.")
        path = reverse(
            "account_reset_password_from_key",
            kwargs={
                "uidb36": user_pk_to_url_str(user),
                "key": default_token_generator.make_token(user),
            },
        )
        self.stdout.write("Open this link to choose the password (it works once):")
        self.stdout.write(f"  {settings.APP_BASE_URL}{path}")

    @transaction.atomic
    def _create(self, email: str, name: str, company: str, tier: str) -> User:
        account = Account.objects.create(name=company, sales_tier=tier, service_tier=tier)
        user = User.objects.create_superuser(
            email, None, account=account, full_name=name, personal_email_access=True
        )
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        return user
