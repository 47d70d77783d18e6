"""Free/busy asked of the providers while a person waits (a booking, a reschedule).

Every host's provider is asked at once, on threads, and the caller waits at most
`LIVE_CHECK_BUDGET_SECONDS` in all: a provider that has not answered by then is left out and
the mirror decides for that host (logged). Nothing here holds a database lock or an open
transaction while a provider is called, and the threads never touch the database: refreshed
credentials and lost access are stored by the caller's thread afterwards.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from calendars import connections, notifications
from calendars.models import Calendar, CalendarConnection
from calendars.providers import get_provider
from calendars.providers.base import BusyInterval, ProviderError, ReconnectRequired

logger = logging.getLogger(__name__)


@dataclass
class LiveBusy:
    """What the providers said within the budget, by connection id."""

    busy: dict[int, list[BusyInterval]] = field(default_factory=dict)
    unanswered: set[int] = field(default_factory=set)  # too slow, or a passing failure
    reconnect: set[int] = field(default_factory=set)  # the grant is gone: the host is offline
    lost_calendars: list[int] = field(default_factory=list)  # Calendar pks no longer readable
    elapsed: float = 0.0


@dataclass
class _Answer:
    busy: list[BusyInterval] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    credentials: dict | None = None


def _ask(connection: CalendarConnection, calendar_ids: list[str], start, end, timeout) -> _Answer:
    """Runs on a worker thread: provider calls only, no database."""
    answer = _Answer()

    def keep(credentials: dict) -> None:
        answer.credentials = credentials

    client = get_provider(connection.provider, connection.credentials, keep, timeout=timeout)
    result = client.free_busy(calendar_ids, start, end)
    answer.lost = set(result.lost)
    answer.busy = [interval for ids in calendar_ids for interval in result.busy.get(ids, [])]
    return answer


def live_busy(
    calendars: list[Calendar], start: datetime, end: datetime, budget: float | None = None
) -> LiveBusy:
    """Ask each connection of `calendars` (active ones) for its busy time in [start, end).

    Returns within about `budget` seconds whatever happens; the caller treats unanswered
    connections as "the mirror decides".
    """
    budget = settings.LIVE_CHECK_BUDGET_SECONDS if budget is None else budget
    by_connection: dict[int, tuple[CalendarConnection, list[Calendar]]] = {}
    for calendar in calendars:
        if calendar.is_active and not calendar.connection.needs_reconnect:
            entry = by_connection.setdefault(calendar.connection_id, (calendar.connection, []))
            entry[1].append(calendar)
    result = LiveBusy()
    if not by_connection:
        return result
    began = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(by_connection), thread_name_prefix="live-busy")
    futures = {
        pool.submit(
            _ask, connection, [c.remote_id for c in owned], start, end, budget
        ): connection_id
        for connection_id, (connection, owned) in by_connection.items()
    }
    done, pending = wait(futures, timeout=budget)
    pool.shutdown(wait=False, cancel_futures=True)  # stragglers end at their own timeout
    for future in pending:
        result.unanswered.add(futures[future])
    for future in done:
        connection_id = futures[future]
        connection, owned = by_connection[connection_id]
        _record(result, connection, owned, future)
    result.elapsed = time.monotonic() - began
    if pending:
        logger.warning(
            "live free/busy check ran out of time; the mirror decides",
            extra={"connections": sorted(result.unanswered), "budget": budget},
        )
    return result


def _record(result: LiveBusy, connection, owned: list[Calendar], future) -> None:
    try:
        answer: _Answer = future.result()
    except ReconnectRequired as exc:
        result.reconnect.add(connection.pk)
        if connections.mark_reconnect_required(connection, str(exc)):
            notifications.queue_reconnect_email(connection.pk)
        return
    except ProviderError as exc:
        # A provider hiccup must not stop bookings: the mirror and the database decide.
        result.unanswered.add(connection.pk)
        logger.warning("live free/busy check failed", extra={"error": str(exc)})
        return
    except Exception:
        result.unanswered.add(connection.pk)
        logger.exception("live free/busy check raised unexpectedly")
        return
    if answer.credentials is not None:
        connection.credentials = answer.credentials
        connection.save(update_fields=["credentials_json"])
    result.busy[connection.pk] = answer.busy
    lost = [c for c in owned if c.remote_id in answer.lost]
    if lost:
        result.lost_calendars += [c.pk for c in lost]
        connections.lose_calendars(lost)
