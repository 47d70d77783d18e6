"""Push-channel secrets are kept only as a keyed hash (calendars.push.token_digest)."""

from django.conf import settings
from django.db import migrations
from django.utils.crypto import salted_hmac

SALT = "calendars.push.channel-token"  # calendars.push.TOKEN_SALT at the time of writing


def hash_tokens(apps, schema_editor):
    Calendar = apps.get_model("calendars", "Calendar")
    for calendar in Calendar.objects.exclude(channel_token_hash=""):
        digest = salted_hmac(
            SALT, calendar.channel_token_hash, secret=settings.SECRET_KEY, algorithm="sha256"
        ).hexdigest()
        Calendar.objects.filter(pk=calendar.pk).update(channel_token_hash=digest)


class Migration(migrations.Migration):
    dependencies = [("calendars", "0004_calendarconnection_sync_requested_at_and_more")]

    operations = [
        migrations.RenameField("calendar", "channel_token", "channel_token_hash"),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
    ]
