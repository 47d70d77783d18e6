"""The database-level guarantee against double bookings (PostgreSQL only).

Two active reservations of one host may not overlap. Django's ExclusionConstraint cannot be
skipped on SQLite (the embedded development database), so it is added here by hand.
"""

from django.db import migrations

ADD = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE meetings_hostreservation ADD CONSTRAINT reservation_no_overlap
    EXCLUDE USING gist (host_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    WHERE (active);
"""
REMOVE = "ALTER TABLE meetings_hostreservation DROP CONSTRAINT reservation_no_overlap;"


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):
    dependencies = [("meetings", "0002_booking")]

    operations = [migrations.RunPython(add, remove)]
