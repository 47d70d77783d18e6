"""Leases: how one worker claims a row (a connection to sync, a write or an email to send)
without holding a database lock or a transaction while it talks to the outside world.

A claim is one UPDATE that succeeds only when the row's lease is free or has run out. While
the work runs, a heartbeat thread renews the lease every few seconds; a worker that dies (even
SIGKILL) stops renewing, so its lease runs out within `seconds` and another worker takes over.
The outcome is then recorded in a short transaction that checks the lease is still ours.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from django.db import connection
from django.db.models import Model, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_SECONDS = 15


class LeaseLost(Exception):
    """Another worker took the row over (this one stalled): stop and write nothing."""


class Lease:
    """A claimed lease on one row; use as a context manager to renew it in the background."""

    def __init__(self, model: type[Model], pk: int, owner: str, prefix: str, seconds: int):
        self.model, self.pk, self.owner = model, pk, owner
        self.owner_field, self.until_field = f"{prefix}lease_owner", f"{prefix}lease_until"
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def _mine(self):
        return self.model.objects.filter(pk=self.pk, **{self.owner_field: self.owner})

    def renew(self) -> None:
        until = timezone.now() + timedelta(seconds=self.seconds)
        if not self._mine().update(**{self.until_field: until}):
            self.lost = True
            raise LeaseLost

    def check(self) -> None:
        """Inside the transaction that stores the outcome: lock the row and make sure the
        lease is still ours, so a superseded worker never overwrites a newer outcome."""
        if self.lost or not self._mine().select_for_update().exists():
            raise LeaseLost

    def release(self, **changes) -> bool:
        """Give the lease back, applying `changes` to the row in the same statement."""
        return bool(
            self._mine().update(**{self.owner_field: "", self.until_field: None}, **changes)
        )

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.seconds / 3):
                try:
                    self.renew()
                except LeaseLost:
                    return
                except Exception:  # a database blip: try again at the next beat
                    logger.warning("lease renewal failed", exc_info=True)
        finally:
            connection.close()  # this thread's own database connection

    def __enter__(self) -> Lease:
        if connection.in_atomic_block:
            # The claim is not committed yet, so no other connection could renew it (a caller
            # that wraps the work in its own transaction, such as a test): renew explicitly.
            return self
        self._thread = threading.Thread(target=self._beat, daemon=True, name="lease-heartbeat")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def claim(
    model: type[Model], pk: int, *, prefix: str = "", seconds: int = DEFAULT_SECONDS, **where
) -> Lease | None:
    """Take the lease of row `pk` (also matching `where`); None when someone else holds it."""
    owner, now = uuid.uuid4().hex, timezone.now()
    free = Q(**{f"{prefix}lease_until__isnull": True}) | Q(**{f"{prefix}lease_until__lt": now})
    claimed = (
        model.objects.filter(pk=pk, **where)
        .filter(free)
        .update(
            **{
                f"{prefix}lease_owner": owner,
                f"{prefix}lease_until": now + timedelta(seconds=seconds),
            }
        )
    )
    return Lease(model, pk, owner, prefix, seconds) if claimed else None
