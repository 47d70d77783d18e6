"""Push notifications: formatted by the provider modules, delivered from one background thread.

A write never waits for a receiver: notifications are queued under the state lock and POSTed
later, in due-time order. Injected push faults (`push_delay`, `push_duplicate`, `push_drop`,
`push_reorder`, see sandbox/README.md) act on the deliveries themselves, so a receiver really
sees late, repeated, missing or out-of-order messages, as it may from Google or Graph: neither
promises exactly-once, in-order delivery (https://developers.google.com/calendar/api/guides/push,
https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks).
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from sandbox.state import Change, Channel, Delivery, Fault, State

DELIVERY_TIMEOUT = 10
REORDER_GROUP = 2  # push_reorder holds this many notifications and sends them newest first
REORDER_HOLD = 5.0  # seconds a held notification waits for the rest of its group at most


@dataclass
class Push:
    """One notification as a provider sends it; `label` is recorded with the delivery."""

    label: str
    headers: dict[str, str]
    body: bytes = b""
    address: str = ""  # empty: the channel's address (Graph lifecycle notifications differ)


# Builds the notification of one channel: (channel, message number, change or None for the
# handshake sent when the channel is created).
PushFormat = Callable[[Channel, int, Change | None], Push]


@dataclass(order=True)
class _Job:
    due: float
    order: int
    channel_id: str = field(compare=False)
    address: str = field(compare=False)
    number: int = field(compare=False)
    push: Push = field(compare=False)
    fault: str = field(default="", compare=False)


class Notifier:
    """Delivers notifications in due order from one thread; failures are recorded on the
    channel and otherwise ignored."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.formats: dict[str, PushFormat] = {}
        self._jobs: list[_Job] = []
        self._held: list[_Job] = []  # push_reorder: waiting for the rest of their group
        self._held_since = 0.0
        self._pending = 0  # queued, held or being delivered
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-push", daemon=True)
        self._thread.start()
        state.subscribe(self._on_change)

    # --- queueing (under the state lock) -----------------------------------------------------

    def send(self, channel: Channel, change: Change | None = None) -> None:
        """Queue a change notification, or the handshake when `change` is None."""
        format_push = self.formats.get(channel.provider)
        if format_push is None or not channel.delivering:
            return
        channel.messages += 1
        self.deliver(channel, format_push(channel, channel.messages, change))

    def deliver(self, channel: Channel, push: Push) -> None:
        """Queue one formatted notification of `channel`, applying injected push faults."""
        faults = self.state.take_push_faults(channel.provider, channel.email)
        job = _Job(
            time.monotonic(),
            next(self._order),
            channel.id,
            push.address or channel.address,
            channel.messages,
            push,
        )
        with self._wake:
            self._queue(job, {fault.kind: fault for fault in faults})
            self._wake.notify_all()

    def _queue(self, job: _Job, faults: dict[str, Fault]) -> None:
        if (drop := faults.get("push_drop")) and random.random() < drop.probability:
            self._record(job, Delivery(job.number, job.push.label, fault="dropped"))
            return
        if delay := faults.get("push_delay"):
            job.due += delay.delay
            job.fault = f"delayed {delay.delay:g}s"
        copies = [job]
        if "push_duplicate" in faults:
            twin = _Job(
                job.due,
                next(self._order),
                job.channel_id,
                job.address,
                job.number,
                job.push,
                "duplicate",
            )
            copies.append(twin)
        self._pending += len(copies)
        if "push_reorder" in faults:
            self._hold(copies)
        else:
            for copy in copies:
                heapq.heappush(self._jobs, copy)

    def _hold(self, jobs: list[_Job]) -> None:
        if not self._held:
            self._held_since = time.monotonic()
        self._held += jobs
        if len(self._held) >= REORDER_GROUP:
            self._release_held()

    def _release_held(self) -> None:
        """Send the held notifications newest first."""
        now = time.monotonic()
        for job in reversed(self._held):
            # All due now (a delayed one keeps its later time), in reverse order of arrival.
            job.due, job.order = max(now, job.due), next(self._order)
            job.fault = (job.fault + ", " if job.fault else "") + "reordered"
            heapq.heappush(self._jobs, job)
        self._held = []

    def _on_change(self, change: Change) -> None:
        for channel in self.state.channels_for(change.calendar_id):
            self.send(channel, change)

    # --- delivering (the push thread) --------------------------------------------------------

    def _next_job(self) -> _Job | None:
        with self._wake:
            while not self._stopping:
                now = time.monotonic()
                if self._held and now - self._held_since >= REORDER_HOLD:
                    self._release_held()  # the group never filled: send what is held
                if self._jobs and self._jobs[0].due <= now:
                    return heapq.heappop(self._jobs)
                waits = [self._jobs[0].due - now] if self._jobs else []
                if self._held:
                    waits.append(self._held_since + REORDER_HOLD - now)
                self._wake.wait(timeout=max(min(waits), 0.0) if waits else None)
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            delivery = Delivery(job.number, job.push.label, fault=job.fault)
            try:
                answer = requests.post(
                    job.address,
                    data=job.push.body,
                    headers=job.push.headers,
                    timeout=DELIVERY_TIMEOUT,
                    verify=self.state.settings.push_ca_file or True,
                )
                delivery.status = answer.status_code
            except requests.RequestException as exc:
                delivery.error = str(exc)
            self._record(job, delivery)
            with self._wake:
                self._pending -= 1
                self._wake.notify_all()

    def _record(self, job: _Job, delivery: Delivery) -> None:
        with self.state.lock:
            channel = self.state.data.channels.get(job.channel_id)
            if channel is not None:
                channel.deliveries.append(delivery)

    def wait(self, timeout: float = 60) -> None:
        """Block until every queued notification was attempted, delayed and held ones
        included (for tests)."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._pending and not self._stopping:
                if not self._wake.wait(timeout=max(deadline - time.monotonic(), 0)):
                    break

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._thread.join(timeout=15)
