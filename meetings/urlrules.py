"""Meeting URL and slug rules: prefixes for new pages, slugs unique across all domains."""

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.text import slugify

from meetings.models import Booking, MeetingSettings, SchedulingPage
from scheduler.models import Domain

# Paths under /meetings/ that can never be a page.
RESERVED = {
    "static",
    "admin",
    "api",
    "app",
    "accounts",
    "embed",
    "widget",
    "robots",
    "new",
    "manage",
}


def clean_slug(text: str) -> str:
    slug = re.sub(r"-{2,}", "-", slugify(text)).strip("-")[:50]
    return slug or "meetings"


def slug_taken(slug: str, exclude_page_id: int | None = None) -> bool:
    if slug.lower() in RESERVED:
        return True
    pages = SchedulingPage.objects.annotate(s=Lower("slug")).filter(s=slug.lower())
    if exclude_page_id:
        pages = pages.exclude(pk=exclude_page_id)
    return pages.exists()


def prefix_taken(prefix: str, user_id: int) -> bool:
    if prefix.lower() in RESERVED:
        return True
    others = MeetingSettings.objects.exclude(user_id=user_id)
    return others.annotate(p=Lower("url_prefix")).filter(p=prefix.lower()).exists()


def _first_free(base: str, taken) -> str:
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base[:45]}-{n}"
    return candidate


def settings_for(user) -> MeetingSettings:
    """The user's meeting settings, created with a free URL prefix on first use."""
    existing = MeetingSettings.objects.filter(user=user).first()
    if existing is not None:
        return existing
    base = clean_slug(user.full_name or user.email.split("@")[0])
    prefix = _first_free(base, lambda p: prefix_taken(p, user.pk))
    try:
        with transaction.atomic():
            return MeetingSettings.objects.create(user=user, url_prefix=prefix)
    except IntegrityError:  # created meanwhile by another request, or the prefix was taken
        return MeetingSettings.objects.filter(user=user).first() or settings_for(user)


def first_free_slug(base: str) -> str:
    """`base`, or base-2, base-3, ... whichever no page has (a copy's URL)."""
    return _first_free(base, slug_taken)


def new_page_slug(user, page_name: str) -> str:
    """The slug a new page gets: the current prefix, then prefix-name when that is taken."""
    prefix = settings_for(user).url_prefix
    if not slug_taken(prefix):
        return prefix
    return _first_free(f"{prefix}-{clean_slug(page_name)}"[:90], slug_taken)


def meeting_domain(user_id: int) -> Domain | None:
    """The connected custom domain a user chose as meeting domain, if any."""
    meeting_settings = (
        MeetingSettings.objects.filter(user_id=user_id).select_related("domain").first()
    )
    domain = meeting_settings.domain if meeting_settings else None
    return domain if domain is not None and domain.verified else None


def base_url(user_id: int) -> str:
    """Where a user's public meeting links live: their meeting domain, else the app."""
    domain = meeting_domain(user_id)
    if domain is not None:
        return f"https://{domain.hostname}"
    return settings.APP_BASE_URL


def page_url(page: SchedulingPage) -> str:
    """The page's public address: on the owner's meeting domain when one is chosen, so
    changing the meeting domain updates every meeting link (SPEC §1.7). Every meeting link
    the app shows or sends is built here (or by `manage_url`)."""
    return f"{base_url(page.owner_id)}/meetings/{page.slug}"


def manage_url(booking: Booking) -> str:
    """A booking's manage link, on the page owner's meeting domain like the page."""
    path = reverse("public:manage", args=[booking.manage_token])
    return base_url(booking.page.owner_id) + path


def canonical_redirect(request, page: SchedulingPage) -> str | None:
    """The meeting-domain URL to send a GET of the page on the app's host to (301), or
    None when this is already where the page lives."""
    if request.custom_domain is not None:
        return None
    domain = meeting_domain(page.owner_id)
    if domain is None:
        return None
    query = request.META.get("QUERY_STRING", "")
    return page_url(page) + (f"?{query}" if query else "")
