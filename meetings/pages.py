"""Managing scheduling pages: turn one off or on, duplicate, delete."""

from __future__ import annotations

from django.db import transaction
from django.db.models import SET_NULL, ForeignObjectRel
from django.utils import timezone

from meetings import urlrules
from meetings.models import PageMember, SchedulingPage
from scheduler import availability_cache

COPIED_FIELDS = [
    "kind",
    "durations",
    "location",
    "video_link",
    "conferencing",
    "timezone",
    "weekly_hours",
    "date_overrides",
    "buffer_before",
    "buffer_after",
    "min_notice",
    "max_advance_days",
    "increment",
    "daily_max",
    "questions",
    "confirmation_message",
    "allow_reschedule",
    "allow_cancel",
    "hours_source",
    "routing",
    "reminders",
    "cancel_notice",
    "reschedule_notice",
    "cancel_reason",
]


def set_active(page: SchedulingPage, active: bool) -> SchedulingPage:
    """Turn one page off (it answers "not available"; bookings stay) or back on."""
    page.is_active = active
    page.save(update_fields=["is_active"])
    availability_cache.bump(page.host_ids())
    return page


@transaction.atomic
def duplicate(page: SchedulingPage, user) -> SchedulingPage:
    """A copy of the page with every setting and host (weights and rotation too), under a
    new URL; its bookings stay with the original. The copy's members join it now."""
    name = f"Copy of {page.name}"[:200]
    base = urlrules.clean_slug(f"{page.slug}-copy")
    copy = SchedulingPage.objects.create(
        account=page.account,
        owner=user,
        name=name,
        slug=urlrules.first_free_slug(base),
        **{field: getattr(page, field) for field in COPIED_FIELDS},
    )
    PageMember.objects.bulk_create(
        PageMember(page=copy, user_id=row.user_id, weight=row.weight, in_rotation=row.in_rotation)
        for row in PageMember.objects.filter(page=page)
    )
    return copy


@transaction.atomic
def delete(page: SchedulingPage) -> SchedulingPage:
    """Delete a page: its URL stops answering at once and becomes free for another page.
    Bookings made on it stay: their meetings, calendar events, reminders and manage links
    keep working (contacts can still cancel; rescheduling needs the page and is closed).

    The row is kept for those bookings (soft delete); every optional reference to the page
    elsewhere (the default meeting link, the chat's page) is cleared, as a real delete would.
    """
    page = SchedulingPage.objects.select_for_update().get(pk=page.pk)
    page.deleted_at = timezone.now()
    page.is_active = False
    page.save(update_fields=["deleted_at", "is_active"])
    for relation in page._meta.get_fields(include_hidden=True):
        if isinstance(relation, ForeignObjectRel) and relation.on_delete is SET_NULL:
            name = relation.field.name
            relation.related_model._base_manager.filter(**{name: page}).update(**{name: None})
    availability_cache.bump(page.host_ids())
    return page
