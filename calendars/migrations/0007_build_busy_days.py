"""Build the busy-time store (calendars.busy) for everyone who has calendars already."""

from django.db import migrations


def build(apps, schema_editor):
    # The store is made from the mirror's current tables, which this migration does not
    # change: the app's own function is used (it reads only those tables).
    from calendars.busy import rebuild_all

    rebuild_all()


class Migration(migrations.Migration):
    dependencies = [("calendars", "0006_busy_days")]

    operations = [migrations.RunPython(build, migrations.RunPython.noop)]
