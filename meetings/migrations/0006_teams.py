"""Scheduling pages for real teams (issue 15): members with weights and rotation (a through
model replacing the plain many-to-many, with the owner as a member row too), each user's
own working hours, per-page switch and soft delete, video conferencing, reminders and
cancellation policies, planned emails."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Lower

import meetings.models


def copy_members(apps, schema_editor):
    """Every host (the owner included) of every page becomes a PageMember row."""
    Page = apps.get_model("meetings", "SchedulingPage")
    PageMember = apps.get_model("meetings", "PageMember")
    Old = Page.members.through
    rows = []
    for page in Page.objects.all().only("pk", "owner_id", "created_at"):
        users = {page.owner_id}
        users.update(
            Old.objects.filter(schedulingpage_id=page.pk).values_list("user_id", flat=True)
        )
        rows += [
            PageMember(page_id=page.pk, user_id=user_id, joined_at=page.created_at)
            for user_id in users
        ]
    PageMember.objects.bulk_create(rows)


def fixed_links(apps, schema_editor):
    """A page that had a video link keeps offering it, now as the "fixed link" choice."""
    Page = apps.get_model("meetings", "SchedulingPage")
    Page.objects.exclude(video_link="").update(conferencing="fixed")


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0005_booking_answered_at_booking_expires_at_and_more"),
        ("scheduler", "0006_encrypt_mfa_secrets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PageMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "weight",
                    models.PositiveSmallIntegerField(
                        default=1,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ],
                    ),
                ),
                ("in_rotation", models.BooleanField(default=True)),
                ("joined_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "page",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="meetings.schedulingpage",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="page_memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("page", "user"), name="page_member_unique")
                ],
            },
        ),
        migrations.RunPython(copy_members, migrations.RunPython.noop),
        migrations.RemoveField(model_name="schedulingpage", name="members"),
        migrations.AddField(
            model_name="schedulingpage",
            name="members",
            field=models.ManyToManyField(
                blank=True,
                help_text="Group and round robin pages: the people who host. The owner is always one.",
                related_name="team_scheduling_pages",
                through="meetings.PageMember",
                through_fields=("page", "user"),
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="hours_source",
            field=models.CharField(
                choices=[
                    ("page", "The page's hours, the same for every host"),
                    ("members", "Each host's own working hours and time zone"),
                ],
                default="page",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="routing",
            field=models.CharField(
                choices=[
                    ("availability", "Optimise for availability"),
                    ("equal", "Optimise for equal distribution"),
                ],
                default="availability",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="conferencing",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "No video link"),
                    ("fixed", "A fixed video link"),
                    ("google_meet", "Google Meet (created in the host's Google calendar)"),
                    ("teams", "Microsoft Teams (created in the host's Microsoft 365 calendar)"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.RunPython(fixed_links, migrations.RunPython.noop),
        migrations.AddField(
            model_name="schedulingpage",
            name="reminders",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="cancel_notice",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Minutes before the meeting after which contacts can no longer cancel online.",
                validators=[django.core.validators.MaxValueValidator(86400)],
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="reschedule_notice",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Minutes before the meeting after which contacts can no longer reschedule.",
                validators=[django.core.validators.MaxValueValidator(86400)],
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="cancel_reason",
            field=models.CharField(
                choices=[
                    ("off", "Not asked"),
                    ("optional", "Asked, optional"),
                    ("required", "Required"),
                ],
                default="optional",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="is_active",
            field=models.BooleanField(
                default=True, help_text="Off: the page answers “not available”; nothing is deleted."
            ),
        ),
        migrations.AddField(
            model_name="schedulingpage",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RemoveConstraint(model_name="schedulingpage", name="page_slug_ci_unique"),
        migrations.AddConstraint(
            model_name="schedulingpage",
            constraint=models.UniqueConstraint(
                Lower("slug"),
                condition=models.Q(("deleted_at__isnull", True)),
                name="page_slug_ci_unique",
            ),
        ),
        migrations.AlterModelOptions(
            name="schedulingpage",
            options={"base_manager_name": "all_objects", "ordering": ["name"]},
        ),
        migrations.AlterModelManagers(
            name="schedulingpage",
            managers=[
                ("objects", models.Manager()),
                ("all_objects", models.Manager()),
            ],
        ),
        migrations.AddField(
            model_name="booking",
            name="cancel_reason",
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AddField(
            model_name="booking",
            name="routed_among",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="booking",
            name="conference_url",
            field=models.URLField(blank=True, max_length=1000),
        ),
        migrations.AddField(
            model_name="booking",
            name="conference_status",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.CreateModel(
            name="WorkingHours",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("timezone", models.CharField(default="UTC", max_length=64)),
                ("weekly_hours", models.JSONField(default=meetings.models.default_weekly_hours)),
                ("date_overrides", models.JSONField(blank=True, default=dict)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="working_hours",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="PlannedEmail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("reminder", "Reminder"), ("confirmation", "Confirmation")],
                        max_length=20,
                    ),
                ),
                ("label", models.CharField(blank=True, max_length=50)),
                ("due_at", models.DateTimeField()),
                ("booking_start", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("planned", "Planned"),
                            ("sent", "Sent"),
                            ("cancelled", "Cancelled"),
                            ("skipped", "Skipped"),
                        ],
                        default="planned",
                        max_length=10,
                    ),
                ),
                ("lease_owner", models.CharField(blank=True, max_length=64)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "booking",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="planned_emails",
                        to="meetings.booking",
                    ),
                ),
                (
                    "email",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="scheduler.outgoingemail",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("state", "planned")),
                        fields=["due_at"],
                        name="planned_email_due",
                    )
                ],
            },
        ),
    ]
