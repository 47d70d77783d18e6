"""`python manage.py rotate_encryption_keys`: re-encrypt every secret with the first key.

Rotate by putting a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
deploy, run this command, then drop the old keys: nothing is left encrypted under them.
"""

from django.core.management.base import BaseCommand

from scheduler.secrets_at_rest import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every secret at rest with the first of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        for label, count in rotate_all().items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS("Done. The keys after the first can now be removed."))
