"""`python manage.py seed_demo`: the demo account a newcomer signs in to. Safe to re-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calendars import connections, sync
from calendars.models import CalendarConnection
from meetings import demo_hooks, urlrules
from meetings.models import SchedulingPage
from scheduler.models import Account, Tier, User

DEMO_ACCOUNT = "Demo Company"
DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-admin-pass"  # noqa: S105  (a published demo login, local only)
DEMO_TIMEZONE = "America/New_York"
DEMO_SLUG = "demo"
# A second person of the demo account, with their own (partly busy) calendar, who hosts the
# team pages with the demo admin.
TEAMMATE_EMAIL = "sam@demo.example"
TEAMMATE_PASSWORD = "demo-sam-pass"  # noqa: S105  (a published demo login, local only)
TEAM_SLUG, GROUP_SLUG = "demo-team", "demo-group"


class Command(BaseCommand):
    help = "Create (or refresh) the demo account, its admin and, with the sandbox, its calendar."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-site",
            type=Path,
            help="Write a small demo customer website (with the chat widget) into this folder.",
        )
        parser.add_argument(
            "--demo-site-origin",
            default="http://localhost:8002",
            help="The origin that website is served on (it is allowed to embed the widget).",
        )

    def handle(self, *args, **options):
        user, created = self._admin()
        verb = "Created" if created else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo account '{DEMO_ACCOUNT}'."))
        teammate = self._teammate(user.account)
        if settings.CALENDAR_SANDBOX_URL:
            sandbox = SandboxControl(settings.CALENDAR_SANDBOX_URL)
            self._calendar(sandbox, user, DEMO_EMAIL, sample_events)
            self._calendar(sandbox, teammate, TEAMMATE_EMAIL, teammate_events)
        pages = [self._page(user), *self._team_pages(user, teammate)]
        for page in pages:
            self.stdout.write(
                f"Demo {page.get_kind_display().split(' (')[0].lower()} page: "
                f"{urlrules.page_url(page)}"
            )
        context = demo_hooks.DemoContext(
            user, pages[0], options.get("demo_site"), options["demo_site_origin"]
        )
        for line in demo_hooks.run(context):
            self.stdout.write(line)
        self.stdout.write(f"Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
        self.stdout.write(f"(or as {TEAMMATE_EMAIL} with password {TEAMMATE_PASSWORD})")

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

    @transaction.atomic
    def _teammate(self, account: Account) -> User:
        user = User.objects.filter(email__iexact=TEAMMATE_EMAIL).first()
        if user is None:
            user = User(email=TEAMMATE_EMAIL, account=account, timezone="Europe/Warsaw")
        user.full_name = user.full_name or "Sam Teammate"
        user.personal_email_access = True
        user.seat = User.Seat.SALES
        user.set_password(TEAMMATE_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=TEAMMATE_EMAIL, defaults={"primary": True, "verified": True}
        )
        return user

    def _team_pages(self, admin: User, teammate: User) -> list[SchedulingPage]:
        """A round robin page (either of the two hosts) and a group page (both attend)."""
        pages = []
        for slug, kind, name in (
            (TEAM_SLUG, SchedulingPage.Kind.ROUND_ROBIN, "Talk to our team"),
            (GROUP_SLUG, SchedulingPage.Kind.GROUP, "Meet the two of us"),
        ):
            page, _ = SchedulingPage.objects.get_or_create(
                slug=slug,
                defaults={
                    "account": admin.account,
                    "owner": admin,
                    "name": name,
                    "kind": kind,
                    "durations": [30],
                    "timezone": admin.timezone,
                    "weekly_hours": {str(day): [["09:00", "17:00"]] for day in range(5)},
                    "min_notice": 60,
                    "increment": 30,
                },
            )
            page.members.add(teammate)
            pages.append(page)
        return pages

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

    def _calendar(self, sandbox: SandboxControl, user: User, email: str, events) -> None:
        """Give a demo user a sandbox Google calendar with a few events, connected."""
        new_mailbox = sandbox.ensure_mailbox(email, events)
        connection = user.calendar_connections.first()
        if connection is not None and not new_mailbox and not connection.needs_reconnect:
            return
        if connection is not None:
            # The sandbox lost its state (or the grant): reconnect with fresh tokens.
            CalendarConnection.objects.filter(pk=connection.pk).update(
                status=CalendarConnection.Status.RECONNECT_REQUIRED
            )
        connection = connections.create_connection(user, "google", sandbox.credentials(email))
        report = sync.sync_connection(connection.pk, full=True)
        self.stdout.write(
            f"Connected {user.email} to the sandbox Google calendar {email} "
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

    def ensure_mailbox(self, email: str, events) -> bool:
        """Create a demo mailbox and its sample events unless it exists; True if created."""
        if requests.get(f"{self.base_url}/mailboxes/{email}", timeout=10).ok:
            return False
        calendars = []
        if email == DEMO_EMAIL:
            calendars = [
                {"id": "team@demo.example", "name": "Team", "access": "writer"},
                {"id": "holidays@demo.example", "name": "Holidays", "access": "reader"},
            ]
        self._post(
            "/mailboxes",
            {
                "provider": "google",
                "email": email,
                "timezone": DEMO_TIMEZONE,
                "calendars": calendars,
            },
        )
        for calendar_id, event in events():
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


def teammate_events() -> list[tuple[str, dict]]:
    """Sam is busy every weekday morning from 10:00 to 12:00 (New York): the round robin page
    still offers those times (the demo admin is free), the group page does not."""
    tz = ZoneInfo(DEMO_TIMEZONE)
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        (
            TEAMMATE_EMAIL,
            {
                "summary": "Customer workshops",
                "start": (today + timedelta(days=1, hours=10)).isoformat(),
                "end": (today + timedelta(days=1, hours=12)).isoformat(),
                "timezone": DEMO_TIMEZONE,
                "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
            },
        ),
    ]
