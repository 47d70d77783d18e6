"""The one backoff policy for background work (calendar sync, calendar writes, emails).

Exponential from `first`, capped at `cap`, with "equal jitter" (half fixed, half random) so
that many failures at the same moment do not come back at the same moment either.
"""

import random
from datetime import timedelta

FIRST = timedelta(seconds=5)
CAP = timedelta(hours=1)


def backoff(attempt: int, first: timedelta = FIRST, cap: timedelta = CAP) -> timedelta:
    """The wait before retry number `attempt` (1 = the first retry)."""
    ceiling = min(first * 2 ** min(max(attempt, 1) - 1, 30), cap)
    half = ceiling / 2
    return half + half * random.random()  # noqa: S311 - spreading retries, not a secret
