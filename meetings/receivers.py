"""Reactions to what lower layers report (they send signals because they may not import us)."""

from django.db.models import Q

from meetings.models import SchedulingPage
from scheduler import availability_cache


def on_availability_changed(sender, *, user_ids, **kwargs) -> None:
    """Every page these people host gets a new version: cached free times are dropped."""
    slugs = (
        # Deleted pages too: their slug must stop serving cached times at once.
        SchedulingPage.all_objects.filter(Q(owner_id__in=user_ids) | Q(members__in=user_ids))
        .values_list("slug", flat=True)
        .distinct()
    )
    availability_cache.increment_pages(slugs)
