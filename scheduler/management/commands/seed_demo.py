from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from scheduler.models import Account, Tier, User

DEMO_ACCOUNT = "Demo Company"
DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-admin-pass"  # noqa: S105  (a published demo login, local only)


class Command(BaseCommand):
    help = "Create (or refresh) the demo account and its admin. Safe to run repeatedly."

    @transaction.atomic
    def handle(self, *args, **options):
        account, _ = Account.objects.get_or_create(
            name=DEMO_ACCOUNT,
            defaults={"sales_tier": Tier.PROFESSIONAL, "service_tier": Tier.STARTER},
        )
        user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
        created = user is None
        if created:
            user = User(email=DEMO_EMAIL, account=account)
        user.full_name = user.full_name or "Demo Admin"
        user.role = User.Role.ADMIN
        user.personal_email_access = True
        user.seat = User.Seat.SALES
        user.timezone = user.timezone if not created else "America/New_York"
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"primary": True, "verified": True}
        )
        verb = "Created" if created else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo account '{account.name}'."))
        self.stdout.write(f"Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
