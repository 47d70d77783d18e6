"""`python manage.py sync_calendars [--user EMAIL] [--full]`: sync now and say what changed."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from calendars import sync
from calendars.models import CalendarConnection


class Command(BaseCommand):
    help = "Sync calendar connections now (all, or one user's) and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="only this user's connection (email address)")
        parser.add_argument("--full", action="store_true", help="re-read everything")

    def handle(self, *args, user=None, full=False, **options):
        connections = CalendarConnection.objects.select_related("user").order_by("pk")
        if user:
            connections = connections.filter(user__email__iexact=user)
            if not connections.exists():
                raise CommandError(f"{user} has no connected calendar.")
        failures = 0
        for connection in connections:
            failures += not self._sync(connection, full)
        if failures:
            raise CommandError(f"{failures} connection(s) could not be synced (see above).")

    def _sync(self, connection: CalendarConnection, full: bool) -> bool:
        label = f"{connection.user.email} ({connection.get_provider_display()})"
        with tqdm(desc=label, unit=" changes", file=self.stderr, disable=None) as bar:
            report = sync.sync_connection(
                connection.pk, full=full, on_page=lambda calendar, count: bar.update(count)
            )
        if not report.claimed:
            self.stdout.write(self.style.WARNING(f"{label}: a sync is already running; skipped."))
            return True
        summary = f"{label}: {report.upserted} added or updated, {report.removed} removed"
        if report.full_resyncs:
            summary += f", {report.full_resyncs} full resync(s)"
        if report.calendars_lost:
            summary += f"; access lost to {', '.join(report.calendars_lost)}"
        if report.error:
            self.stdout.write(self.style.ERROR(f"{summary}; problem: {report.error}"))
            return False
        self.stdout.write(self.style.SUCCESS(summary))
        return True
