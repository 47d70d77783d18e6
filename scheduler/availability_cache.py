"""Versions of everything a scheduling page's free times depend on, for cache keys.

Whoever changes something a person's availability is computed from (their mirrored events,
their availability calendars, their connection's health, their bookings, their pages) calls
`bump(user_ids)`; after the transaction commits, the version of every scheduling page those
people host goes up (`meetings` answers which pages: it listens to `availability_changed`,
since this core module may not import it). A cached slot list carries the page version it was
computed under and is used only while that is still the page's version: one cache read, no
database query, never an answer older than the last change.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

# Sent after commit with `user_ids`: their pages' cached free times are out of date.
availability_changed = Signal()


def page_key(slug: str) -> str:
    return f"availability-page:{slug.lower()}"


def bump(user_ids: Iterable[int]) -> None:
    """Invalidate cached availability of these people once the current transaction commits."""
    ids = sorted(set(user_ids))
    if ids:
        transaction.on_commit(lambda: availability_changed.send(sender=None, user_ids=ids))


def increment_pages(slugs: Iterable[str]) -> None:
    """A new version for these page slugs, now."""
    for slug in set(slugs):
        try:
            cache.incr(page_key(slug))
        except ValueError:  # no version yet: start one above the implicit 0
            cache.set(page_key(slug), 1, timeout=None)


def bump_pages(slugs: Iterable[str]) -> None:
    """A new version for these page slugs once the transaction commits (a page renamed or
    deleted: nobody may be served its old free times)."""
    slugs = list(slugs)
    transaction.on_commit(lambda: increment_pages(slugs))
