"""A version number per person for everything their free time depends on.

Whoever changes something a person's availability is computed from (their mirrored events,
their availability calendars, their bookings, their pages) bumps their version after commit;
readers put the versions in their cache keys, so a cached answer is never used after such a
change. It lives in the core app so that every layer may bump it without importing upward.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction


def _key(user_id: int) -> str:
    return f"availability-version:{user_id}"


def versions(user_ids: Iterable[int]) -> str:
    """The current versions of these people, as one string for a cache key."""
    ids = sorted(set(user_ids))
    found = cache.get_many([_key(i) for i in ids])
    return ".".join(str(found.get(_key(i), 0)) for i in ids)


def bump(user_ids: Iterable[int]) -> None:
    """Invalidate cached availability of these people once the current transaction commits."""
    ids = sorted(set(user_ids))

    def apply() -> None:
        for user_id in ids:
            try:
                cache.incr(_key(user_id))
            except ValueError:  # no version yet: start one above the implicit 0
                cache.set(_key(user_id), 1, timeout=None)

    transaction.on_commit(apply)
