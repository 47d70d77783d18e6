"""`python manage.py seed_demo`: the demo account a newcomer signs in to. Safe to re-run."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calendars import connections, sync
from calendars.models import CalendarConnection
from meetings import urlrules
from meetings.models import SchedulingPage
from scheduler.models import Account, Tier, User

DEMO_ACCOUNT = "Demo Company"
DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-admin-pass"  # noqa: S105  (a published demo login, local only)
DEMO_TIMEZONE = "America/New_York"
DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create (or refresh) the demo account, its admin and, with the sandbox, its calendar."

    def handle(self, *args, **options):
        user, created = self._admin()
        verb = "Created" if created else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo account '{DEMO_ACCOUNT}'."))
        if settings.CALENDAR_SANDBOX_URL:
            self._calendar(user)
        page = self._page(user)
        self.stdout.write(f"Demo scheduling page: {urlrules.page_url(page)}")
        self.stdout.write(f"Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")

    @transaction.atomic
    def _admin(self) -> tuple[User, bool]:
        account, _ = Account.objects.get_or_create(
            name=DEMO_ACCOUNT,
            defaults={"sales_tier": Tier.PROFESSIONAL, "service_tier": Tier.STARTER},
        )
        user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
        created = user is None
        if created:
            user = User(email=DEMO_EMAIL, account=account, timezone=DEMO_TIMEZONE)
        user.full_name = user.full_name or "Demo Admin"
        user.role = User.Role.ADMIN
        user.personal_email_access = True
        user.seat = User.Seat.SALES
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"primary": True, "verified": True}
        )
        return user, created

    def _page(self, user: User) -> SchedulingPage:
        """A one-on-one page at /meetings/demo: 30 minutes, weekdays 09:00-17:00 local."""
        page, _ = SchedulingPage.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={
                "account": user.account,
                "owner": user,
                "name": "Intro call with Demo Admin",
                "durations": [30],
                "timezone": user.timezone,
                "weekly_hours": {str(day): [["09:00", "17:00"]] for day in range(5)},
                "min_notice": 60,
                "increment": 30,
                "questions": [{"label": "What would you like to discuss?", "required": False}],
                "confirmation_message": "Looking forward to it!",
            },
        )
        return page

    def _calendar(self, user: User) -> None:
        """Give the demo admin a sandbox Google calendar with a few events, connected."""
        sandbox = SandboxControl(settings.CALENDAR_SANDBOX_URL)
        new_mailbox = sandbox.ensure_mailbox(DEMO_EMAIL)
        connection = user.calendar_connections.first()
        if connection is not None and not new_mailbox and not connection.needs_reconnect:
            return
        if connection is not None:
            # The sandbox lost its state (or the grant): reconnect with fresh tokens.
            CalendarConnection.objects.filter(pk=connection.pk).update(
                status=CalendarConnection.Status.RECONNECT_REQUIRED
            )
        connection = connections.create_connection(user, "google", sandbox.credentials(DEMO_EMAIL))
        report = sync.sync_connection(connection.pk, full=True)
        self.stdout.write(
            f"Connected the demo admin to the sandbox Google calendar {DEMO_EMAIL} "
            f"({report.upserted} events synced)."
        )


class SandboxControl:
    """The few control-API calls the demo needs (dev tooling; the app never calls these)."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/") + "/_sandbox"

    def _post(self, path: str, body: dict) -> dict:
        try:
            response = requests.post(self.base_url + path, json=body, timeout=10)
        except requests.RequestException as exc:
            raise CommandError(
                f"The calendar sandbox at {self.base_url} is not reachable."
            ) from exc
        response.raise_for_status()
        return response.json()

    def ensure_mailbox(self, email: str) -> bool:
        """Create the demo mailbox and its sample events unless it exists; True if created."""
        if requests.get(f"{self.base_url}/mailboxes/{email}", timeout=10).ok:
            return False
        self._post(
            "/mailboxes",
            {
                "provider": "google",
                "email": email,
                "timezone": DEMO_TIMEZONE,
                "calendars": [
                    {"id": "team@demo.example", "name": "Team", "access": "writer"},
                    {"id": "holidays@demo.example", "name": "Holidays", "access": "reader"},
                ],
            },
        )
        for calendar_id, event in sample_events():
            self._post(f"/mailboxes/{email}/calendars/{calendar_id}/events", event)
        return True

    def credentials(self, email: str) -> dict:
        tokens = self._post(
            "/tokens",
            {
                "provider": "google",
                "email": email,
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
            },
        )
        expiry = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
        return {
            "token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expiry": expiry.isoformat(),
        }


def sample_events() -> list[tuple[str, dict]]:
    """A believable week: a daily stand-up, a customer call, lunch (free) and a team offsite."""
    tz = ZoneInfo(DEMO_TIMEZONE)
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)

    def at(days: int, hour: int, minute: int = 0) -> str:
        return (today + timedelta(days=days, hours=hour, minutes=minute)).isoformat()

    return [
        (
            DEMO_EMAIL,
            {
                "summary": "Team stand-up",
                "start": at(1, 9, 30),
                "end": at(1, 9, 45),
                "timezone": DEMO_TIMEZONE,
                "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
            },
        ),
        (
            DEMO_EMAIL,
            {
                "summary": "Customer call: Northwind",
                "start": at(2, 14),
                "end": at(2, 15),
                "attendees": ["buyer@northwind.example"],
            },
        ),
        (
            DEMO_EMAIL,
            {
                "summary": "Lunch",
                "start": at(1, 12),
                "end": at(1, 13),
                "transparency": "transparent",
            },
        ),
        (
            "team@demo.example",
            {
                "summary": "Team offsite",
                "start": at(3, 10),
                "end": at(3, 16),
            },
        ),
    ]
